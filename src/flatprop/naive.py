"""Loop ("naive") implementations of the four losses: one example, one class at a time.

They take the same arguments and return the same ``(loss, grads)`` as the one-shot
functions of :mod:`flatprop.losses`, and they are written to be read: each line is
one term of the formula. The test suite uses them as oracles for the vectorized
versions, which share none of their code except the input checks.

They compute in float64 Python arithmetic and return the input's dtype. They are
slow: use them on small inputs.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from flatprop._validation import (
    FloatArray,
    Reduction,
    as_array,
    as_float_array,
    as_labels,
    as_probabilities,
    as_real_scalar,
    as_scores,
    as_weights,
    check_reduction,
)

__all__ = ["l2", "multiclass_svm", "softmax_cross_entropy", "squared_hinge"]

LossAndGrads = tuple[np.floating | FloatArray, dict[str, FloatArray]]


def _weights_or_ones(
    weight: npt.ArrayLike | None,
    sample_weight: npt.ArrayLike | None,
    num_classes: int,
    num_examples: int,
    dtype: np.dtype,
) -> tuple[FloatArray, FloatArray]:
    """``weight`` (C,) and ``sample_weight`` (N,) as float64, checked; ones when not given."""
    w = (
        np.ones(num_classes)
        if weight is None
        else as_weights(
            weight, "weight", length=num_classes, meaning="one weight per class", dtype=dtype
        ).astype(np.float64)
    )
    v = (
        np.ones(num_examples)
        if sample_weight is None
        else as_weights(
            sample_weight,
            "sample_weight",
            length=num_examples,
            meaning="one weight per example",
            dtype=dtype,
        ).astype(np.float64)
    )
    return w, v


def _reduce(
    losses: list[float],
    grads: list[list[float]],
    divisor: float,
    reduction: Reduction,
    like: FloatArray,
) -> tuple[np.floating | FloatArray, FloatArray]:
    """Reduce per-example (already weighted) losses and their gradient rows, in a loop."""
    if reduction == "mean":
        if not losses:
            raise ValueError("reduction='mean' needs at least one example, got an empty batch")
        if divisor == 0:
            raise ValueError("reduction='mean' divides by the total weight, got all-zero weights")
        loss = math.fsum(losses) / divisor
        grads = [[value / divisor for value in row] for row in grads]
    else:
        loss = math.fsum(losses)
    gradient = np.array(grads, dtype=like.dtype).reshape(like.shape)
    if reduction == "none":
        return np.array(losses, dtype=like.dtype), gradient
    return like.dtype.type(loss), gradient


def _hinge(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    power: int,
    margin: float,
    reduction: Reduction,
    weight: npt.ArrayLike | None,
    sample_weight: npt.ArrayLike | None,
    check_finite: bool,
) -> LossAndGrads:
    s = as_scores(scores, "scores", check_finite=check_finite)
    num_examples, num_classes = s.shape
    labels = as_labels(y, "y", num_examples=num_examples, num_classes=num_classes)
    delta = as_real_scalar(margin, "margin")
    reduction = check_reduction(reduction)
    w, v = _weights_or_ones(weight, sample_weight, num_classes, num_examples, s.dtype)

    losses, grads, total_weight = [], [], 0.0
    for i in range(num_examples):
        row = [float(value) for value in s[i]]
        correct = int(labels[i])
        omega = float(v[i] * w[correct])  # example i's weight
        loss_i = 0.0
        dscores_i = [0.0] * num_classes
        for j in range(num_classes):
            if j == correct:
                continue
            m = row[j] - row[correct] + delta
            if m > 0:  # at the kink (m == 0) the subgradient is 0
                loss_i += m**power
                slope = power * m ** (power - 1)
                dscores_i[j] += omega * slope
                dscores_i[correct] -= omega * slope
        losses.append(omega * loss_i)
        grads.append(dscores_i)
        total_weight += omega
    loss, dscores = _reduce(losses, grads, total_weight, reduction, s)
    return loss, {"scores": dscores}


def multiclass_svm(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    margin: float = 1.0,
    reduction: Reduction = "mean",
    weight: npt.ArrayLike | None = None,
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> LossAndGrads:
    """Loop version of :func:`flatprop.losses.multiclass_svm`.

    Examples
    --------
    >>> loss, grads = multiclass_svm([[3.2, 5.1, -1.7]], [0])
    >>> print(round(float(loss), 10))
    2.9
    """
    return _hinge(
        scores,
        y,
        power=1,
        margin=margin,
        reduction=reduction,
        weight=weight,
        sample_weight=sample_weight,
        check_finite=check_finite,
    )


def squared_hinge(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    margin: float = 1.0,
    reduction: Reduction = "mean",
    weight: npt.ArrayLike | None = None,
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> LossAndGrads:
    """Loop version of :func:`flatprop.losses.squared_hinge`.

    Examples
    --------
    >>> loss, grads = squared_hinge([[3.2, 5.1, -1.7]], [0])
    >>> print(round(float(loss), 10))
    8.41
    """
    return _hinge(
        scores,
        y,
        power=2,
        margin=margin,
        reduction=reduction,
        weight=weight,
        sample_weight=sample_weight,
        check_finite=check_finite,
    )


def softmax_cross_entropy(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    weight: npt.ArrayLike | None = None,
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> LossAndGrads:
    """Loop version of :func:`flatprop.losses.softmax_cross_entropy`.

    The target row is built densely, ``a_ic = w_c ((1 - eps) t_ic + eps / C)``, and the
    loss is ``-sum_c a_ic log p_ic``, with the gradient ``p_ic sum_k a_ik - a_ic``.

    Examples
    --------
    >>> loss, grads = softmax_cross_entropy([[0.0, 0.0]], [1])
    >>> print(round(float(loss), 12))  # log 2
    0.69314718056
    """
    s = as_scores(scores, "scores", check_finite=check_finite)
    num_examples, num_classes = s.shape
    eps = as_real_scalar(label_smoothing, "label_smoothing")
    if not 0 <= eps <= 1:
        raise ValueError(f"label_smoothing must be in [0, 1], got {eps!r}")
    reduction = check_reduction(reduction)
    w, v = _weights_or_ones(weight, sample_weight, num_classes, num_examples, s.dtype)
    labels = None
    if as_array(y, "y").ndim == 2:
        target_rows = as_probabilities(
            y, "y", shape=s.shape, dtype=s.dtype, check_finite=check_finite
        ).astype(np.float64)
    else:
        labels = as_labels(y, "y", num_examples=num_examples, num_classes=num_classes)
        target_rows = np.zeros((num_examples, num_classes))
        target_rows[np.arange(num_examples), labels] = 1.0

    losses, grads, total_weight = [], [], 0.0
    for i in range(num_examples):
        row = [float(value) for value in s[i]]
        # log p_c = (s_c - top) - log sum_k exp(s_k - top), and that sum is 1 plus the
        # other terms: log1p keeps a confident row's tiny loss from rounding to 0
        top_class = row.index(max(row))
        top = row[top_class]
        rest = math.fsum(math.exp(value - top) for c, value in enumerate(row) if c != top_class)
        log_p = [(value - top) - math.log1p(rest) for value in row]
        p = [math.exp(value) for value in log_p]
        a = [w[c] * ((1 - eps) * target_rows[i, c] + eps / num_classes) for c in range(num_classes)]
        loss_i = -math.fsum(a[c] * log_p[c] for c in range(num_classes) if a[c] != 0)
        mass = math.fsum(a)
        losses.append(v[i] * loss_i)  # the class weights are inside a, and so in loss_i
        grads.append([v[i] * (p[c] * mass - a[c]) for c in range(num_classes)])
        # PyTorch's mean divides by the labels' class weights, but not for probabilities.
        omega = v[i] * (w[labels[i]] if labels is not None else 1.0)  # example i's weight
        total_weight += omega
    loss, dscores = _reduce(losses, grads, total_weight, reduction, s)
    return loss, {"scores": dscores}


def l2(
    pred: npt.ArrayLike,
    target: npt.ArrayLike | None = None,
    *,
    reduction: Reduction = "mean",
    sample_weight: npt.ArrayLike | None = None,
    check_finite: bool = True,
) -> LossAndGrads:
    """Loop version of :func:`flatprop.losses.l2`.

    Examples
    --------
    >>> loss, grads = l2([[3.0, 4.0]])
    >>> print(float(loss))
    25.0
    """
    yhat = as_float_array(pred, "pred", ndim=2, check_finite=check_finite)
    num_examples, num_outputs = yhat.shape
    reduction = check_reduction(reduction)
    t: FloatArray = np.zeros(yhat.shape)
    if target is not None:
        t = as_float_array(target, "target", dtype=yhat.dtype, check_finite=check_finite)
        if t.shape != yhat.shape:
            raise ValueError(
                f"target must have the shape of pred {yhat.shape}, got shape {t.shape}"
            )
    _, v = _weights_or_ones(None, sample_weight, 0, num_examples, yhat.dtype)

    losses, grads, total_weight = [], [], 0.0
    for i in range(num_examples):
        omega = float(v[i])  # example i's weight: l2 has no class weights
        diffs = [float(yhat[i, k]) - float(t[i, k]) for k in range(num_outputs)]
        losses.append(omega * math.fsum(d * d for d in diffs))
        grads.append([omega * 2 * d for d in diffs])
        total_weight += omega
    loss, dpred = _reduce(losses, grads, total_weight, reduction, yhat)
    return loss, {"pred": dpred}
