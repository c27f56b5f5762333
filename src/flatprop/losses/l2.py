r"""The L2 loss: the squared Euclidean distance between a prediction and its target.

For the prediction :math:`\hat y_i` (row i of the (N, K) predictions) and its target
:math:`t_i`,

.. math:: L_i = \lVert \hat y_i - t_i \rVert_2^2 = \sum_k (\hat y_{ik} - t_{ik})^2,
    \qquad \frac{\partial L_i}{\partial \hat y_i} = 2 (\hat y_i - t_i).

With no target (t = 0) this is the problem set's "matrix example", the loss
:math:`L = \lVert \hat y \rVert^2` of a two-layer net.

The staged computation, in plain NumPy as the problem set stages it ("flat" backprop),
for the default call (the mean over the N examples, no weights). Each backward line
differentiates the forward line beside it; the backward pass runs from the bottom up::

    # forward                                     # backward
    diff = pred - target                          dpred = 2 * diff * dlosses[:, None]
    losses = (diff**2).sum(axis=1)
    loss = losses.mean()                          dlosses = np.full(N, dloss / N)

Note that the mean is over the N examples, not over the N K entries as in PyTorch's
``mse_loss``: this loss's "mean" is K times PyTorch's.

Layered on that math, without changing it:

- the options: ``sample_weight`` and ``reduction`` change only how ``losses`` become
  ``loss`` and, backward, ``dlosses`` (:mod:`flatprop.losses._reduction`);
- the speed: a large input runs a block of rows at a time, on several threads
  (:mod:`flatprop.losses._blocks`); the one-shot call writes ``dpred`` into the memory
  of ``diff``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple, TypeGuard

import numpy as np
import numpy.typing as npt

from flatprop._display import StagesDisplay
from flatprop._validation import FloatArray, Reduction, as_flag, as_float_array, check_reduction
from flatprop.losses._blocks import for_each_block
from flatprop.losses._docs import shared_parameters
from flatprop.losses._reduction import (
    Weighting,
    checked_weighting,
    finished_gradient,
    loss_gradient,
    of_rows,
    reduced,
    without_overflow_warnings,
)
from flatprop.losses._rows import scale_rows, sum_of_squares

__all__ = ["L2Cache", "l2", "l2_backward", "l2_forward"]


@dataclass(frozen=True, eq=False)
class L2Cache(StagesDisplay):
    """The stages of an L2 forward pass, kept for its backward pass.

    Attributes
    ----------
    pred : ndarray, shape (N, K)
        The input predictions (not copied: do not modify them before the backward pass).
    target : ndarray, shape (N, K), or None
        The targets; None stands for zeros.
    diff : ndarray, shape (N, K)
        ``pred - target`` (``pred`` itself when there is no target).
    losses : ndarray, shape (N,)
        The per-example losses ``L_i = ||diff_i||^2``, before weighting.
    loss : float or ndarray
        The returned loss.
    reduction : {"mean", "sum", "none"}
    sample_weight : ndarray, shape (N,), or None
        The per-example weights, as given (checked); None when not given.
    example_weight : ndarray, shape (N,), or None
        ``omega_i``, example i's weight: the ``sample_weight`` itself (the L2 loss has
        no per-class ``weight``).
    weighting : Weighting
        The weights as the reduction uses them (scaled by powers of two).
    """

    pred: FloatArray
    target: FloatArray | None
    diff: FloatArray
    losses: FloatArray
    loss: np.floating | FloatArray
    reduction: Reduction
    sample_weight: FloatArray | None
    example_weight: FloatArray | None
    weighting: Weighting = field(repr=False)


# The math, on a block of rows (all the rows, or a block of a large input).


def _diff_and_losses(
    pred: FloatArray, target: FloatArray | None, diff: FloatArray, losses: FloatArray
) -> None:
    """Write the block's ``diff`` (unless it is ``pred`` itself) and ``losses``."""
    if target is not None:
        np.subtract(pred, target, out=diff)
    np.einsum("ij,ij->i", diff, diff, out=losses)  # (diff**2).sum(axis=1), no temporary


def _dpred(diff: FloatArray, dlosses: np.floating | FloatArray, dpred: FloatArray) -> None:
    """Write the block's ``dpred = 2 * diff * dlosses[:, None]`` (may be ``diff``'s memory)."""
    scale_rows(diff, 2 * dlosses, out=dpred)


# The staged forward pass: the stages into a cache.


