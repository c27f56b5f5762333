r"""Softmax cross-entropy: the softmax of the scores, and the negative log-likelihood.

For the scores :math:`s_i` (row i of the (N, C) score matrix) and a target row
:math:`a_i`,

.. math::

    p_{ic} = \frac{e^{s_{ic}}}{\sum_k e^{s_{ik}}}, \qquad
    L_i = -\sum_c a_{ic} \log p_{ic}, \qquad
    \frac{\partial L_i}{\partial s_{ic}} = A_i\, p_{ic} - a_{ic}, \quad A_i = \sum_c a_{ic},

where :math:`a_i` is the one-hot row of the label :math:`y_i` (or a given row of
probabilities), smoothed to :math:`(1 - \varepsilon) a_i + \varepsilon / C` and
multiplied entry-wise by the class weights when they are given, as PyTorch's
``cross_entropy`` defines them: for a plain label, the gradient is the familiar
:math:`p_i - \mathrm{onehot}(y_i)` (CS231n notes, "Linear classification": softmax).

The staged computation, in plain NumPy as the problem set stages it ("flat" backprop),
for the default call (integer labels, the mean over the N examples, no weights, no
smoothing), with ``rows = np.arange(N)``. Each backward line differentiates the forward
line beside it; the backward pass runs from the bottom up::

    # forward                                         # backward
    shifted = scores - scores.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    sum_exps = exps.sum(axis=1)
    log_sum_exp = np.log(sum_exps)
    probs = exps / sum_exps[:, None]                  dscores[rows, y] -= dlosses
    losses = log_sum_exp - shifted[rows, y]           dscores = probs * dlosses[:, None]
    loss = losses.mean()                              dlosses = np.full(N, dloss / N)

Subtracting each row's maximum changes no probability but keeps ``exp`` from
overflowing: every ``shifted`` entry is at most 0.

Layered on that math, without changing it:

- the options: class weights and label smoothing make the target row ``a_i``; the
  loss is then ``A_i log_sum_exp - sum_c a_ic shifted_ic`` and the gradient
  ``A_i p_i - a_i`` (:class:`_Targets`, built once from labels or from probability
  rows); ``weight``, ``sample_weight`` and ``reduction`` also change how ``losses``
  become ``loss`` and, backward, ``dlosses`` (:mod:`flatprop.losses._reduction`);
- exactness in confident rows: ``sum_exps`` is ``1 + rest`` (the 1 is the largest
  score's own term), and ``log_sum_exp`` is taken as ``log1p(rest)``, so that a tiny
  ``rest`` is not rounded away; in the gradient, ``p - 1`` at the label is taken as
  ``expm1(log_probs[rows, y])``, which does not cancel to 0 (for probability rows, the
  same at the largest score's column);
- the speed: :mod:`flatprop.losses._rows` stands in for the row reductions and the
  fancy indexing; a large input runs a block of rows at a time, on several threads
  (:mod:`flatprop.losses._blocks`); the one-shot call scales ``exps`` into ``dscores``
  in one pass, without ever making ``probs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from flatprop._display import StagesDisplay
from flatprop._validation import (
    FloatArray,
    IntArray,
    Reduction,
    as_array,
    as_flag,
    as_labels,
    as_probabilities,
    as_real_scalar,
    as_scores,
    check_reduction,
)
from flatprop.losses._blocks import BLOCK_ENTRIES, for_each_block
from flatprop.losses._docs import shared_parameters
from flatprop.losses._reduction import (
    Weighting,
    checked_weighting,
    finished_gradient,
    is_small_and_finite,
    loss_gradient,
    of_rows,
    power_of_two_scaled,
    reduced,
    without_overflow_warnings,
)
from flatprop.losses._rows import label_positions, row_maxima, row_sums, scale_rows, set_entries

__all__ = [
    "SoftmaxCrossEntropyCache",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
    "softmax_cross_entropy_forward",
]


@dataclass(frozen=True, eq=False)
class SoftmaxCrossEntropyCache(StagesDisplay):
    """The stages of a softmax cross-entropy forward pass, kept for its backward pass.

    Attributes
    ----------
    scores : ndarray, shape (N, C)
        The input scores (not copied: do not modify them before the backward pass).
    y : ndarray, shape (N,) of int or (N, C) of float
        The labels, or the probability targets as given (before smoothing).
    row_max : ndarray, shape (N,)
        Each row's largest score, subtracted before ``exp`` so that it cannot overflow.
    log_sum_exp : ndarray, shape (N,)
        ``log(sum_c exp(s_ic - row_max_i))``, in [0, log C]; ``row_max + log_sum_exp``
        is SciPy's ``logsumexp`` of each row. (With ``check_finite=False``, a row whose
        largest score is +-inf counts its largest entries as equal, the limit of equal
        scores: ``log_sum_exp`` is the log of their number, and a row of all -inf gives
        ``row_max + log_sum_exp = -inf``, as SciPy does.)
    probs : ndarray, shape (N, C)
        The softmax probabilities.
    exact_log_probs : ndarray, shape (N,)
        ``log_probs[rows, e]`` at the column the backward pass computes exactly: the
        label's, or for probability targets the largest score's.
    losses : ndarray, shape (N,)
        The per-example losses L_i, class weights included (they sit in the target
        row), before ``sample_weight``.
    loss : float or ndarray
        The returned loss.
    label_smoothing : float
    reduction : {"mean", "sum", "none"}
    weight : ndarray, shape (C,), or None
        The per-class weights w, as given (checked); None when not given (all ones).
    sample_weight : ndarray, shape (N,), or None
        The per-example weights v, as given (checked); None when not given.
    example_weight : ndarray, shape (N,), or None
        ``omega_i = sample_weight[i] * weight[y[i]]`` for labels, ``sample_weight[i]``
        for probability targets: what "mean" divides by the sum of; None when
        unweighted.
    weighting : Weighting
        The weights as the reduction uses them (scaled by powers of two).
    _targets : _Targets
        The target rows as the backward pass uses them (private).
    """

    scores: FloatArray
    y: IntArray | FloatArray
    row_max: FloatArray
    log_sum_exp: FloatArray
    probs: FloatArray
    exact_log_probs: FloatArray
    losses: FloatArray
    loss: np.floating | FloatArray
    label_smoothing: float
    reduction: Reduction
    weight: FloatArray | None
    sample_weight: FloatArray | None
    example_weight: FloatArray | None
    weighting: Weighting = field(repr=False)
    _targets: _Targets = field(repr=False)

    @property
    def log_probs(self) -> FloatArray:
        """``log p``, shape (N, C), computed on demand as ``(s - row_max) - log_sum_exp``."""
        with np.errstate(over="ignore", invalid="ignore"):
            shifted = _shifted(self.scores, self.row_max, out=np.empty_like(self.scores))
        shifted -= self.log_sum_exp[:, np.newaxis]
        return shifted


# The math, on a block of rows (all the rows, or a block of a large input).


class _Targets(NamedTuple):
    """The target rows as the math uses them: ``a_ic = on_column_i [c = e_i] + dense_ic``.

    Built once, from labels or from probability rows; the forward and backward passes
    are then the same for both. The column e_i is computed exactly in the backward pass
    (see the module's notes): the label's column for labels (``on_column`` is then
    ``(1 - eps) w_y``, ``dense`` the smoothing ``(eps / C) w``), the largest score's for
    probability rows (``on_column`` 0, ``dense`` the whole row). Class weights enter
    divided by a power of two (:func:`flatprop.losses._reduction.power_of_two_scaled`);
    the reduction multiplies it back.
    """

    exact_columns: IntArray
    """e_i, shape (N,)."""
    on_column: float | FloatArray
    """The part of a_i on column e_i not in ``dense``: a scalar or (N,)."""
    dense: FloatArray | None
    """The rest of a_i: (N, C), (C,) (the same for every row), or None (nothing)."""
    mass: float | FloatArray
    """A_i, the sum of the target row: a scalar or (N,)."""
    other_mass: float | FloatArray
    """``A_i - a_ie``, summed from the other columns (never a difference)."""

    def of_rows(self, rows: slice) -> _Targets:
        """The targets of a block of rows."""
        dense = self.dense
        if dense is not None and dense.ndim == 2:
            dense = dense[rows]
        return _Targets(
            self.exact_columns[rows],
            of_rows(self.on_column, rows),
            dense,
            of_rows(self.mass, rows),
            of_rows(self.other_mass, rows),
        )


def _label_targets(
    labels: IntArray, num_classes: int, smoothing: float, weight: FloatArray | None, dtype: np.dtype
) -> _Targets:
    """``a_ic = w_c ((1 - eps) [c = y_i] + eps / C)``, never built densely."""
    if weight is None and not smoothing:  # the default call: a_i = onehot(y_i)
        return _Targets(labels, 1.0, None, 1.0, 0.0)
    weights = np.ones(num_classes, dtype) if weight is None else power_of_two_scaled(weight)[0]
    uniform = smoothing / num_classes  # eps / C
    of_the_labels = weights[labels]
    total = weights.sum()
    dense = uniform * weights if smoothing else None
    mass = (1 - smoothing) * of_the_labels + uniform * total
    other_mass = uniform * (total - of_the_labels) if smoothing else 0.0
    return _Targets(labels, (1 - smoothing) * of_the_labels, dense, mass, other_mass)


def _probability_targets(
    scores: FloatArray, probabilities: FloatArray, smoothing: float, weight: FloatArray | None
) -> _Targets:
    """``a_ic = w_c ((1 - eps) t_ic + eps / C)``, built densely."""
    num_classes = scores.shape[1]
    dense = probabilities * (1 - smoothing) + smoothing / num_classes
    if weight is not None:
        dense *= power_of_two_scaled(weight)[0]
    exact_columns = np.argmax(scores, axis=1)  # where p is near 1 in a confident row
    others = dense.copy()
    set_entries(others, label_positions(exact_columns, num_classes), 0.0)
    return _Targets(exact_columns, 0.0, dense, row_sums(dense), row_sums(others))


def _shifted(scores: FloatArray, row_max: FloatArray, out: FloatArray) -> FloatArray:
    """``scores - row_max[:, None]``, <= 0 everywhere, written into ``out``.

    A row whose max is +-inf (only with ``check_finite=False``) takes the limit of equal
    scores: 0 where the score equals the max, -inf elsewhere (``inf - inf`` would be
    NaN). Call it with overflow and invalid-value warnings off.
    """
    shifted = np.subtract(scores, row_max[:, np.newaxis], out=out)
    infinite = np.isinf(row_max)
    if infinite.any():
        rows = np.flatnonzero(infinite)
        shifted[rows] = np.where(scores[rows] == row_max[rows, np.newaxis], 0.0, -np.inf)
    return shifted


def _probs_and_losses(
    scores: FloatArray,
    targets: _Targets,
    positions: IntArray,
    out: FloatArray,
    row_scale: float | FloatArray = 1.0,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """The forward stages of a block, with ``probs * row_scale[:, None]`` into ``out``.

    Returns ``row_max``, ``log_sum_exp``, ``exact_log_probs`` and ``losses``;
    ``positions`` locate ``[rows, e]``, the exact column's entries.

    The staged forward pass takes ``probs`` (``row_scale`` 1); the one-shot call takes
    ``dscores``' first term ``A_i p_i dlosses_i`` in the same pass.
    """
    row_max = row_maxima(scores)
    shifted = _shifted(scores, row_max, out=out)
    exact_shifted = shifted.take(positions)  # shifted[rows, e]
    # sum_c a_ic shifted_ic, read off before exp overwrites shifted
    target_shifted = (
        exact_shifted if _is_one(targets.on_column) else (targets.on_column * exact_shifted)
    )
    if targets.dense is not None:
        # `where` keeps a zero target from meeting a -inf score: 0 * -inf would be NaN
        dense_shifted = np.multiply(
            shifted, targets.dense, out=np.zeros_like(shifted), where=targets.dense != 0
        )
        target_shifted = target_shifted + row_sums(dense_shifted)
    exps = np.exp(shifted, out=shifted)
    rest = _rest(exps)  # sum_exps = 1 + rest
    log_sum_exp = np.log1p(rest)  # log(sum_exps)
    # probs = exps / sum_exps[:, None], in place, and scaled alike
    sum_exps = np.add(rest, 1.0, out=rest)
    scale_rows(exps, np.divide(row_scale, sum_exps, out=sum_exps), out=exps)
    # losses = sum_c a_ic (log_sum_exp - shifted_ic)
    losses = (
        log_sum_exp - target_shifted
        if _is_one(targets.mass)
        else (targets.mass * log_sum_exp - target_shifted)
    )
    exact_log_probs = np.subtract(exact_shifted, log_sum_exp, out=exact_shifted)
    return row_max, log_sum_exp, exact_log_probs, losses


def _is_one(value: float | FloatArray) -> bool:
    """Whether ``value`` is the scalar 1 (the default call's target mass): no product."""
    return isinstance(value, float) and value == 1.0


def _rest(exps: FloatArray) -> FloatArray:
    """Each row's ``exps.sum() - 1``, where the 1 is the largest score's own term.

    ``row_sums(exps) - 1`` is exact enough once ``rest >= 1``. Below, the rounding of the
    1 would swamp a small rest (a confident row, whose loss is about ``rest``): those
    rows are summed again without their term equal to 1 (a small input, all its rows).
    """
    if exps.size <= _ALL_ROWS_EXACTLY:
        return _sum_without_one_max_term(exps)
    rest = row_sums(exps)
    rest -= 1
    rows = np.flatnonzero(rest < 1)
    if rows.size:
        rest[rows] = _sum_without_one_max_term(exps[rows])
    return rest


# Up to this many entries, summing every row without its 1 costs less than choosing rows.
_ALL_ROWS_EXACTLY = 4096


def _sum_without_one_max_term(exps: FloatArray) -> FloatArray:
    """Each row's ``sum_c exps_c - 1``, the 1 being the max's own term, never added.

    ``exps <= 1``, and it is 1 exactly at the max's own term (and at a tie): those terms
    are taken out of the sum and put back, exactly (1 - 1 + 1), with a mask of one byte
    per entry rather than a scratch copy of ``exps``; a row with k of them gets k - 1
    added back.
    """
    ones = exps == 1.0
    exps -= ones
    rest = row_sums(exps)
    exps += ones
    if np.count_nonzero(ones) > len(exps):  # some row has several terms equal to 1
        rest += row_sums(ones.astype(exps.dtype)) - 1
    return rest


def _minus_targets(
    dscores: FloatArray,
    targets: _Targets,
    positions: IntArray,
    exact_log_probs: FloatArray,
    dlosses: np.floating | FloatArray,
    row_scale: np.floating | FloatArray,
) -> None:
    """``dscores -= a_i * dlosses[:, None]`` (its first term ``A_i p_i dlosses_i`` given).

    At the exact column e: ``A_i (p_ie - 1) + (A_i - a_ie)``, with ``p_ie - 1`` taken as
    ``expm1(log p_ie)``; for plain labels that is ``dscores[rows, y] -= dlosses``.
    """
    if targets.dense is not None:
        dscores -= scale_rows(np.broadcast_to(targets.dense, dscores.shape), dlosses)
    exact = np.expm1(exact_log_probs)
    exact *= row_scale
    if targets.dense is not None:
        exact += dlosses * targets.other_mass
    set_entries(dscores, positions, exact)


# The staged forward pass: the stages into a cache.


def softmax_cross_entropy_forward(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    weight: npt.ArrayLike | None = None,
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> tuple[np.floating | FloatArray, SoftmaxCrossEntropyCache]:
    """The forward pass of :func:`softmax_cross_entropy` (its parameters, formula, notes).

    Returns
    -------
    loss : float or ndarray of shape (N,)
    cache : SoftmaxCrossEntropyCache
        The named stages (``probs``, ``log_probs``, ``losses``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> loss, cache = softmax_cross_entropy_forward(np.zeros((2, 4)), [1, 3])
    >>> print(f"{float(loss):.12f} = log 4 = {np.log(4):.12f}")  # uniform: log C
    1.386294361120 = log 4 = 1.386294361120
    >>> print(cache.probs)
    [[0.25 0.25 0.25 0.25]
     [0.25 0.25 0.25 0.25]]
    """
    return _forward(
        _checked(scores, y, label_smoothing, reduction, weight, sample_weight, check_finite)
    )


@without_overflow_warnings
def _forward(call: _Call) -> tuple[np.floating | FloatArray, SoftmaxCrossEntropyCache]:
    scores = call.scores
    num_examples, num_classes = scores.shape
    probs = np.empty_like(scores)
    row_max, log_sum_exp, exact_log_probs, losses = np.empty((4, num_examples), scores.dtype)

    def forward_block(rows: slice) -> None:
        targets = call.targets.of_rows(rows)
        positions = label_positions(targets.exact_columns, num_classes)
        row_max[rows], log_sum_exp[rows], exact_log_probs[rows], losses[rows] = _probs_and_losses(
            scores[rows], targets, positions, probs[rows]
        )

    for_each_block(forward_block, num_examples, num_classes, finite=call.finite)
    loss = reduced(
        losses, call.reduction, call.weighting, loss="softmax_cross_entropy", inputs=call.inputs
    )
    weighting = call.weighting
    cache = SoftmaxCrossEntropyCache(
        scores=scores,
        y=call.y,
        row_max=row_max,
        log_sum_exp=log_sum_exp,
        probs=probs,
        exact_log_probs=exact_log_probs,
        losses=_unscaled(losses, weighting),
        loss=loss,
        label_smoothing=call.smoothing,
        reduction=call.reduction,
        weight=weighting.weight,
        sample_weight=weighting.sample_weight,
        example_weight=weighting.example_weight,
        weighting=weighting,
        _targets=call.targets,
    )
    return loss, cache


def _unscaled(losses: FloatArray, weighting: Weighting) -> FloatArray:
    """The losses at the class weights' own scale (computed with them scaled)."""
    if weighting.weight is None:
        return losses
    # inf only where L_i itself is beyond the range (overflow warnings are off)
    return np.ldexp(losses, power_of_two_scaled(weighting.weight)[1])


# The staged backward pass: from the cache to the gradient.


@shared_parameters
def softmax_cross_entropy_backward(
    cache: SoftmaxCrossEntropyCache, dloss: npt.ArrayLike = 1.0
) -> dict[str, FloatArray]:
    """The backward pass of :func:`softmax_cross_entropy`, from its forward pass's cache.

    Parameters
    ----------
    cache : SoftmaxCrossEntropyCache
        From :func:`softmax_cross_entropy_forward`.
    {dloss}

    Returns
    -------
    grads : dict
        ``{"scores": dscores}``, shape (N, C), the scores' dtype.

    Examples
    --------
    >>> import numpy as np
    >>> loss, cache = softmax_cross_entropy_forward(np.zeros((1, 4)), [2])
    >>> softmax_cross_entropy_backward(cache)["scores"]  # p - onehot(y)
    array([[ 0.25,  0.25, -0.75,  0.25]])
    """
    return _backward(cache, dloss)


@without_overflow_warnings
def _backward(cache: SoftmaxCrossEntropyCache, dloss: npt.ArrayLike) -> dict[str, FloatArray]:
    if not isinstance(cache, SoftmaxCrossEntropyCache):
        raise TypeError(
            "cache must be the cache returned by softmax_cross_entropy_forward, "
            f"got a {type(cache).__name__}"
        )
    probs = cache.probs
    num_examples, num_classes = probs.shape
    dlosses = loss_gradient(dloss, cache.reduction, cache.weighting, num_examples, probs.dtype)
    dscores = np.empty_like(probs)

    def backward_block(rows: slice) -> None:
        targets = cache._targets.of_rows(rows)
        block_dlosses = of_rows(dlosses, rows)
        row_scale = block_dlosses * targets.mass  # dlosses * A
        scale_rows(probs[rows], row_scale, out=dscores[rows])  # A p dlosses
        positions = label_positions(targets.exact_columns, num_classes)
        _minus_targets(
            dscores[rows],
            targets,
            positions,
            cache.exact_log_probs[rows],
            block_dlosses,
            row_scale,
        )

    for_each_block(backward_block, num_examples, num_classes)

    def inputs() -> dict[str, npt.ArrayLike | None]:
        return {**_inputs(cache.scores, cache.weighting), "dloss": dloss}

    finished_gradient(dscores, dlosses, loss="softmax_cross_entropy", inputs=inputs)
    return {"scores": dscores}


# The one-shot call, which documents the loss: forward and backward at once.


@shared_parameters
def softmax_cross_entropy(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    weight: npt.ArrayLike | None = None,
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> tuple[np.floating | FloatArray, dict[str, FloatArray]]:
    r"""Softmax cross-entropy loss and its gradient, in one call.

    .. math:: L_i = -\sum_c a_{ic} \log \mathrm{softmax}(s_i)_c

    where :math:`a_i` is example i's target row: the one-hot row of its label
    (:math:`a_{ic} = 1` for :math:`c = y_i`, else 0), or ``y[i]`` itself for rows of
    probabilities; with ``label_smoothing`` :math:`\varepsilon`, :math:`(1 - \varepsilon)
    a_i + \varepsilon / C`, and times :math:`w_c` with class weights.
    Its stages are in :mod:`flatprop.losses.softmax`.
    :func:`softmax_cross_entropy_forward` and :func:`softmax_cross_entropy_backward` are
    the same loss, staged.

    Parameters
    ----------
    scores : array_like, shape (N, C)
        Unnormalized log-probabilities (logits); float32 stays float32, integers
        become float64, float16 float32 (half precision has too little range for exp).
    y : array_like, shape (N,) of int or (N, C) of float
        Labels in [0, C), or rows of target probabilities (non-negative, each row
        summing to 1; checked as such whatever ``check_finite`` says).
    label_smoothing : float in [0, 1], default 0.0
        Mixes the target with the uniform distribution:
        ``(1 - label_smoothing) * target + label_smoothing / C``, as PyTorch does.
    reduction : {"mean", "sum", "none"}, default "mean"
        See Notes for what "mean" divides by; "none" returns the (N,) vector, whose
        gradient the one-shot call gives for its sum.
    weight : array_like, shape (C,), optional
        Non-negative per-class weights w, multiplied entry-wise into the target row.
    {sample_weight}
    {check_finite}

    Returns
    -------
    loss : float or ndarray of shape (N,)
        The reduced loss, of the scores' dtype.
    grads : dict
        ``{"scores": dscores}``, shape (N, C).

    Raises
    ------
    ValueError, TypeError
        For a bad argument, named in the message.
    FloatingPointError
        If the loss or its gradient overflows the scores' dtype (scores spread over
        more than about 1e308 in float64).

    Notes
    -----
    Reductions follow PyTorch's ``cross_entropy``, extended by ``sample_weight`` (call
    it v, all ones when not given):

    - integer labels: "mean" is ``sum_i v_i L_i / sum_i v_i w[y_i]``, PyTorch's
      weighted mean. Without smoothing, ``L_i = w[y_i] (-log p[i, y_i])``. With
      smoothing, the uniform part is weighted by the class weights of every class,
      ``(eps / C) sum_c w_c (-log p_ic)``, exactly as PyTorch does.
    - probability targets: "mean" is ``sum_i v_i L_i / sum_i v_i`` (N when
      unweighted), also with class weights, as in PyTorch. An all-zero target row is
      refused (PyTorch accepts it): give the example ``sample_weight`` 0 to leave it out.

    Confident rows keep their tiny losses and gradients exactly (see the module's
    notes), and rows separated by up to 1e300 give exact, finite losses.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grads = softmax_cross_entropy(np.array([[0.0, -30.0]]), [0])
    >>> print(float(loss))  # log(1 + e**-30): exact, not rounded to 0
    9.357622968839737e-14
    >>> loss, grads = softmax_cross_entropy(np.zeros((1, 4)), [2])
    >>> grads["scores"]  # p - onehot(y)
    array([[ 0.25,  0.25, -0.75,  0.25]])
    """
    return _one_shot(scores, y, label_smoothing, reduction, weight, sample_weight, check_finite)


def _one_shot(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    label_smoothing: float,
    reduction: Reduction,
    weight: npt.ArrayLike | None,
    sample_weight: npt.ArrayLike | None,
    check_finite: bool,
) -> tuple[np.floating | FloatArray, dict[str, FloatArray]]:
    """The one-shot call: the default call's fast path, or forward and backward by blocks."""
    if (
        reduction == "mean"
        and weight is None
        and sample_weight is None
        and check_finite is True
        and label_smoothing == 0
    ):
        result = _default_call(scores, y)
        if result is not None:
            return result
    call = _checked(scores, y, label_smoothing, reduction, weight, sample_weight, check_finite)
    return _blocks_one_shot(call)


def _default_call(
    scores: npt.ArrayLike, y: npt.ArrayLike
) -> tuple[np.floating, dict[str, FloatArray]] | None:
    """The default call (labels, an unweighted mean, finite check) on small, moderate input.

    The same steps as :func:`_blocks_one_shot` without its bookkeeping: a third faster at
    N = 256. Its finite check is the sum of squares of the scores (one BLAS call), which
    also bounds them, so that no step can overflow and NumPy's warnings need not be
    turned off. None for any other input, which the general path then checks.
    """
    if type(scores) is not np.ndarray or type(y) is not np.ndarray or y.ndim != 1:
        return None
    scores = as_scores(scores, "scores", check_finite=False)  # float16 as float32, ...
    if not is_small_and_finite(scores, max_entries=BLOCK_ENTRIES):
        return None
    num_examples, num_classes = scores.shape
    labels = as_labels(y, "y", num_examples=num_examples, num_classes=num_classes)
    targets = _Targets(labels, 1.0, None, 1.0, 0.0)  # a_i = onehot(y_i)
    count = scores.dtype.type(num_examples)  # a scalar of the scores' dtype: NumPy 1 promotes
    dlosses = scores.dtype.type(1.0) / count
    dscores = np.empty_like(scores)
    positions = label_positions(labels, num_classes)
    _, _, exact_log_probs, losses = _probs_and_losses(scores, targets, positions, dscores, dlosses)
    _minus_targets(dscores, targets, positions, exact_log_probs, dlosses, dlosses)
    return losses.sum() / count, {"scores": dscores}


@without_overflow_warnings
def _blocks_one_shot(call: _Call) -> tuple[np.floating | FloatArray, dict[str, FloatArray]]:
    """Forward and backward, block by block, ``exps`` scaled straight into ``dscores``."""
    scores = call.scores
    num_examples, num_classes = scores.shape
    dlosses = loss_gradient(1.0, call.reduction, call.weighting, num_examples, scores.dtype)
    dscores = np.empty_like(scores)
    losses = np.empty(num_examples, scores.dtype)

    def block(rows: slice) -> None:
        targets = call.targets.of_rows(rows)
        block_dlosses = of_rows(dlosses, rows)
        row_scale = block_dlosses * targets.mass  # dlosses * A
        positions = label_positions(targets.exact_columns, num_classes)
        _, _, exact_log_probs, losses[rows] = _probs_and_losses(
            scores[rows], targets, positions, dscores[rows], row_scale
        )
        _minus_targets(dscores[rows], targets, positions, exact_log_probs, block_dlosses, row_scale)

    for_each_block(block, num_examples, num_classes, finite=call.finite)
    name = "softmax_cross_entropy"
    loss = reduced(losses, call.reduction, call.weighting, loss=name, inputs=call.inputs)
    return loss, {"scores": finished_gradient(dscores, dlosses, loss=name, inputs=call.inputs)}


# The arguments, checked before any computation, and the results.


class _Call(NamedTuple):
    """The checked arguments of one call."""

    scores: FloatArray
    y: IntArray | FloatArray
    targets: _Targets
    smoothing: float
    reduction: Reduction
    weighting: Weighting
    finite: tuple[tuple[FloatArray, str], ...]
    """What to scan for NaN and inf, block by block (see ``for_each_block``)."""

    def inputs(self) -> dict[str, npt.ArrayLike | None]:
        return _inputs(self.scores, self.weighting)


def _checked(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    label_smoothing: float,
    reduction: Reduction,
    weight: npt.ArrayLike | None,
    sample_weight: npt.ArrayLike | None,
    check_finite: bool,
) -> _Call:
    """Every argument checked, and the target rows made, before any computation."""
    # The scan for NaN and inf runs block by block, just before each block is used.
    checked_scores = as_scores(scores, "scores", check_finite=False)
    finite = ((checked_scores, "scores"),) if as_flag(check_finite, "check_finite") else ()
    num_examples, num_classes = checked_scores.shape
    dtype = checked_scores.dtype
    smoothing = as_real_scalar(label_smoothing, "label_smoothing")
    if not 0 <= smoothing <= 1:
        raise ValueError(f"label_smoothing must be in [0, 1], got {smoothing!r}")
    reduction = check_reduction(reduction)

    def checked_weights(labels: IntArray | None) -> Weighting:
        # PyTorch's mean divides by the class weights of the labels, but for probability
        # targets by the number of examples: omega_i is sample_weight[i] * weight[y_i]
        # for labels, sample_weight[i] for probabilities.
        return checked_weighting(
            dtype,
            reduction=reduction,
            num_examples=num_examples,
            sample_weight=sample_weight,
            weight=weight,
            num_classes=num_classes,
            y=labels,
            class_weights_in_losses=True,
        )

    # Labels or probabilities: asked once, here.
    if as_array(y, "y").ndim == 2:
        probabilities = as_probabilities(y, "y", shape=checked_scores.shape, dtype=dtype)
        weighting = checked_weights(None)
        targets = _probability_targets(checked_scores, probabilities, smoothing, weighting.weight)
        return _Call(
            checked_scores, probabilities, targets, smoothing, reduction, weighting, finite
        )
    labels = as_labels(y, "y", num_examples=num_examples, num_classes=num_classes)
    weighting = checked_weights(labels)
    targets = _label_targets(labels, num_classes, smoothing, weighting.weight, dtype)
    return _Call(checked_scores, labels, targets, smoothing, reduction, weighting, finite)


def _inputs(scores: FloatArray, weighting: Weighting) -> dict[str, npt.ArrayLike | None]:
    """The inputs whose sizes an overflow message reports."""
    return {"scores": scores, "weight": weighting.weight, "sample_weight": weighting.sample_weight}
