r"""Multiclass hinge losses: the multiclass SVM loss and its square.

For the scores :math:`s_i` (row i of the (N, C) score matrix) and the label
:math:`y_i` of example i,

.. math::

    L_i = \sum_{j \neq y_i} \max(0,\, s_{ij} - s_{iy_i} + \Delta)
    \quad \text{(multiclass SVM)}, \qquad
    L_i = \sum_{j \neq y_i} \max(0,\, s_{ij} - s_{iy_i} + \Delta)^2
    \quad \text{(squared hinge)}:

the multiclass SVM loss of the CS231n notes ("Linear classification") and of Weston &
Watkins (1999), and its square, the problem set's question Q6.

The staged computation, in plain NumPy as the problem set stages it ("flat" backprop),
for the default call (margin 1, the mean over the N examples, no weights), with
``rows = np.arange(N)``. Each backward line differentiates the forward line beside it;
the backward pass runs from the bottom up::

    # forward                                     # backward
    correct_scores = scores[rows, y]              dscores[rows, y] = -dmargins.sum(axis=1)
    margins = np.maximum(0, scores - correct_scores[:, None] + margin)
    margins[rows, y] = 0                          dscores = dmargins.copy()
    losses = margins.sum(axis=1)                  dmargins = (margins > 0) * dlosses[:, None]
    loss = losses.mean()                          dlosses = np.full(N, dloss / N)

``s_ij`` enters its own margin, with slope 1; ``s_iy`` enters every margin of its row,
with slope -1. The squared hinge squares the margins: ``losses = (margins**2).sum(axis=1)``
and ``dmargins = 2 * margins * dlosses[:, None]``.

Layered on that math, without changing it:

- the options: ``weight``, ``sample_weight`` and ``reduction`` change only how
  ``losses`` become ``loss`` and, backward, ``dlosses``
  (:mod:`flatprop.losses._reduction`);
- at a kink, a margin of exactly 0 counts as inactive: the subgradient there is 0, as
  in PyTorch (the squared hinge's gradient ``2 m`` is 0 there anyway);
- the speed: :mod:`flatprop.losses._rows` stands in for the fancy indexing and the row
  sums; a large input runs a block of rows at a time, on several threads
  (:mod:`flatprop.losses._blocks`); the one-shot call writes the gradient into the
  memory of the margins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from flatprop._display import StagesDisplay
from flatprop._validation import (
    FloatArray,
    IntArray,
    Reduction,
    as_flag,
    as_labels,
    as_real_scalar,
    as_scores,
    check_reduction,
)
from flatprop.losses._blocks import BLOCK_ENTRIES, for_each_block
from flatprop.losses._docs import shared_parameters
from flatprop.losses._reduction import (
    BOUNDED_MARGIN,
    Weighting,
    checked_weighting,
    finished_gradient,
    is_small_and_finite,
    loss_gradient,
    of_rows,
    reduced,
    without_overflow_warnings,
)
from flatprop.losses._rows import label_positions, row_sums, set_entries, sum_of_squares

__all__ = [
    "HingeCache",
    "multiclass_svm",
    "multiclass_svm_backward",
    "multiclass_svm_forward",
    "squared_hinge",
    "squared_hinge_backward",
    "squared_hinge_forward",
]


@dataclass(frozen=True, eq=False)
class HingeCache(StagesDisplay):
    """The stages of a hinge loss's forward pass, kept for its backward pass.

    Attributes
    ----------
    scores : ndarray, shape (N, C)
        The input scores (not copied: do not modify them before the backward pass).
    y : ndarray of int, shape (N,)
        The labels.
    margins : ndarray, shape (N, C)
        ``max(0, s_j - s_y + margin)`` for ``j != y``, and 0 in each row's label column.
    losses : ndarray, shape (N,)
        The per-example losses L_i, before weighting.
    loss : float or ndarray
        The returned loss.
    margin : float
    reduction : {"mean", "sum", "none"}
    squared : bool
        True for the squared hinge.
    weight : ndarray, shape (C,), or None
        The per-class weights, as given (checked); None when not given.
    sample_weight : ndarray, shape (N,), or None
        The per-example weights, as given (checked); None when not given.
    example_weight : ndarray, shape (N,), or None
        ``omega_i = sample_weight[i] * weight[y[i]]``; None when neither is given.
    weighting : Weighting
        The weights as the reduction uses them (scaled by powers of two).
    """

    scores: FloatArray
    y: IntArray
    margins: FloatArray
    losses: FloatArray
    loss: np.floating | FloatArray
    margin: float
    reduction: Reduction
    squared: bool
    weight: FloatArray | None
    sample_weight: FloatArray | None
    example_weight: FloatArray | None
    weighting: Weighting = field(repr=False)


# The math, on a block of rows (all the rows, or a block of a large input).


def _margins(
    scores: FloatArray, positions: IntArray, margin: float, margins: FloatArray
) -> FloatArray:
    """Write and return the block's ``margins``; ``positions`` locate ``[rows, y]``."""
    correct_scores = scores.take(positions)  # scores[rows, y]
    np.subtract(scores, correct_scores[:, np.newaxis], out=margins)
    margins += margin  # (s_j - s_y) + margin, in the loops' order of operations
    np.maximum(margins, 0.0, out=margins)
    set_entries(margins, positions, 0.0)  # margins[rows, y] = 0
    return margins


