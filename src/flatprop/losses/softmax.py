r"""Softmax cross-entropy, staged.

For scores :math:`s_i` (a row of the (N, C) score matrix),

.. math::

    p_{ic} = \frac{e^{s_{ic}}}{\sum_k e^{s_{ik}}}, \qquad
    L_i = -\sum_c a_{ic} \log p_{ic},

where the target row :math:`a_i` is the one-hot vector of the label :math:`y_i` (or a
given row of probabilities), smoothed to :math:`(1 - \varepsilon) a_i + \varepsilon / C`
and multiplied entry-wise by the class weights when they are given, as PyTorch's
``cross_entropy`` defines them.

Its gradient is :math:`\partial L_i / \partial s_{ic} = p_{ic} \sum_k a_{ik} - a_{ic}`,
which for a plain label is the familiar :math:`p_i - \mathrm{onehot}(y_i)`.

Stages: ``row_max``, ``shifted`` (scores minus the row max), ``log_sum_exp``,
``probs``, ``log_probs``, per-example ``losses``, ``loss``; backward: ``dlosses``,
``dscores``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flatprop._display import StagesDisplay
from flatprop._validation import (
    FloatArray,
    IntArray,
    Reduction,
    as_array,
    as_labels,
    as_probabilities,
    as_real_scalar,
    as_scores,
    check_reduction,
)
from flatprop.losses._reduction import (
    checked_weighting,
    loss_gradient_per_example,
    mean_divisor,
    reduce_losses,
    row_coefficients,
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
class SoftmaxCrossEntropyCache(StagesDisplay):
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
        ``log(sum_c exp(s_ic - row_max_i))``, in [0, log C].
    probs : ndarray, shape (N, C)
        The softmax probabilities.
    target_nll : ndarray, shape (N,), or None
        ``-log p[i, y_i]`` for integer labels; None for probability targets.
    targets : ndarray, shape (N, C), or None
        For probability targets, the smoothed and class-weighted target rows ``a_i``;
        None for integer labels (whose targets are never built densely).
    losses : ndarray, shape (N,)
        The weighted per-example losses (what ``reduction="none"`` returns).
    weight : ndarray, shape (C,), or None
        The per-class weights w, as given (checked); None when not given (all ones).
    sample_weight : ndarray, shape (N,), or None
        The per-example weights v, as given (checked); None when not given.
    example_weight : ndarray, shape (N,), or None
        ``omega_i = sample_weight[i] * weight[y[i]]`` for labels, ``sample_weight[i]``
        for probability targets: what the "mean" divides by the sum of; None when
        unweighted.
    label_smoothing : float
    loss : float or ndarray
        The returned loss.
    reduction : {"mean", "sum", "none"}
    divisor : float
        What "mean" divides by (see :func:`softmax_cross_entropy_forward`); 1 otherwise.
    """

    scores: FloatArray
    y: IntArray | FloatArray
    row_max: FloatArray
    log_sum_exp: FloatArray
    probs: FloatArray
    target_nll: FloatArray | None
    targets: FloatArray | None
    losses: FloatArray
    weight: FloatArray | None
    sample_weight: FloatArray | None
    example_weight: FloatArray | None
    label_smoothing: float
    loss: np.floating | FloatArray
    reduction: Reduction
    divisor: np.floating

    @property
    def log_probs(self) -> FloatArray:
        """``log p``, shape (N, C), computed on demand as ``(s - row_max) - log_sum_exp``."""
        shifted = self.scores - self.row_max[:, np.newaxis]
        shifted -= self.log_sum_exp[:, np.newaxis]
        return shifted


