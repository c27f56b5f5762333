r"""Layers with staged forward and backward passes: affine (fully connected) and ReLU.

Each layer is a pair, in the CS231n convention:

- ``*_forward(inputs) -> (out, cache)``, whose cache is a named, frozen record;
- ``*_backward(dout, cache) -> grads``, a dict keyed by the names of the inputs.

The two layers:

- affine: :math:`out = x W + b`; backward :math:`dx = dout\, W^T`, :math:`dW = x^T dout`,
  :math:`db = \sum_i dout_i`;
- ReLU: :math:`out = \max(0, x)`; backward :math:`dx = dout \odot 1[x > 0]`.

Neither pass writes into its inputs or into ``dout``; read-only arrays work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flatprop._display import StagesDisplay
from flatprop._validation import FloatArray, all_finite, as_flag, as_float_array

__all__ = [
    "RELU_KINK",
    "AffineCache",
    "ReluCache",
    "affine_backward",
    "affine_forward",
    "relu_backward",
    "relu_forward",
]


RELU_KINK = "the ReLU passes no gradient at x = 0 (the subgradient 0 at 0, as in PyTorch)"
"""The subgradient :func:`relu_backward` chooses at the kink, in words (for reports)."""


@dataclass(frozen=True, eq=False)
class AffineCache(StagesDisplay):
    """What :func:`affine_backward` needs from :func:`affine_forward`.

    Attributes
    ----------
    x : ndarray, shape (N, D) or (N, d1, ..., dk)
        The input, as given (not copied: do not modify it before the backward pass).
    w : ndarray, shape (D, M)
        The weights, with D = d1 * ... * dk.
    b : ndarray, shape (M,)
        The biases.
    """

    x: FloatArray
    w: FloatArray
    b: FloatArray


@dataclass(frozen=True, eq=False)
class ReluCache(StagesDisplay):
    """What :func:`relu_backward` needs from :func:`relu_forward`.

    Attributes
    ----------
    x : ndarray, any shape
        The input (not copied: do not modify it before the backward pass).
    """

    x: FloatArray


def _require_dout_shape(dout: FloatArray, shape: tuple[int, ...], meaning: str) -> None:
    if dout.shape != shape:
        raise ValueError(
            f"dout must have the shape of the {meaning} {shape}, got shape {dout.shape}"
        )


def _product(a: FloatArray, b: FloatArray, check: bool, what: str) -> FloatArray:
    """Multiply ``a @ b`` without a warning.

    With ``check``, a FloatingPointError naming ``what`` if the product is not finite (the
    nets pass False: they check their stages themselves).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        product = a @ b
    if check:
        _require_in_range(product, what)
    return product


def _require_in_range(array: FloatArray, what: str) -> None:
    """A FloatingPointError if ``array``, computed from finite inputs, is not finite.

    Terms beyond the float range cannot be summed exactly even where they cancel: the
    rounding error of such a sum is itself beyond the range, so there is no right value
    to return.
    """
    if all_finite(array):
        return
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
    raise FloatingPointError(
        f"{what} overflows {array.dtype} at entry {index}: its terms go beyond "
        f"{float(np.finfo(array.dtype).max):.3g} (even where they would cancel, their "
        "rounding errors do); scale the inputs down (standardise x, use smaller weights)"
    )


def affine_forward(
    x: npt.ArrayLike, w: npt.ArrayLike, b: npt.ArrayLike, *, check_finite: bool = True
) -> tuple[FloatArray, AffineCache]:
    r"""Forward pass of an affine (fully connected) layer.

    .. math:: out_i = x_i W + b

    Parameters
    ----------
    x : array_like, shape (N, D) or (N, d1, ..., dk)
        A minibatch of N examples; each example is flattened into a row of
        D = d1 * ... * dk features.
    w : array_like, shape (D, M)
        Weights.
    b : array_like, shape (M,)
        Biases.
    check_finite : bool, default True
        Reject NaN and +-inf in the inputs, and an output beyond the float range (with
        False, the caller takes responsibility for both: the nets check their stages).

    Returns
    -------
    out : ndarray, shape (N, M)
        In NumPy's promotion of the inputs' dtypes: float32 when all three are float32.
    cache : AffineCache
        The inputs, for :func:`affine_backward`.

    Raises
    ------
    TypeError, ValueError
        For inputs that are not real arrays, shapes that do not chain, NaN or inf.
    FloatingPointError
        If the output overflows: terms ``x_ik W_kj`` beyond the float range (1.8e308 in
        float64) have no right sum, even where they cancel, as in
        ``affine_forward([[1e200, 1e200]], [[1e200], [-1e200]], [0])``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> w = np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 0.0]])
    >>> out, cache = affine_forward(x, w, np.array([0.0, 0.0, 1.0]))
    >>> out
    array([[ 2.,  2.,  0.],
           [ 5.,  4., -2.]])
    """
    check_finite = as_flag(check_finite, "check_finite")
    x = as_float_array(x, "x", check_finite=check_finite)
    if x.ndim < 2:
        raise ValueError(
            f"x must have shape (N, D) or (N, d1, ..., dk), one row per example, "
            f"got an array of shape {x.shape}"
        )
    w = as_float_array(w, "w", ndim=2, check_finite=check_finite)
    b = as_float_array(b, "b", check_finite=check_finite)
    num_features = math.prod(x.shape[1:])
    if w.shape[0] != num_features:
        raise ValueError(
            f"x and w do not chain: x of shape {x.shape} has D = {num_features} features "
            f"per example, so w must have shape ({num_features}, M), got w of shape {w.shape}"
        )
    if b.shape != (w.shape[1],):
        raise ValueError(
            f"w and b do not chain: w of shape {w.shape} has M = {w.shape[1]} outputs, "
            f"so b must have shape ({w.shape[1]},), got b of shape {b.shape}"
        )
    rows = x.reshape(x.shape[0], num_features)  # a view for contiguous x
    out = _product(rows, w, False, "the output x W + b")  # checked once, with b added
    with np.errstate(over="ignore"):
        out += b
    if check_finite:
        _require_in_range(out, "the output x W + b")
    return out, AffineCache(x=x, w=w, b=b)