def l2_forward(
    pred: npt.ArrayLike,
    target: npt.ArrayLike | None = None,
    *,
    reduction: Reduction = "mean",
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> tuple[np.floating | FloatArray, L2Cache]:
    """The forward pass of :func:`l2` (its parameters, formula and notes).

    Returns
    -------
    loss : float or ndarray of shape (N,)
    cache : L2Cache
        The named stages (``diff``, ``losses``) for :func:`l2_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> loss, cache = l2_forward(np.array([[3.0, 4.0], [1.0, 0.0]]), reduction="none")
    >>> print(loss)
    [25.  1.]
    """
    return _forward(_checked(pred, target, reduction, sample_weight, check_finite))


@without_overflow_warnings
def _forward(call: _Call) -> tuple[np.floating | FloatArray, L2Cache]:
    pred, target = call.pred, call.target
    diff = pred if target is None else np.empty_like(pred)
    losses = np.empty(pred.shape[0], pred.dtype)

    def forward_block(rows: slice) -> None:
        block_target = None if target is None else target[rows]
        _diff_and_losses(pred[rows], block_target, diff[rows], losses[rows])

    for_each_block(forward_block, *pred.shape, finite=call.finite)
    loss = reduced(losses, call.reduction, call.weighting, loss="l2", inputs=call.inputs)
    weighting = call.weighting
    cache = L2Cache(
        pred=pred,
        target=target,
        diff=diff,
        losses=losses,
        loss=loss,
        reduction=call.reduction,
        sample_weight=weighting.sample_weight,
        example_weight=weighting.example_weight,
        weighting=weighting,
    )
    return loss, cache


# The staged backward pass: from the cache to the gradient.


@shared_parameters
def l2_backward(cache: L2Cache, dloss: npt.ArrayLike = 1.0) -> dict[str, FloatArray]:
    """The backward pass of :func:`l2`, from its forward pass's cache.

    Parameters
    ----------
    cache : L2Cache
        From :func:`l2_forward`.
    {dloss}

    Returns
    -------
    grads : dict
        ``{"pred": dpred}``, shape (N, K), the prediction's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> loss, cache = l2_forward(np.array([[3.0, 4.0]]), np.array([[1.0, 1.0]]))
    >>> l2_backward(cache)["pred"]  # 2 (pred - target)
    array([[4., 6.]])
    """
    return _backward(cache, dloss)


@without_overflow_warnings
def _backward(cache: L2Cache, dloss: npt.ArrayLike) -> dict[str, FloatArray]:
    if not isinstance(cache, L2Cache):
        raise TypeError(
            f"cache must be the cache returned by l2_forward, got a {type(cache).__name__}"
        )
    diff = cache.diff
    dlosses = loss_gradient(dloss, cache.reduction, cache.weighting, diff.shape[0], diff.dtype)
    dpred = np.empty_like(diff)

    def backward_block(rows: slice) -> None:
        _dpred(diff[rows], of_rows(dlosses, rows), dpred[rows])

    for_each_block(backward_block, *diff.shape)

    def inputs() -> dict[str, npt.ArrayLike | None]:
        return {**_inputs(cache.pred, cache.target, cache.weighting), "dloss": dloss}

    return {"pred": finished_gradient(dpred, dlosses, loss="l2", inputs=inputs)}


# The one-shot call, which documents the loss: forward and backward at once.


@shared_parameters
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

    Its stages are in :mod:`flatprop.losses.l2`. :func:`l2_forward` and
    :func:`l2_backward` are the same loss, staged.

    Parameters
    ----------
    pred : array_like, shape (N, K)
        Predictions; float32 stays float32, integers become float64, float16 float32.
    target : array_like, shape (N, K), optional
        Targets; None means zeros, so that ``L_i = ||pred_i||^2``.
    {reduction}
    {sample_weight}
    {check_finite}

    Returns
    -------
    loss : float or ndarray of shape (N,)
        The reduced loss, of the prediction's dtype.
    grads : dict
        ``{"pred": dpred}``, shape (N, K).

    Raises
    ------
    ValueError, TypeError
        For a bad argument, named in the message.
    FloatingPointError
        If the loss or its gradient overflows the prediction's dtype (differences beyond
        about 1e154 in float64, whose squares overflow).

    Notes
    -----
    The "mean" averages over the N examples the squared norm of a row, *not* over the
    N K entries: PyTorch's ``mse_loss`` with ``reduction="sum"`` is this loss with
    "sum", and its "mean" is this loss's divided by K.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grads = l2(np.array([[3.0, 4.0]]))  # ||(3, 4)||^2
    >>> print(float(loss), grads["pred"])
    25.0 [[6. 8.]]
    """
    return _one_shot(pred, target, reduction, sample_weight, check_finite)


def _one_shot(
    pred: npt.ArrayLike,
    target: npt.ArrayLike | None,
    reduction: Reduction,
    sample_weight: npt.ArrayLike | None,
    check_finite: bool,
) -> tuple[np.floating | FloatArray, dict[str, FloatArray]]:
    """The one-shot call: the default call's fast path, or forward and backward by blocks."""
    if reduction == "mean" and sample_weight is None and check_finite is True:
        result = _default_call(pred, target)
        if result is not None:
            return result
    return _blocks_one_shot(_checked(pred, target, reduction, sample_weight, check_finite))


