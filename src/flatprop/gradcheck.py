"""Numerical gradients by central differences, and the relative error used to compare.

These are the tools for checking a backward pass by hand (and what flatprop's own
tests use): perturb one entry by +-h, evaluate the function twice, and divide the
difference by 2h. The error is O(h^2) where the function is smooth; near a kink of
a hinge or a ReLU the estimate is meaningless, so stay away from kinks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from flatprop._validation import FloatArray, as_real_scalar

__all__ = ["numerical_gradient", "numerical_gradient_array", "rel_error"]


def _check_perturbable(x: object, h: float) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"x must be a NumPy array (it is perturbed in place), got {type(x).__name__}"
        )
    if x.dtype.kind != "f":
        raise TypeError(
            f"x must be a floating array (an integer array cannot hold x + h), got dtype {x.dtype}"
        )
    if not x.flags.writeable:
        raise ValueError(
            "x must be writeable (it is perturbed in place and restored), got a read-only array"
        )
    step = as_real_scalar(h, "h")  # a TypeError for True, "1e-5", complex, ...
    if step <= 0:
        raise ValueError(f"h must be a positive step, got {h!r}")
    return x


def _central_differences(x: np.ndarray, h: float, evaluate: Callable[[], float]) -> FloatArray:
    """``(f(x + h e_k) - f(x - h e_k)) / 2h`` for every entry k, restoring x after each."""
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        original = x[index]
        try:
            x[index] = original + h
            f_plus = evaluate()
            x[index] = original - h
            f_minus = evaluate()
        finally:
            x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient(
    f: Callable[[np.ndarray], object], x: np.ndarray, *, h: float = 1e-5
) -> FloatArray:
    """Gradient of a scalar function by central differences over every entry of ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored (also if ``f``
    raises), so ``f`` may ignore its argument and read ``x`` from elsewhere, e.g.
    ``lambda _: net.loss(X, y)[0]`` with ``x = net.params["W1"]``.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar.
    x : ndarray of float
        The point; a writeable floating array.
    h : float, default 1e-5
        The step. With float32 ``x``, use a larger step (around 1e-2) or expect noise.

    Returns
    -------
    grad : ndarray of float64, the shape of ``x``
        ``df/dx``, entry by entry.

    Raises
    ------
    TypeError
        If ``x`` is not a floating NumPy array, or ``h`` not a real number.
    ValueError
        If ``x`` is read-only, or ``h`` is not a positive, finite step.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> grad = numerical_gradient(lambda v: np.sum(v ** 2), x)
    >>> print(np.round(grad, 6))  # 2 x
    [2. 4. 6.]
    """
    _check_perturbable(x, h)
    return _central_differences(x, h, lambda: float(np.asarray(f(x), dtype=np.float64)))


def numerical_gradient_array(
    f: Callable[[np.ndarray], npt.ArrayLike],
    x: np.ndarray,
    dout: npt.ArrayLike,
    *,
    h: float = 1e-5,
) -> FloatArray:
    """Gradient of ``sum(f(x) * dout)`` by central differences: a backward pass's check.

    For an array-valued layer ``out = f(x)`` and an upstream gradient ``dout`` of the
    shape of ``out``, this is what the layer's backward pass should return as ``dx``.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns an array of the shape of ``dout``.
    x : ndarray of float
        The point; perturbed in place and restored.
    dout : array_like
        The upstream gradient.
    h : float, default 1e-5

    Returns
    -------
    dx : ndarray of float64, the shape of ``x``
        What the layer's backward pass should return for ``x`` given ``dout``.

    Raises
    ------
    TypeError, ValueError
        As :func:`numerical_gradient`; and a ValueError if ``f(x)`` does not have the
        shape of ``dout``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[-1.0, 2.0]])
    >>> dx = numerical_gradient_array(lambda v: np.maximum(v, 0), x, np.array([[5.0, 5.0]]))
    >>> print(np.round(dx, 6))  # ReLU passes dout where x > 0
    [[0. 5.]]
    """
    _check_perturbable(x, h)
    upstream = np.asarray(dout, dtype=np.float64)

    def weighted_sum() -> float:
        out = np.asarray(f(x), dtype=np.float64)
        if out.shape != upstream.shape:
            raise ValueError(
                f"dout must have the shape of f(x) {out.shape}, got shape {upstream.shape}"
            )
        return float(np.sum(out * upstream))

    return _central_differences(x, h, weighted_sum)


def rel_error(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Largest relative error between two arrays, ``max |a - b| / max(1e-8, |a| + |b|)``.

    The floor of 1e-8 keeps entries that are both (nearly) zero from dividing by zero.
    As a rule of thumb for float64 gradients: below 1e-7 is right, above 1e-4 is a bug.

    Examples
    --------
    >>> rel_error([1.0, 2.0], [1.0, 2.0])
    0.0
    >>> print(f"{rel_error([1.0], [1.001]):.2e}")
    5.00e-04
    """
    first = np.asarray(a, dtype=np.float64)
    second = np.asarray(b, dtype=np.float64)
    if first.shape != second.shape:
        raise ValueError(f"a and b must have the same shape, got {first.shape} and {second.shape}")
    if first.size == 0:
        return 0.0
    return float(np.max(np.abs(first - second) / np.maximum(1e-8, np.abs(first) + np.abs(second))))