def affine_backward(
    dout: npt.ArrayLike,
    cache: AffineCache,
    *,
    compute_dx: bool = True,
    check_finite: bool = True,
) -> dict[str, FloatArray]:
    r"""Backward pass of an affine layer.

    .. math:: dx = dout\, W^T, \qquad dW = x^T dout, \qquad db = \sum_i dout_i

    Parameters
    ----------
    dout : array_like, shape (N, M)
        Upstream gradient of the layer's output.
    cache : AffineCache
        From :func:`affine_forward`.
    compute_dx : bool, default True
        With False, skip ``dx`` (the costliest product when x is data that needs
        no gradient, as in a net's first layer); the result then has no ``"x"``.
    check_finite : bool, default True
        Reject NaN and +-inf in ``dout``, and gradients beyond the float range.

    Returns
    -------
    grads : dict
        ``{"x": dx, "w": dw, "b": db}``, each of the shape and dtype of its input
        (``dx`` in x's original shape (N, d1, ..., dk)).

    Raises
    ------
    FloatingPointError
        If a gradient overflows (with ``check_finite``), as in :func:`affine_forward`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> w = np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 0.0]])
    >>> out, cache = affine_forward(x, w, np.zeros(3))
    >>> grads = affine_backward(np.ones((2, 3)), cache)
    >>> grads["x"]  # each row: the row sums of w
    array([[0. , 1.5],
           [0. , 1.5]])
    >>> grads["w"]  # each row: the column sums of x
    array([[4., 4., 4.],
           [6., 6., 6.]])
    >>> grads["b"]
    array([2., 2., 2.])
    """
    if not isinstance(cache, AffineCache):
        raise TypeError(
            f"cache must be the cache returned by affine_forward, got a {type(cache).__name__}"
        )
    compute_dx = as_flag(compute_dx, "compute_dx")
    check_finite = as_flag(check_finite, "check_finite")
    x, w, b = cache.x, cache.w, cache.b
    upstream = as_float_array(dout, "dout", check_finite=check_finite)
    _require_dout_shape(upstream, (x.shape[0], w.shape[1]), "layer's output (N, M)")
    rows = x.reshape(x.shape[0], w.shape[0])
    with np.errstate(over="ignore"):
        db = upstream.sum(axis=0)
    if check_finite:
        _require_in_range(db, "the gradient db = sum of dout")
    grads = {
        "w": _product(rows.T, upstream, check_finite, "the gradient dw = x^T dout").astype(
            w.dtype, copy=False
        ),
        "b": db.astype(b.dtype, copy=False),
    }
    if compute_dx:
        dx = _product(upstream, w.T, check_finite, "the gradient dx = dout W^T")
        grads["x"] = dx.reshape(x.shape).astype(x.dtype, copy=False)
    return grads


def relu_forward(x: npt.ArrayLike, *, check_finite: bool = True) -> tuple[FloatArray, ReluCache]:
    r"""Forward pass of the rectified linear unit, entry-wise.

    .. math:: out = \max(0, x)

    Parameters
    ----------
    x : array_like, any shape
        Input; float32 stays float32, integers become float64.
    check_finite : bool, default True
        Reject NaN and +-inf in ``x``.

    Returns
    -------
    out : ndarray, the shape and dtype of x
    cache : ReluCache
        The input, for :func:`relu_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> out, cache = relu_forward(np.array([[-2.0, 0.0, 3.0]]))
    >>> out
    array([[0., 0., 3.]])
    """
    x = as_float_array(x, "x", check_finite=as_flag(check_finite, "check_finite"))
    return np.maximum(x, 0), ReluCache(x=x)


def relu_backward(
    dout: npt.ArrayLike, cache: ReluCache, *, check_finite: bool = True
) -> dict[str, FloatArray]:
    r"""Backward pass of the ReLU: the upstream gradient passes where x > 0.

    .. math:: dx = dout \odot 1[x > 0]

    Parameters
    ----------
    dout : array_like, the shape of x
        Upstream gradient of the layer's output.
    cache : ReluCache
        From :func:`relu_forward`.
    check_finite : bool, default True
        Reject NaN and +-inf in ``dout``.

    Returns
    -------
    grads : dict
        ``{"x": dx}``, a new array of the shape and dtype of x.

    Notes
    -----
    At the kink, x exactly 0, the subgradient 0 is used (as in PyTorch): the
    gradient is passed only where x > 0.

    Examples
    --------
    >>> import numpy as np
    >>> out, cache = relu_forward(np.array([[-2.0, 0.0, 3.0]]))
    >>> relu_backward(np.array([[5.0, 5.0, 5.0]]), cache)["x"]  # 0 at the kink x = 0
    array([[0., 0., 5.]])
    """
    if not isinstance(cache, ReluCache):
        raise TypeError(
            f"cache must be the cache returned by relu_forward, got a {type(cache).__name__}"
        )
    x = cache.x
    upstream = as_float_array(dout, "dout", check_finite=as_flag(check_finite, "check_finite"))
    _require_dout_shape(upstream, x.shape, "layer's input x")
    # A product builds a new array: dout is never written into (as CS231n's
    # `dout[x <= 0] = 0` would be), and a multiply is faster than np.where.
    dx = (upstream * (x > 0)).astype(x.dtype, copy=False)
    return {"x": dx}