@without_overflow_warnings
def _default_call(
    pred: npt.ArrayLike, target: npt.ArrayLike | None
) -> tuple[np.floating, dict[str, FloatArray]] | None:
    """The default call (an unweighted mean, finite check), its finite check fused.

    The mean needs only the sum of all squares, not the per-example losses: each block
    adds up its ``diff**2`` (:func:`_sum_of_squares`) and writes its ``dpred``. A finite
    sum proves every entry of ``pred`` and ``target`` finite, so the scan for NaN and inf
    is that sum; if it is not finite, None, and the general path checks the inputs
    first and reports what it finds. None also for input of another kind.
    """
    if type(pred) is not np.ndarray or not (target is None or type(target) is np.ndarray):
        return None
    pred = as_float_array(pred, "pred", ndim=2, check_finite=False)  # float16 as float32, ...
    if target is not None:
        target = as_float_array(target, "target", dtype=pred.dtype, check_finite=False)
    if not _is_plain(pred) or not (
        target is None or (_is_plain(target) and target.shape == pred.shape)
    ):
        return None
    num_examples = pred.shape[0]
    dpred = np.empty_like(pred)
    count = pred.dtype.type(num_examples)  # a scalar of pred's dtype: NumPy 1 promotes ints
    scale = pred.dtype.type(2.0) / count  # dpred = 2 * diff * dlosses, dlosses = 1 / N

    def block(rows: slice) -> np.floating:
        diff = (
            pred[rows] if target is None else np.subtract(pred[rows], target[rows], out=dpred[rows])
        )
        total = sum_of_squares(diff)
        np.multiply(diff, scale, out=dpred[rows])
        return total

    loss = np.add.reduce(np.array(for_each_block(block, *pred.shape), pred.dtype)) / count
    if not math.isfinite(loss):
        return None
    return loss, {"pred": dpred}


def _is_plain(array: object) -> TypeGuard[FloatArray]:
    """Whether ``array`` is a non-empty, C-contiguous (N, K) float32 or float64 ndarray."""
    return (
        type(array) is np.ndarray
        and array.ndim == 2
        and array.size > 0
        and array.dtype in (np.float64, np.float32)
        and array.flags.c_contiguous
    )


@without_overflow_warnings
def _blocks_one_shot(call: _Call) -> tuple[np.floating | FloatArray, dict[str, FloatArray]]:
    """Forward and backward, block by block: each block's ``diff`` becomes its ``dpred``."""
    pred, target = call.pred, call.target
    num_examples = pred.shape[0]
    dlosses = loss_gradient(1.0, call.reduction, call.weighting, num_examples, pred.dtype)
    dpred = np.empty_like(pred)
    losses = np.empty(num_examples, pred.dtype)

    def block(rows: slice) -> None:
        diff = pred[rows] if target is None else dpred[rows]
        _diff_and_losses(pred[rows], None if target is None else target[rows], diff, losses[rows])
        _dpred(diff, of_rows(dlosses, rows), dpred[rows])

    for_each_block(block, *pred.shape, finite=call.finite)
    loss = reduced(losses, call.reduction, call.weighting, loss="l2", inputs=call.inputs)
    return loss, {"pred": finished_gradient(dpred, dlosses, loss="l2", inputs=call.inputs)}


# The arguments, checked before any computation, and the results.


class _Call(NamedTuple):
    """The checked arguments of one call."""

    pred: FloatArray
    target: FloatArray | None
    reduction: Reduction
    weighting: Weighting
    finite: tuple[tuple[FloatArray, str], ...]
    """What to scan for NaN and inf, block by block (see ``for_each_block``)."""

    def inputs(self) -> dict[str, npt.ArrayLike | None]:
        return _inputs(self.pred, self.target, self.weighting)


def _checked(
    pred: npt.ArrayLike,
    target: npt.ArrayLike | None,
    reduction: Reduction,
    sample_weight: npt.ArrayLike | None,
    check_finite: bool,
) -> _Call:
    """Every argument checked, before any computation.

    The scan for NaN and inf runs block by block, just before each block is used.
    """
    check_finite = as_flag(check_finite, "check_finite")
    checked_pred = as_float_array(pred, "pred", ndim=2, check_finite=False)
    finite: tuple[tuple[FloatArray, str], ...] = ((checked_pred, "pred"),) if check_finite else ()
    checked_target = None
    if target is not None:
        checked_target = as_float_array(
            target, "target", dtype=checked_pred.dtype, check_finite=False
        )
        if check_finite:
            finite += ((checked_target, "target"),)
        if checked_target.shape != checked_pred.shape:
            raise ValueError(
                f"target must have the shape of pred {checked_pred.shape}, "
                f"got shape {checked_target.shape}"
            )
    reduction = check_reduction(reduction)
    weighting = checked_weighting(
        checked_pred.dtype,
        reduction=reduction,
        num_examples=checked_pred.shape[0],
        sample_weight=sample_weight,
    )
    return _Call(checked_pred, checked_target, reduction, weighting, finite)


def _inputs(
    pred: FloatArray, target: FloatArray | None, weighting: Weighting
) -> dict[str, npt.ArrayLike | None]:
    """The inputs whose sizes an overflow message reports."""
    return {"pred": pred, "target": target, "sample_weight": weighting.sample_weight}
