r"""Softmax cross-entropy, staged.

For scores :math:`s_i` (a row of the (N, C) score matrix),

.. math::

    p_{ic} = \frac{e^{s_{ic}}}{\sum_k e^{s_{ik}}}, \qquad
    L_i = -\sum_c a_{ic} \log p_{ic},

where the target row :math:`a_i` is the one-hot vector of the label :math:`y_i` (or a
given row of probabilities), smoothed to :math:`(1 - \varepsilon) a_i + \varepsilon / C`
and multiplied entry-wise by the class weights when they are given, as PyTorch's
``cross_entropy`` defines them.

Its gradient is :math:`\partial L_i / \partial s_{ic} = p_{ic} A_i - a_{ic}` with
:math:`A_i = \sum_k a_{ik}`, which for a plain label is the familiar
:math:`p_i - \mathrm{onehot}(y_i)`.

Stages: ``row_max``, ``shifted`` (scores minus the row max), ``log_sum_exp``,
``probs``, ``log_probs``, per-example ``losses``, ``loss``; backward: ``dlosses``,
``dscores``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import numpy.typing as npt

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
from flatprop.losses._reduction import (
    Weighting,
    checked_weighting,
    loss_gradient,
    power_of_two_scaled,
    reduce_losses,
    require_finite_result,
    zero_dropped_rows,
)
from flatprop.losses._rows import (
    label_positions,
    row_maxima,
    row_sums,
    scale_rows,
    set_entries,
)

__all__ = [
    "SoftmaxCrossEntropyCache",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
    "softmax_cross_entropy_forward",
]


@dataclass(frozen=True, eq=False)
class _Targets:
    """The target rows a_i as the backward pass uses them: ``dscores = A_i p_i - a_i``.

    Built once by the forward pass, from labels or from probability rows; the backward
    pass is the same for both. One column per row, ``exact_positions``, is computed as
    ``A_i (p_ie - 1) + (A_i - a_ie)``, which keeps the small gradient of a confident row
    exact where ``A_i p_ie - a_ie`` would cancel to 0: the label's column for labels,
    the largest score's column for probability rows.
    """

    mass: float | FloatArray
    """A_i, the sum of the target row: a scalar or (N,)."""
    dense: FloatArray | None
    """What ``dscores`` subtracts from ``A_i p_i`` off the exact column: a_i (N, C), or
    its part common to all rows (C,); None for one-hot rows (nothing off the column)."""
    exact_positions: IntArray
    """The flat positions ``i * C + e_i`` of the exact column e_i of each row."""
    exact_shifted: float | FloatArray
    """``s_ie - row_max_i`` at the exact column (0 for the max's own column)."""
    other_mass: float | FloatArray
    """``A_i - a_ie``, summed from the other columns (never a difference)."""
    weight_exponent: int
    """The class weights inside a_i are divided by ``2**weight_exponent`` (an exact
    scaling, so that no sum of them overflows); the reduction multiplies it back."""


@dataclass(frozen=True, eq=False)
class SoftmaxCrossEntropyCache:
    """The stages of a softmax cross-entropy forward pass, kept for the backward pass.

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
    losses : ndarray, shape (N,)
        The per-example losses L_i, class weights included (they sit in the target
        row), before ``sample_weight``.
    label_smoothing : float
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
    loss : float or ndarray
        The returned loss.
    reduction : {"mean", "sum", "none"}
    """

    scores: FloatArray
    y: IntArray | FloatArray
    row_max: FloatArray
    log_sum_exp: FloatArray
    probs: FloatArray
    losses: FloatArray
    label_smoothing: float
    weight: FloatArray | None
    sample_weight: FloatArray | None
    example_weight: FloatArray | None
    weighting: Weighting
    loss: np.floating | FloatArray
    reduction: Reduction
    targets: _Targets

    @property
    def log_probs(self) -> FloatArray:
        """``log p``, shape (N, C), computed on demand as ``(s - row_max) - log_sum_exp``."""
        with np.errstate(over="ignore", invalid="ignore"):
            shifted = _shifted(self.scores, self.row_max)
        shifted -= self.log_sum_exp[:, np.newaxis]
        return shifted


def _shifted(scores: FloatArray, row_max: FloatArray) -> FloatArray:
    """``scores - row_max[:, np.newaxis]``, a new array, <= 0 everywhere.

    A row whose max is +-inf (only with ``check_finite=False``) takes the limit of equal
    scores: 0 where the score equals the max, -inf elsewhere (``inf - inf`` would be
    NaN). Call it with overflow and invalid-value warnings off.
    """
    shifted = scores - row_max[:, np.newaxis]
    infinite = np.isinf(row_max)
    if infinite.any():
        rows = np.flatnonzero(infinite)
        shifted[rows] = np.where(scores[rows] == row_max[rows, np.newaxis], 0.0, -np.inf)
    return shifted


def _softmax_in_place(shifted: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Turn ``shifted`` (scores minus the row max) into the softmax probabilities.

    Also return ``log_sum_exp``. ``sum_c exp(shifted_c) = 1 + rest``, where the 1 is the
    max's own term. Adding the 1 first would round away a small ``rest``, so the terms
    equal to 1 are left out of the sum and ``log1p(rest)`` is taken: a confident row's
    loss stays exact to the last bit instead of rounding to 0.
    """
    exps = np.exp(shifted, out=shifted)  # reuse the buffer: shifted is not needed again
    rest = _sum_without_one_max_term(exps)
    log_sum_exp = np.log1p(rest)
    # One reciprocal per row (computed in rest's memory), then one multiply pass.
    probs = scale_rows(exps, np.reciprocal(np.add(rest, 1, out=rest), out=rest), out=exps)
    return probs, log_sum_exp


# Rows per block of _sum_without_one_max_term: about 64k entries (512 KB in float64).
_BLOCK_ENTRIES = 1 << 16


def _sum_without_one_max_term(exps: FloatArray) -> FloatArray:
    """Each row's ``sum_c exps_c - 1``, the 1 being the max's own term, never added.

    ``exps <= 1``, and ``floor(exps)`` is 1 exactly at the terms equal to 1 (the max, a
    tie, or a term that rounds to 1) and 0 elsewhere: ``exps - floor(exps)`` leaves them
    out of the sum, and a row with k of them gets k - 1 added back. It runs a block of
    rows at a time, so that its scratch space stays small (and in cache) for any N.
    """
    num_examples, num_classes = exps.shape
    rest = np.empty(num_examples, exps.dtype)
    block_rows = max(1, _BLOCK_ENTRIES // num_classes)
    scratch = np.empty((min(num_examples, block_rows), num_classes), exps.dtype)
    for start in range(0, num_examples, block_rows):
        block = exps[start : start + block_rows]
        block_rest = rest[start : start + block_rows]
        ones = np.floor(block, out=scratch[: len(block)])
        extra_ones = row_sums(ones) - 1 if ones.sum() > len(block) else None
        row_sums(np.subtract(block, ones, out=ones), out=block_rest)
        if extra_ones is not None:  # some row has several terms equal to 1
            block_rest += extra_ones
    return rest


def _label_targets(
    shifted: FloatArray, labels: IntArray, smoothing: float, class_weight: FloatArray | None
) -> tuple[_Targets, FloatArray]:
    """The targets of integer labels, never built densely, and ``sum_c a_ic shifted_ic``.

    ``a_ic = w_c ((1 - eps) [c = y_i] + eps / C)``, so ``A_i = (1 - eps) w_y + (eps / C) W``
    with ``W = sum_c w_c``; the exact column is the label's.
    """
    num_classes = shifted.shape[1]
    positions = label_positions(labels, num_classes)
    shifted_at_labels = shifted.take(positions)
    uniform = smoothing / num_classes  # eps / C
    if class_weight is None:
        if not smoothing:  # the default call: a_i = onehot(y_i)
            targets = _Targets(1.0, None, positions, shifted_at_labels, 0.0, 0)
            return targets, shifted_at_labels
        of_the_labels: float | FloatArray = 1.0
        weights = np.ones(num_classes, shifted.dtype)
        exponent = 0
    else:
        weights, exponent = power_of_two_scaled(class_weight)
        of_the_labels = weights[labels]
    total = weights.sum()
    mass = (1 - smoothing) * of_the_labels + uniform * total
    target_shifted = (1 - smoothing) * of_the_labels * shifted_at_labels
    if smoothing:
        # sum_c w_c (s_ic - max_i); `where` keeps a zero class weight from meeting a
        # -inf score (0 * -inf would be NaN; the term is 0).
        weighted = np.multiply(shifted, weights, out=np.zeros_like(shifted), where=weights != 0)
        target_shifted = target_shifted + uniform * row_sums(weighted)
    dense = uniform * weights if smoothing else None
    other_mass = uniform * (total - of_the_labels) if smoothing else 0.0
    targets = _Targets(mass, dense, positions, shifted_at_labels, other_mass, exponent)
    return targets, np.asarray(target_shifted, dtype=shifted.dtype)


def _probability_targets(
    shifted: FloatArray,
    probabilities: FloatArray,
    smoothing: float,
    class_weight: FloatArray | None,
) -> tuple[_Targets, FloatArray]:
    """The targets of probability rows, built densely, and ``sum_c a_ic shifted_ic``.

    ``a_ic = w_c ((1 - eps) t_ic + eps / C)``; the exact column is each row's largest
    score's, where ``p`` is near 1 in a confident row and ``A_i p - a_i`` would cancel.
    """
    num_classes = shifted.shape[1]
    dense = probabilities * (1 - smoothing) + smoothing / num_classes
    exponent = 0
    if class_weight is not None:
        weights, exponent = power_of_two_scaled(class_weight)
        dense *= weights
    mass = row_sums(dense)
    # sum_c a_ic (s_ic - max_i); `where` keeps a zero target from meeting a -inf score.
    target_shifted = row_sums(
        np.multiply(dense, shifted, out=np.zeros_like(shifted), where=dense != 0)
    )
    exact_columns = np.argmax(shifted, axis=1)  # a column where shifted is 0 (the max)
    positions = label_positions(exact_columns, num_classes)
    others = dense.copy()
    set_entries(others, positions, 0.0)
    targets = _Targets(mass, dense, positions, 0.0, row_sums(others), exponent)
    return targets, target_shifted


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
    r"""Forward pass of the softmax cross-entropy loss.

    .. math:: L_i = -\sum_c a_{ic} \log \mathrm{softmax}(s_i)_c

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
        See Notes for what "mean" divides by.
    weight : array_like, shape (C,), optional
        Non-negative per-class weights w, multiplied entry-wise into the target row.
    sample_weight : array_like, shape (N,), optional
        Non-negative per-example weights, multiplied into each example's loss.
    check_finite : bool, default True
        Reject NaN and +-inf in the scores. With False, the caller takes
        responsibility; a ``-inf`` score still gives a finite loss and a zero gradient
        for a non-target class with zero target mass.

    Returns
    -------
    loss : float or ndarray of shape (N,)
        The reduced loss, of the scores' dtype.
    cache : SoftmaxCrossEntropyCache
        The named stages (``probs``, ``log_probs``, ``losses``, ...).

    Notes
    -----
    Reductions follow PyTorch's ``cross_entropy``, extended by ``sample_weight`` (call
    it v, all ones when not given):

    - integer labels: "mean" is ``sum_i v_i L_i / sum_i v_i w[y_i]``, PyTorch's
      weighted mean. Without smoothing, ``L_i = w[y_i] (-log p[i, y_i])``. With
      smoothing, the uniform part is weighted by the class weights of every class,
      ``(eps / C) sum_c w_c (-log p_ic)``, exactly as PyTorch does.
    - probability targets: "mean" is ``sum_i v_i L_i / sum_i v_i`` (N when
      unweighted), also with class weights, as in PyTorch.

    The stable form subtracts each row's maximum before ``exp`` and evaluates
    ``log sum exp`` with ``log1p``, so rows separated by up to 1e300 give exact, finite
    losses.

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
    check_finite = as_flag(check_finite, "check_finite")
    scores = as_scores(scores, "scores", check_finite=check_finite)
    num_examples, num_classes = scores.shape
    dtype = scores.dtype
    smoothing = as_real_scalar(label_smoothing, "label_smoothing")
    if not 0 <= smoothing <= 1:
        raise ValueError(f"label_smoothing must be in [0, 1], got {smoothing!r}")
    reduction = check_reduction(reduction)
    # Labels or probabilities: asked once, here; the targets' own function answers.
    labels: IntArray | None = None
    target: IntArray | FloatArray
    if as_array(y, "y").ndim == 2:
        target = probabilities = as_probabilities(y, "y", shape=scores.shape, dtype=dtype)
        build_targets = partial(_probability_targets, probabilities=probabilities)
    else:
        target = labels = as_labels(y, "y", num_examples=num_examples, num_classes=num_classes)
        build_targets = partial(_label_targets, labels=labels)
    # PyTorch's weighted mean divides by the class weights of the labels, but for
    # probability targets by the number of examples alone: omega_i is
    # sample_weight[i] * weight[y_i] for labels, sample_weight[i] for probabilities.
    weighting = checked_weighting(
        dtype,
        reduction=reduction,
        num_examples=num_examples,
        sample_weight=sample_weight,
        weight=weight,
        num_classes=num_classes,
        y=labels,
        class_weights_in_losses=True,
    )

    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught on the loss
        row_max = row_maxima(scores)
        shifted = _shifted(scores, row_max)  # <= 0 everywhere, so exp cannot overflow
        # What the loss needs from `shifted` is read off before exp overwrites it.
        targets, target_shifted = build_targets(
            shifted, smoothing=smoothing, class_weight=weighting.weight
        )
        probs, log_sum_exp = _softmax_in_place(shifted)
        # L_i = sum_c a_ic (-log p_ic) = A_i log_sum_exp_i - sum_c a_ic (s_ic - max_i)
        scaled_losses = np.asarray(targets.mass * log_sum_exp - target_shifted, dtype=dtype)
        loss = reduce_losses(scaled_losses, reduction, weighting)
        losses = scaled_losses
        if targets.weight_exponent:
            losses = np.ldexp(scaled_losses, targets.weight_exponent)
    require_finite_result(
        loss,
        loss="softmax_cross_entropy",
        what="loss",
        inputs={"scores": scores, "weight": weighting.weight, "sample_weight": sample_weight},
    )
    cache = SoftmaxCrossEntropyCache(
        scores=scores,
        y=target,
        row_max=row_max,
        log_sum_exp=log_sum_exp,
        probs=probs,
        losses=losses,
        label_smoothing=smoothing,
        weight=weighting.weight,
        sample_weight=weighting.sample_weight,
        example_weight=weighting.example_weight,
        weighting=weighting,
        loss=loss,
        reduction=reduction,
        targets=targets,
    )
    return loss, cache


def softmax_cross_entropy_backward(
    cache: SoftmaxCrossEntropyCache, dloss: npt.ArrayLike = 1.0
) -> dict[str, FloatArray]:
    r"""Backward pass of the softmax cross-entropy loss.

    .. math:: \frac{\partial L_i}{\partial s_{ic}} = p_{ic} \sum_k a_{ik} - a_{ic}

    Parameters
    ----------
    cache : SoftmaxCrossEntropyCache
        From :func:`softmax_cross_entropy_forward`.
    dloss : float or array_like of shape (N,), default 1.0
        Upstream gradient of the loss; an (N,) array only with ``reduction="none"``.

    Returns
    -------
    grads : dict
        ``{"scores": dscores}``, shape (N, C), the scores' dtype.

    Notes
    -----
    For a label, the target entry ``p_iy - 1`` is computed as ``expm1(-nll_i)``: the
    same number, without the cancellation that makes ``p - 1`` round to 0 in a
    confident row.

    Examples
    --------
    >>> import numpy as np
    >>> loss, cache = softmax_cross_entropy_forward(np.zeros((1, 4)), [2])
    >>> softmax_cross_entropy_backward(cache)["scores"]  # p - onehot(y)
    array([[ 0.25,  0.25, -0.75,  0.25]])
    """
    return _softmax_cross_entropy_backward(cache, dloss)


def _softmax_cross_entropy_backward(
    cache: SoftmaxCrossEntropyCache, dloss: npt.ArrayLike, *, overwrite_cache: bool = False
) -> dict[str, FloatArray]:
    if not isinstance(cache, SoftmaxCrossEntropyCache):
        raise TypeError(
            "cache must be the cache returned by softmax_cross_entropy_forward, "
            f"got a {type(cache).__name__}"
        )
    probs = cache.probs
    targets = cache.targets
    num_examples = probs.shape[0]
    dlosses = loss_gradient(dloss, cache.reduction, cache.weighting, num_examples, probs.dtype)
    # The one-shot call owns the cache: its probs' memory can become dscores.
    out = probs if overwrite_cache else None
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught below
        row_scale = dlosses * targets.mass  # dloss/dL_i A_i
        # dL_i/ds_i = A_i p_i - a_i
        dscores = scale_rows(probs, row_scale, out=out)
        if targets.dense is not None:
            dscores -= scale_rows(np.broadcast_to(targets.dense, probs.shape), dlosses)
        # The exact column, A_i (p_ie - 1) + (A_i - a_ie), with p_ie - 1 taken as
        # expm1(shifted_ie - log_sum_exp_i): the same number, without the cancellation
        # that rounds p - 1 to 0 in a confident row.
        exact = row_scale * np.expm1(targets.exact_shifted - cache.log_sum_exp)
        if targets.dense is not None:
            exact = exact + dlosses * targets.other_mass
        set_entries(dscores, targets.exact_positions, exact)
    zero_dropped_rows(dscores, dlosses)
    require_finite_result(
        dscores,
        loss="softmax_cross_entropy",
        what="gradient",
        inputs={
            "scores": cache.scores,
            "weight": cache.weight,
            "sample_weight": cache.sample_weight,
            "dloss": dloss,
        },
    )
    return {"scores": dscores}


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

    Parameters
    ----------
    scores : array_like, shape (N, C)
        Logits; float32 stays float32, integers become float64, float16 float32.
    y : array_like, shape (N,) of int or (N, C) of float
        Labels in [0, C), or rows of target probabilities.
    label_smoothing : float in [0, 1], default 0.0
        PyTorch's label smoothing.
    reduction : {"mean", "sum", "none"}, default "mean"
    weight : array_like, shape (C,), optional
        Non-negative per-class weights.
    sample_weight : array_like, shape (N,), optional
        Non-negative per-example weights.
    check_finite : bool, default True
        Reject NaN and +-inf in the inputs.

    Returns
    -------
    loss : float or ndarray of shape (N,)
        The reduced loss, of the scores' dtype.
    grads : dict
        ``{"scores": dscores}``; with ``reduction="none"``, the gradient of the sum.

    Notes
    -----
    See :func:`softmax_cross_entropy_forward` for the weighting, the reductions and the
    numerics.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grads = softmax_cross_entropy(np.array([[0.0, -30.0]]), [0])
    >>> print(float(loss))  # log(1 + e**-30): exact, not rounded to 0
    9.357622968839737e-14
    """
    loss, cache = softmax_cross_entropy_forward(
        scores,
        y,
        label_smoothing=label_smoothing,
        reduction=reduction,
        weight=weight,
        sample_weight=sample_weight,
        check_finite=check_finite,
    )
    return loss, _softmax_cross_entropy_backward(cache, 1.0, overwrite_cache=True)