def _losses(margins: FloatArray, squared: bool, losses: FloatArray) -> None:
    """Write the block's ``losses``: ``margins.sum(axis=1)``, or of their squares."""
    if squared:
        np.einsum("ij,ij->i", margins, margins, out=losses)  # (margins**2).sum(axis=1)
    else:
        row_sums(margins, out=losses)


def _dscores(
    margins: FloatArray,
    positions: IntArray,
    dlosses: np.floating | FloatArray,
    squared: bool,
    dscores: FloatArray,
) -> None:
    """Write the block's ``dscores`` (which may be the memory of ``margins``)."""
    if squared:  # dmargins = 2 * margins * dlosses[:, None]
        np.multiply(margins, 2 * _column(dlosses), out=dscores)
    else:  # dmargins = (margins > 0) * dlosses[:, None], the mask written as 1.0 or 0.0
        np.greater(margins, 0.0, out=dscores)
        dscores *= _column(dlosses)
    dmargins = dscores  # dscores = dmargins, but at the labels:
    # 0.0 - sum rather than -sum, so that a row without active margins gets +0.0
    set_entries(dscores, positions, 0.0 - row_sums(dmargins))


def _column(dlosses: np.floating | FloatArray) -> np.floating | FloatArray:
    """``dlosses[:, None]`` for an (N,) array; a scalar as it is (one contiguous pass)."""
    return dlosses[:, np.newaxis] if isinstance(dlosses, np.ndarray) and dlosses.ndim else dlosses


# The staged forward pass: the stages into a cache.


