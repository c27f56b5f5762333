r"""The L2 (sum of squares) loss, staged.

.. math:: L_i = \lVert \hat y_i - t_i \rVert_2^2 = \sum_k (\hat y_{ik} - t_{ik})^2,
    \qquad \frac{\partial L_i}{\partial \hat y_i} = 2 (\hat y_i - t_i)

With no target (t = 0) this is the problem set's matrix example, :math:`L = \lVert \hat y \rVert^2`.
Stages: ``diff``, per-example ``losses``, ``loss``; backward: ``dlosses``, ``dpred``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from flatprop._validation import (
    FloatArray,
    Reduction,
    as_flag,
    as_float_array,
    check_reduction,
    require_finite,
)
from flatprop.losses._reduction import (
    Weighting,
    checked_weighting,
    loss_gradient,
    reduce_losses,
    require_finite_result,
    zero_dropped_rows,
)
from flatprop.losses._rows import scale_rows

__all__ = ["L2Cache", "l2", "l2_backward", "l2_forward"]


@dataclass(frozen=True, eq=False)
class L2Cache:
    """The stages of an L2 forward pass, kept for the backward pass.

    Attributes
    ----------
    pred : ndarray, shape (N, K)
        The input predictions (not copied: do not modify them before the backward pass).
    target : ndarray, shape (N, K), or None
        The targets; None stands for zeros.
    diff : ndarray, shape (N, K)
        ``pred - target`` (``pred`` itself when there is no target).
    losses : ndarray, shape (N,)
        The per-example losses ``L_i = ||diff_i||^2``, before weighting; computed on
        first access.
    sample_weight : ndarray, shape (N,), or None
        The per-example weights, as given (checked); None when not given.
    example_weight : ndarray, shape (N,), or None
        ``omega_i``, example i's weight: the ``sample_weight`` itself (the L2 loss has
        no per-class ``weight``).
    weighting : Weighting
        The weights as the reduction uses them (scaled by powers of two).
    loss : float or ndarray
    reduction : {"mean", "sum", "none"}
    """

    pred: FloatArray
    target: FloatArray | None
    diff: FloatArray
    sample_weight: FloatArray | None
    weighting: Weighting
    loss: np.floating | FloatArray
    reduction: Reduction

    @property
    def example_weight(self) -> FloatArray | None:
        """``omega_i``: the ``sample_weight`` (the L2 loss has no per-class weights)."""
        return self.sample_weight

    @cached_property
    def losses(self) -> FloatArray:
        """The per-example losses ``||diff_i||^2``, shape (N,).

        Computed on first access: an unweighted "mean" or "sum" takes the loss as one
        sum over all entries and never needs them.
        """
        with np.errstate(over="ignore"):
            return _squared_norms(self.diff)


def _squared_norms(diff: FloatArray) -> FloatArray:
    """``||diff_i||^2`` for each row i."""
    return np.einsum("ij,ij->i", diff, diff)  # row-wise sum of squares, no temporary


# _sum_of_squares reads the flattened diff as rows of this many entries.
_ROW_ENTRIES = 256


def _sum_of_squares(diff: FloatArray) -> np.floating:
    """``sum_ik diff_ik^2``: an einsum per row of 256 entries of the flattened diff.

    One einsum over all entries would be as fast, but each of its accumulators adds
    up thousands of terms: over a million float32 entries that is off by tens of
    ulps. Rows of 256 keep every accumulation short, and NumPy's pairwise sum adds
    the row totals: within an ulp or two, for any N and K.
    """
    flat = diff.ravel(order="K")  # a view when diff is contiguous
    whole_rows = flat.size - flat.size % _ROW_ENTRIES
    rows = flat[:whole_rows].reshape(-1, _ROW_ENTRIES)
    rest = flat[whole_rows:]
    return np.einsum("ij,ij->i", rows, rows).sum() + np.einsum("i,i->", rest, rest)


def l2_forward(
    pred: npt.ArrayLike,
    target: npt.ArrayLike | None = None,
    *,
    reduction: Reduction = "mean",
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> tuple[np.floating | FloatArray, L2Cache]:
    r"""Forward pass of the L2 loss.

    .. math:: L_i = \lVert \hat y_i - t_i \rVert_2^2

    Parameters
    ----------
    pred : array_like, shape (N, K)
        Predictions; float32 stays float32, integers become float64, float16 float32.
    target : array_like, shape (N, K), optional
        Targets; None means zeros, so that ``L_i = ||pred_i||^2``.
    reduction : {"mean", "sum", "none"}, default "mean"
        "mean" is ``sum_i omega_i L_i / sum_i omega_i``: an average over examples of the
        squared norm, *not* over all N K entries.
    sample_weight : array_like, shape (N,), optional
        Non-negative per-example weights: example i's weight omega_i.
    check_finite : bool, default True
        Reject NaN and +-inf in ``pred`` and ``target``.

    Returns
    -------
    loss : float or ndarray of shape (N,)
        The reduced loss, of the prediction's dtype.
    cache : L2Cache
        The named stages for :func:`l2_backward`.

    Notes
    -----
    PyTorch's ``mse_loss`` with ``reduction="sum"`` is this loss with "sum"; its "mean"
    divides by N K, so this loss's "mean" is K times PyTorch's.

    Examples
    --------
    >>> import numpy as np
    >>> loss, cache = l2_forward(np.array([[3.0, 4.0], [1.0, 0.0]]), reduction="none")
    >>> print(loss)
    [25.  1.]
    """
    check_finite = as_flag(check_finite, "check_finite")
    # NaN and inf are looked for below, once the sum of squares is known.
    pred = as_float_array(pred, "pred", ndim=2, check_finite=False)
    num_examples = pred.shape[0]
    reduction = check_reduction(reduction)
    target_array = None
    if target is not None:
        target_array = as_float_array(target, "target", dtype=pred.dtype, check_finite=False)
        if target_array.shape != pred.shape:
            raise ValueError(
                f"target must have the shape of pred {pred.shape}, got shape {target_array.shape}"
            )
    weighting = checked_weighting(
        pred.dtype, reduction=reduction, num_examples=num_examples, sample_weight=sample_weight
    )

    with np.errstate(over="ignore", invalid="ignore"):  # NaN, inf and overflow: see below
        diff = pred if target_array is None else pred - target_array
        if weighting.sample_weight is None and reduction != "none":
            # "mean" and "sum" without weights need only the sum of all squares: no
            # per-example vector (the cache computes `losses` if asked).
            sum_of_squares = _sum_of_squares(diff)
            loss = sum_of_squares / num_examples if reduction == "mean" else sum_of_squares
            if reduction == "mean" and math.isinf(loss):
                loss = reduce_losses(_squared_norms(diff), reduction, weighting)
        else:
            squared_norms = _squared_norms(diff)
            sum_of_squares = squared_norms.sum()
            loss = reduce_losses(squared_norms, reduction, weighting)
    if check_finite and not math.isfinite(sum_of_squares):
        # A finite sum of squares proves every entry of pred and target finite, so the
        # entry-wise checks (which name the bad argument) run only when it is not.
        require_finite(pred, "pred")
        if target_array is not None:
            require_finite(target_array, "target")
    inputs = {"pred": pred, "target": target_array, "sample_weight": weighting.sample_weight}
    require_finite_result(loss, loss="l2", what="loss", inputs=inputs)
    cache = L2Cache(
        pred=pred,
        target=target_array,
        diff=diff,
        sample_weight=weighting.sample_weight,
        weighting=weighting,
        loss=loss,
        reduction=reduction,
    )
    return loss, cache


def l2_backward(cache: L2Cache, dloss: npt.ArrayLike = 1.0) -> dict[str, FloatArray]:
    r"""Backward pass of the L2 loss: ``dpred = 2 (pred - target)``, scaled.

    Parameters
    ----------
    cache : L2Cache
        From :func:`l2_forward`.
    dloss : float or array_like of shape (N,), default 1.0
        Upstream gradient of the loss; an (N,) array only with ``reduction="none"``.

    Returns
    -------
    grads : dict
        ``{"pred": dpred}``, shape (N, K), the prediction's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> loss, cache = l2_forward(np.array([[3.0, 4.0]]), np.array([[1.0, 1.0]]))
    >>> l2_backward(cache)["pred"]
    array([[4., 6.]])
    """
    return _l2_backward(cache, dloss)


def _l2_backward(
    cache: L2Cache, dloss: npt.ArrayLike, *, overwrite_cache: bool = False
) -> dict[str, FloatArray]:
    if not isinstance(cache, L2Cache):
        raise TypeError(
            f"cache must be the cache returned by l2_forward, got a {type(cache).__name__}"
        )
    diff = cache.diff
    num_examples = diff.shape[0]
    dlosses = loss_gradient(dloss, cache.reduction, cache.weighting, num_examples, diff.dtype)
    # The one-shot call owns the cache: diff's memory can become dpred, unless diff is
    # the caller's pred itself (no target).
    out = diff if overwrite_cache and cache.target is not None else None
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught below
        dpred = scale_rows(diff, 2 * dlosses, out=out)
    zero_dropped_rows(dpred, dlosses)
    inputs = {
        "pred": cache.pred,
        "target": cache.target,
        "sample_weight": cache.sample_weight,
        "dloss": dloss,
    }
    require_finite_result(dpred, loss="l2", what="gradient", inputs=inputs)
    return {"pred": dpred}


def l2(
    pred: npt.ArrayLike,
    target: npt.ArrayLike | None = None,
    *,
    reduction: Reduction = "mean",
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> tuple[np.floating | FloatArray, dict[str, FloatArray]]:
    r"""L2 loss and its gradient, in one call.

    .. math:: L_i = \lVert \hat y_i - t_i \rVert_2^2

    Parameters
    ----------
    pred : array_like, shape (N, K)
        Predictions.
    target : array_like, shape (N, K), optional
        Targets; None means zeros.
    reduction : {"mean", "sum", "none"}, default "mean"
        "mean" averages over examples (not over entries).
    sample_weight : array_like, shape (N,), optional
        Non-negative per-example weights.
    check_finite : bool, default True
        Reject NaN and +-inf in the inputs.

    Returns
    -------
    loss : float or ndarray of shape (N,)
    grads : dict
        ``{"pred": dpred}``; with ``reduction="none"``, the gradient of the sum.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grads = l2(np.array([[3.0, 4.0]]))  # ||(3, 4)||^2
    >>> print(float(loss), grads["pred"])
    25.0 [[6. 8.]]
    """
    loss, cache = l2_forward(
        pred, target, reduction=reduction, sample_weight=sample_weight, check_finite=check_finite
    )
    return loss, _l2_backward(cache, 1.0, overwrite_cache=True)