def _softmax_in_place(shifted: FloatArray, row_max: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Turn ``shifted`` (scores minus the row max) into the softmax probabilities.

    Also return ``log_sum_exp``. ``sum_c exp(shifted_c) = 1 + rest``, where the 1 is the
    max's own term. Adding the 1 first would round away a small ``rest``, so the terms
    equal to 1 are left out of the sum and ``log1p(rest)`` is taken: a confident row's
    loss stays exact to the last bit instead of rounding to 0.
    """
    exps = np.exp(shifted, out=shifted)  # reuse the buffer: shifted is not needed again
    if not np.isfinite(row_max).all():  # only with check_finite=False
        # At a +inf max, s - max is inf - inf = NaN: the max's own term is 1 all the same
        # (and a row that is all NaN or all -inf stays NaN, unless it has one column).
        rows = np.flatnonzero(~np.isfinite(row_max))
        exps[rows, np.isnan(exps[rows]).argmax(axis=1)] = 1
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
        summing to 1).
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
        Reject NaN and +-inf in the scores and targets. With False, the caller takes
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
    scores = as_scores(scores, "scores", check_finite=check_finite)
    num_examples, num_classes = scores.shape
    dtype = scores.dtype
    smoothing = as_real_scalar(label_smoothing, "label_smoothing")
    if not 0 <= smoothing <= 1:
        raise ValueError(f"label_smoothing must be in [0, 1], got {smoothing!r}")
    reduction = check_reduction(reduction)

    labels: IntArray | None = None
    probability_targets: FloatArray | None = None
    if as_array(y, "y").ndim == 2:
        probability_targets = as_probabilities(
            y, "y", shape=scores.shape, dtype=dtype, check_finite=check_finite
        )
    else:
        labels = as_labels(y, "y", num_examples=num_examples, num_classes=num_classes)
    # PyTorch's weighted mean divides by the class weights of the labels, but for
    # probability targets by the number of examples alone: omega_i is
    # sample_weight[i] * weight[y_i] for labels, sample_weight[i] for probabilities.
    weighting = checked_weighting(
        dtype,
        num_examples=num_examples,
        sample_weight=sample_weight,
        weight=weight,
        num_classes=num_classes,
        y=labels,
    )
    # w_c, the class weights, all ones when not given (they sit inside the target row).
    weight_or_ones = np.ones(num_classes, dtype) if weighting.weight is None else weighting.weight
    divisor = (
        mean_divisor(num_examples, weighting.example_weight, dtype)
        if reduction == "mean"
        else dtype.type(1)
    )

    row_max = row_maxima(scores)
    shifted = scores - row_max[:, np.newaxis]  # <= 0 everywhere, so exp cannot overflow
    # What the loss needs from `shifted` is read off before exp overwrites it.
    targets: FloatArray | None = None
    target_shifted: FloatArray
    if labels is not None:
        target_shifted = shifted.take(label_positions(labels, num_classes))
        if smoothing:
            # sum_c w_c (s_ic - max_i): one matrix-vector product, unless a class weight
            # is 0: then `where` keeps it from meeting a -inf score (0 * -inf would be
            # NaN; the term is 0).
            uniform_shifted: FloatArray
            if weight_or_ones.all():
                uniform_shifted = shifted @ weight_or_ones
            else:
                uniform_shifted = row_sums(
                    np.multiply(
                        shifted,
                        weight_or_ones,
                        out=np.zeros_like(shifted),
                        where=weight_or_ones != 0,
                    )
                )
    else:
        assert probability_targets is not None
        targets = probability_targets * (1 - smoothing) + smoothing / num_classes
        targets *= weight_or_ones
        # sum_c a_ic (s_ic - max_i); `where` keeps a zero target from meeting a -inf
        # score (0 * -inf would be NaN; the term is 0).
        weighted_shifted = np.multiply(
            targets, shifted, out=np.zeros_like(shifted), where=targets != 0
        )
        target_shifted = row_sums(weighted_shifted)

    probs, log_sum_exp = _softmax_in_place(shifted, row_max)

    target_nll: FloatArray | None = None
    if labels is not None:
        # -log p_iy = log_sum_exp_i - (s_iy - max_i)
        target_nll = log_sum_exp - target_shifted
        example_losses: FloatArray
        if weighting.weight is None and not smoothing:
            # L_i = -log p_iy; its own array, since a caller may modify the returned losses.
            example_losses = target_nll.copy()
        else:
            example_losses = (1 - smoothing) * weight_or_ones[labels] * target_nll
        if smoothing:
            # sum_c w_c (-log p_ic) = W log_sum_exp_i - sum_c w_c (s_ic - max_i)
            uniform_nll = weight_or_ones.sum() * log_sum_exp - uniform_shifted
            example_losses += smoothing / num_classes * uniform_nll
    else:
        assert targets is not None
        # sum_c a_ic (-log p_ic) = (sum_c a_ic) log_sum_exp_i - sum_c a_ic (s_ic - max_i)
        example_losses = row_sums(targets) * log_sum_exp - target_shifted
    example_losses = np.asarray(example_losses, dtype=dtype)
    losses = example_losses
    if weighting.sample_weight is not None:  # v_i L_i: the class weights are inside L_i
        losses = example_losses * weighting.sample_weight
    loss = reduce_losses(losses, reduction, divisor)

    cache = SoftmaxCrossEntropyCache(
        scores=scores,
        y=labels if labels is not None else probability_targets,  # type: ignore[arg-type]
        row_max=row_max,
        log_sum_exp=log_sum_exp,
        probs=probs,
        target_nll=target_nll,
        targets=targets,
        losses=losses,
        weight=weighting.weight,
        sample_weight=weighting.sample_weight,
        example_weight=weighting.example_weight,
        label_smoothing=smoothing,
        loss=loss,
        reduction=reduction,
        divisor=divisor,
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
    num_examples, num_classes = probs.shape
    dlosses = loss_gradient_per_example(
        dloss, cache.reduction, cache.divisor, num_examples, probs.dtype
    )
    coefficients = row_coefficients(dlosses, cache.sample_weight)  # dloss/dL_i: scalar or (N,)
    # The one-shot call owns the cache: its probs' memory can become dscores.
    out = probs if overwrite_cache else None

    if cache.targets is not None:
        # dL_i/ds_i = p_i * sum_k a_ik - a_i
        targets = cache.targets
        dscores = scale_rows(probs, row_sums(targets), out=out)
        dscores -= targets
        scale_rows(dscores, coefficients, out=dscores)
        return {"scores": dscores}

    # Integer labels: a_ic = w_c ((1 - eps) [c = y_i] + eps / C), never built densely.
    labels: IntArray = cache.y  # type: ignore[assignment]  # integers when targets is None
    assert cache.target_nll is not None
    weight_or_ones = np.ones(num_classes, probs.dtype) if cache.weight is None else cache.weight
    uniform = cache.label_smoothing / num_classes  # eps / C
    # Equal class weights (the unweighted case) give every row the same w_{y_i}: a
    # scalar keeps the row scaling below one contiguous pass.
    if weight_or_ones.min() == weight_or_ones.max():
        label_weight = weight_or_ones[0]
    else:
        label_weight = weight_or_ones[labels]  # w_{y_i}
    total_weight = weight_or_ones.sum()  # W
    target_mass = (1 - cache.label_smoothing) * label_weight + uniform * total_weight
    row_scale = coefficients * target_mass  # dloss/dL_i A_i
    dscores = scale_rows(probs, row_scale, out=out)  # A_i p_ic
    if uniform:
        dscores -= np.outer(coefficients * uniform, weight_or_ones)  # - (eps / C) w_c
    # The target column, A_i (p_iy - 1) + (eps / C)(W - w_y), with p_iy - 1 taken as
    # expm1(-nll_i): the same number, without the cancellation that rounds p - 1 to 0
    # in a confident row.
    target_entries = row_scale * np.expm1(-cache.target_nll)
    if uniform:
        target_entries += coefficients * uniform * (total_weight - label_weight)
    set_entries(dscores, label_positions(labels, num_classes), target_entries)
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