def multiclass_svm_forward(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    margin: float = 1.0,
    reduction: Reduction = "mean",
    weight: npt.ArrayLike | None = None,
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> tuple[np.floating | FloatArray, HingeCache]:
    """The forward pass of :func:`multiclass_svm` (its parameters, formula and notes).

    Returns
    -------
    loss : float or ndarray of shape (N,)
    cache : HingeCache
        The named stages (``margins``, ``losses``, ...) for :func:`multiclass_svm_backward`.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    >>> loss, cache = multiclass_svm_forward(scores, [0, 1, 2], reduction="none")
    >>> print(np.round(loss, 10))
    [ 2.9  0.  12.9]
    >>> print(np.round(cache.margins, 10))
    [[0.  2.9 0. ]
     [0.  0.  0. ]
     [6.3 6.6 0. ]]
    """
    return _forward(
        _checked(scores, y, margin, reduction, weight, sample_weight, check_finite, squared=False)
    )


def squared_hinge_forward(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    margin: float = 1.0,
    reduction: Reduction = "mean",
    weight: npt.ArrayLike | None = None,
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> tuple[np.floating | FloatArray, HingeCache]:
    """The forward pass of :func:`squared_hinge` (its parameters, formula and notes).

    Returns
    -------
    loss : float or ndarray of shape (N,)
    cache : HingeCache
        The named stages for :func:`squared_hinge_backward`; ``margins`` holds the hinge
        terms before squaring.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    >>> loss, cache = squared_hinge_forward(scores, [0, 1, 2], reduction="none")
    >>> print(np.round(loss, 10))  # 2.9**2, 0, 6.3**2 + 6.6**2
    [ 8.41  0.   83.25]
    """
    return _forward(
        _checked(scores, y, margin, reduction, weight, sample_weight, check_finite, squared=True)
    )


@without_overflow_warnings
def _forward(call: _Call) -> tuple[np.floating | FloatArray, HingeCache]:
    scores, labels = call.scores, call.labels
    margins = np.empty_like(scores)
    losses = np.empty(scores.shape[0], scores.dtype)

    def forward_block(rows: slice) -> None:
        positions = label_positions(labels[rows], scores.shape[1])
        _margins(scores[rows], positions, call.margin, margins[rows])
        _losses(margins[rows], call.squared, losses[rows])

    for_each_block(forward_block, *scores.shape, finite=call.finite)
    loss = reduced(losses, call.reduction, call.weighting, loss=call.name, inputs=call.inputs)
    weighting = call.weighting
    cache = HingeCache(
        scores=scores,
        y=labels,
        margins=margins,
        losses=losses,
        loss=loss,
        margin=call.margin,
        reduction=call.reduction,
        squared=call.squared,
        weight=weighting.weight,
        sample_weight=weighting.sample_weight,
        example_weight=weighting.example_weight,
        weighting=weighting,
    )
    return loss, cache


# The staged backward pass: from the cache to the gradient.


@shared_parameters
def multiclass_svm_backward(cache: HingeCache, dloss: npt.ArrayLike = 1.0) -> dict[str, FloatArray]:
    """The backward pass of :func:`multiclass_svm`, from its forward pass's cache.

    Parameters
    ----------
    cache : HingeCache
        From :func:`multiclass_svm_forward`.
    {dloss}

    Returns
    -------
    grads : dict
        ``{"scores": dscores}``, shape (N, C), the scores' dtype.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    >>> loss, cache = multiclass_svm_forward(scores, [0, 1, 2], reduction="sum")
    >>> multiclass_svm_backward(cache)["scores"]
    array([[-1.,  1.,  0.],
           [ 0.,  0.,  0.],
           [ 1.,  1., -2.]])
    """
    return _backward(cache, dloss, squared=False)


@shared_parameters
def squared_hinge_backward(cache: HingeCache, dloss: npt.ArrayLike = 1.0) -> dict[str, FloatArray]:
    """The backward pass of :func:`squared_hinge`, from its forward pass's cache.

    Parameters
    ----------
    cache : HingeCache
        From :func:`squared_hinge_forward`.
    {dloss}

    Returns
    -------
    grads : dict
        ``{"scores": dscores}``, shape (N, C), the scores' dtype.

    Examples
    --------
    >>> import numpy as np
    >>> loss, cache = squared_hinge_forward(np.array([[3.2, 5.1, -1.7]]), [0])
    >>> print(np.round(squared_hinge_backward(cache)["scores"], 10))  # 2 * 2.9
    [[-5.8  5.8  0. ]]
    """
    return _backward(cache, dloss, squared=True)


@without_overflow_warnings
def _backward(cache: HingeCache, dloss: npt.ArrayLike, squared: bool) -> dict[str, FloatArray]:
    name = _name(squared)
    if not isinstance(cache, HingeCache) or cache.squared != squared:
        given = type(cache).__name__
        if isinstance(cache, HingeCache):
            given += f" from {_name(cache.squared)}_forward"
        raise TypeError(f"cache must be the cache returned by {name}_forward, got a {given}")
    margins = cache.margins
    num_examples, num_classes = margins.shape
    dlosses = loss_gradient(dloss, cache.reduction, cache.weighting, num_examples, margins.dtype)
    dscores = np.empty_like(margins)

    def backward_block(rows: slice) -> None:
        positions = label_positions(cache.y[rows], num_classes)
        _dscores(margins[rows], positions, of_rows(dlosses, rows), squared, dscores[rows])

    for_each_block(backward_block, num_examples, num_classes)

    def inputs() -> dict[str, npt.ArrayLike | None]:
        return {**_inputs(cache.scores, cache.margin, cache.weighting), "dloss": dloss}

    return {"scores": finished_gradient(dscores, dlosses, loss=name, inputs=inputs)}


# The one-shot call, which documents each loss: forward and backward at once.


@shared_parameters
def multiclass_svm(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    margin: float = 1.0,
    reduction: Reduction = "mean",
    weight: npt.ArrayLike | None = None,
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> tuple[np.floating | FloatArray, dict[str, FloatArray]]:
    r"""Multiclass SVM (Weston--Watkins hinge) loss and its gradient, in one call.

    .. math:: L_i = \sum_{j \neq y_i} \max(0,\, s_{ij} - s_{iy_i} + \Delta)

    The loss of the CS231n notes and of Weston & Watkins (1999); its stages are in
    :mod:`flatprop.losses.hinge`. :func:`multiclass_svm_forward` and
    :func:`multiclass_svm_backward` are the same loss, staged.

    Parameters
    ----------
    scores : array_like, shape (N, C)
        Class scores; float32 stays float32, integers become float64, float16 float32.
    y : array_like of int, shape (N,)
        Labels in [0, C).
    {margin}
    {reduction}
    {weight}
    {sample_weight}
    {check_finite}

    Returns
    -------
    loss : float or ndarray of shape (N,)
        The reduced loss, of the scores' dtype.
    grads : dict
        ``{"scores": dscores}``, shape (N, C); with ``reduction="none"``, the gradient
        of the sum.

    Raises
    ------
    ValueError, TypeError
        For a bad argument, named in the message.
    FloatingPointError
        If the loss or its gradient overflows the scores' dtype (finite input beyond
        about 1e308 in float64).

    Notes
    -----
    At a kink (a margin exactly 0) the subgradient is 0, as in PyTorch. PyTorch's
    ``multi_margin_loss`` divides each L_i by C: this loss with ``reduction="sum"`` is C
    times PyTorch's. With class weights, PyTorch's "mean" divides by N, this one by
    ``sum_i weight[y_i]``.

    Examples
    --------
    The scores of the CS231n slide (rows are examples: cat, car, frog images), whose
    losses are 2.9, 0 and 12.9:

    >>> import numpy as np
    >>> scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    >>> loss, grads = multiclass_svm(scores, [0, 1, 2])
    >>> print(round(float(loss), 10))  # (2.9 + 0 + 12.9) / 3
    5.2666666667
    >>> grads["scores"] * 3
    array([[-1.,  1.,  0.],
           [ 0.,  0.,  0.],
           [ 1.,  1., -2.]])
    """
    return _one_shot(
        scores, y, margin, reduction, weight, sample_weight, check_finite, squared=False
    )


@shared_parameters
def squared_hinge(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    margin: float = 1.0,
    reduction: Reduction = "mean",
    weight: npt.ArrayLike | None = None,
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> tuple[np.floating | FloatArray, dict[str, FloatArray]]:
    r"""Squared multiclass hinge loss and its gradient, in one call.

    .. math:: L_i = \sum_{j \neq y_i} \max(0,\, s_{ij} - s_{iy_i} + \Delta)^2

    The problem set's question Q6; its stages are in :mod:`flatprop.losses.hinge`.
    :func:`squared_hinge_forward` and :func:`squared_hinge_backward` are the same loss,
    staged.

    Parameters
    ----------
    scores : array_like, shape (N, C)
        Class scores; float32 stays float32, integers become float64, float16 float32.
    y : array_like of int, shape (N,)
        Labels in [0, C).
    {margin}
    {reduction}
    {weight}
    {sample_weight}
    {check_finite}

    Returns
    -------
    loss : float or ndarray of shape (N,)
        The reduced loss, of the scores' dtype.
    grads : dict
        ``{"scores": dscores}``, shape (N, C); with ``reduction="none"``, the gradient
        of the sum.

    Raises
    ------
    ValueError, TypeError
        For a bad argument, named in the message.
    FloatingPointError
        If the loss or its gradient overflows the scores' dtype (margins beyond about
        1e154 in float64, whose squares overflow).

    Notes
    -----
    Differentiable everywhere: at a margin of exactly 0 its gradient ``2 m`` is 0. This
    is C times PyTorch's ``multi_margin_loss(p=2)`` with ``reduction="sum"``.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grads = squared_hinge(np.zeros((2, 4)), [0, 3])  # every margin is 1
    >>> print(float(loss))
    3.0
    >>> grads["scores"]  # 2 m / N = 1 per active margin, minus their sum at the label
    array([[-3.,  1.,  1.,  1.],
           [ 1.,  1.,  1., -3.]])
    """
    return _one_shot(
        scores, y, margin, reduction, weight, sample_weight, check_finite, squared=True
    )


def _one_shot(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    margin: float,
    reduction: Reduction,
    weight: npt.ArrayLike | None,
    sample_weight: npt.ArrayLike | None,
    check_finite: bool,
    *,
    squared: bool,
) -> tuple[np.floating | FloatArray, dict[str, FloatArray]]:
    """The one-shot call: the default call's fast path, or forward and backward by blocks."""
    if reduction == "mean" and weight is None and sample_weight is None and check_finite is True:
        result = _default_call(scores, y, margin, squared)
        if result is not None:
            return result
    call = _checked(
        scores, y, margin, reduction, weight, sample_weight, check_finite, squared=squared
    )
    return _blocks_one_shot(call)


def _default_call(
    scores: npt.ArrayLike, y: npt.ArrayLike, margin: float, squared: bool
) -> tuple[np.floating, dict[str, FloatArray]] | None:
    """The default call (an unweighted mean, finite check) on small, moderate input.

    The same steps as :func:`_blocks_one_shot` without its bookkeeping: a third faster at
    N = 256. Its finite check is the sum of squares of the scores (one BLAS call), which
    also bounds them, so that no step can overflow and NumPy's warnings need not be
    turned off. None for any other input, which the general path then checks.
    """
    if type(scores) is not np.ndarray or type(margin) is not float or abs(margin) > BOUNDED_MARGIN:
        return None
    scores = as_scores(scores, "scores", check_finite=False)  # float16 as float32, ...
    if not is_small_and_finite(scores, max_entries=BLOCK_ENTRIES):
        return None
    num_examples, num_classes = scores.shape
    labels = as_labels(y, "y", num_examples=num_examples, num_classes=num_classes)
    positions = label_positions(labels, num_classes)
    margins = _margins(scores, positions, margin, np.empty_like(scores))
    # the mean needs only the sum of all the losses
    count = scores.dtype.type(num_examples)  # a scalar of the scores' dtype: NumPy 1 promotes
    loss = (sum_of_squares(margins) if squared else margins.sum()) / count
    if not math.isfinite(loss):  # the squared hinge's loss may still overflow
        return None
    dlosses = scores.dtype.type(1.0) / count
    _dscores(margins, positions, dlosses, squared, margins)
    return loss, {"scores": margins}


@without_overflow_warnings
def _blocks_one_shot(call: _Call) -> tuple[np.floating | FloatArray, dict[str, FloatArray]]:
    """Forward and backward, block by block: each block's margins become its dscores."""
    scores, labels = call.scores, call.labels
    num_examples, num_classes = scores.shape
    dlosses = loss_gradient(1.0, call.reduction, call.weighting, num_examples, scores.dtype)
    dscores = np.empty_like(scores)
    losses = np.empty(num_examples, scores.dtype)

    def block(rows: slice) -> None:
        positions = label_positions(labels[rows], num_classes)
        margins = _margins(scores[rows], positions, call.margin, dscores[rows])
        _losses(margins, call.squared, losses[rows])
        _dscores(margins, positions, of_rows(dlosses, rows), call.squared, margins)

    for_each_block(block, num_examples, num_classes, finite=call.finite)
    loss = reduced(losses, call.reduction, call.weighting, loss=call.name, inputs=call.inputs)
    return loss, {"scores": finished_gradient(dscores, dlosses, loss=call.name, inputs=call.inputs)}


# The arguments, checked before any computation, and the results.


class _Call(NamedTuple):
    """The checked arguments of one call."""

    scores: FloatArray
    labels: IntArray
    margin: float
    reduction: Reduction
    weighting: Weighting
    squared: bool
    finite: tuple[tuple[FloatArray, str], ...]
    """What to scan for NaN and inf, block by block (see ``for_each_block``)."""

    @property
    def name(self) -> str:
        return _name(self.squared)

    def inputs(self) -> dict[str, npt.ArrayLike | None]:
        return _inputs(self.scores, self.margin, self.weighting)


def _checked(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    margin: float,
    reduction: Reduction,
    weight: npt.ArrayLike | None,
    sample_weight: npt.ArrayLike | None,
    check_finite: bool,
    *,
    squared: bool,
) -> _Call:
    """Every argument checked, before any computation."""
    # The scan for NaN and inf runs block by block, just before each block is used.
    checked_scores = as_scores(scores, "scores", check_finite=False)
    finite = ((checked_scores, "scores"),) if as_flag(check_finite, "check_finite") else ()
    num_examples, num_classes = checked_scores.shape
    labels = as_labels(y, "y", num_examples=num_examples, num_classes=num_classes)
    reduction = check_reduction(reduction)
    weighting = checked_weighting(
        checked_scores.dtype,
        reduction=reduction,
        num_examples=num_examples,
        sample_weight=sample_weight,
        weight=weight,
        num_classes=num_classes,
        y=labels,
    )
    margin = as_real_scalar(margin, "margin")
    return _Call(checked_scores, labels, margin, reduction, weighting, squared, finite)


def _name(squared: bool) -> str:
    """The loss's name, for messages."""
    return "squared_hinge" if squared else "multiclass_svm"


def _inputs(
    scores: FloatArray, margin: float, weighting: Weighting
) -> dict[str, npt.ArrayLike | None]:
    """The inputs whose sizes an overflow message reports."""
    return {
        "scores": scores,
        "margin": margin,
        "weight": weighting.weight,
        "sample_weight": weighting.sample_weight,
    }
