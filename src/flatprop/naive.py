"""Loop ("naive") implementations of the four losses: one example, one class at a time.

They take the same arguments and return the same ``(loss, grads)`` as the one-shot
functions of :mod:`flatprop.losses`, and they are written to be read: each line is
one term of the formula. The test suite uses them as oracles for the vectorized
versions, which share none of their code except the input checks.

They compute each example's loss and gradient in float64 Python arithmetic, and
weigh and reduce them in exact rational arithmetic (:class:`fractions.Fraction`): a
weighted mean is exact (rounded once, at the end) for weights of any size, and an
example of weight 0 does not count, whatever its loss. A result that is not finite
although the inputs are raises ``FloatingPointError``, as the vectorized versions do.
They return the input's dtype. They are slow: use them on small inputs.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from flatprop._validation import (
    FloatArray,
    Reduction,
    as_array,
    as_flag,
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
Number = float | Fraction


def _weights_or_ones(
    weight: npt.ArrayLike | None,
    sample_weight: npt.ArrayLike | None,
    num_classes: int,
    num_examples: int,
    dtype: np.dtype,
) -> tuple[list[Fraction], list[Fraction]]:
    """``weight`` (C,) and ``sample_weight`` (N,), checked, as exact fractions (ones if None)."""
    w = [Fraction(1)] * num_classes
    if weight is not None:
        checked = as_weights(
            weight, "weight", length=num_classes, meaning="one weight per class", dtype=dtype
        )
        w = [Fraction(float(value)) for value in checked]
    v = [Fraction(1)] * num_examples
    if sample_weight is not None:
        checked = as_weights(
            sample_weight,
            "sample_weight",
            length=num_examples,
            meaning="one weight per example",
            dtype=dtype,
        )
        v = [Fraction(float(value)) for value in checked]
    return w, v


def _finite(values: list[Number]) -> bool:
    return all(isinstance(value, Fraction) or math.isfinite(value) for value in values)


def _reduce(
    losses: list[Number],
    grads: list[list[Number]],
    weights: list[Fraction],
    divisor_weights: list[Fraction],
    reduction: Reduction,
    like: FloatArray,
    inputs_finite: bool,
) -> tuple[np.floating | FloatArray, FloatArray]:
    """Weigh and reduce the per-example losses L_i and their gradient rows, exactly.

    "mean" is ``sum_i weights_i L_i / sum_i divisor_weights_i``, "sum" and "none" use
    ``weights_i L_i``; each gradient row is scaled alike. An example of weight 0 is
    left out (its loss and gradient row are 0).
    """
    num_examples = len(losses)
    if reduction == "mean":
        if num_examples == 0:
            raise ValueError("reduction='mean' needs at least one example, got an empty batch")
        total = sum(divisor_weights, Fraction(0))
        if total == 0:
            raise ValueError("reduction='mean' divides by the total weight, got all-zero weights")
        factors = [weight / total for weight in weights]
    else:
        factors = list(weights)
    counted = [i for i in range(num_examples) if factors[i] != 0]
    if not all(_finite([losses[i], *grads[i]]) for i in counted):
        if inputs_finite:
            raise FloatingPointError("the loss or its gradient overflowed float64")
        # infinite input (check_finite=False): float arithmetic, IEEE's infinities
        factors_float = [float(factor) for factor in factors]
        weighted: list[Number] = [
            factors_float[i] * float(losses[i]) if i in counted else 0.0
            for i in range(num_examples)
        ]
        scaled: list[list[Number]] = [
            [factors_float[i] * float(g) if i in counted else 0.0 for g in grads[i]]
            for i in range(num_examples)
        ]
        return _as_results(math.fsum(map(float, weighted)), weighted, scaled, reduction, like)
    weighted_losses: list[Number] = [Fraction(0)] * num_examples
    rows: list[list[Number]] = [[0.0] * len(row) for row in grads]
    for i in counted:
        weighted_losses[i] = factors[i] * Fraction(losses[i])
        rows[i] = [factors[i] * Fraction(g) for g in grads[i]]
    return _as_results(sum(weighted_losses, Fraction(0)), weighted_losses, rows, reduction, like)


def _as_results(
    loss: Number,
    losses: list[Number],
    rows: list[list[Number]],
    reduction: Reduction,
    like: FloatArray,
) -> tuple[np.floating | FloatArray, FloatArray]:
    """The loss (or per-example losses) and gradient as arrays of the input's dtype."""
    largest = float(np.finfo(like.dtype).max)
    try:
        entries = [[float(g) for g in row] for row in rows]
        values = [float(value) for value in losses] if reduction == "none" else [float(loss)]
    except OverflowError as error:  # a fraction beyond the largest float
        raise FloatingPointError(f"the loss or its gradient overflowed {like.dtype}") from error
    exact = [value for row in entries for value in row] + values
    if any(
        isinstance(value, float) and math.isfinite(value) and abs(value) > largest
        for value in exact
    ):
        raise FloatingPointError(f"the loss or its gradient overflowed {like.dtype}")
    gradient = np.array(entries, dtype=like.dtype).reshape(like.shape)
    if reduction == "none":
        return np.array(values, dtype=like.dtype), gradient
    return like.dtype.type(values[0]), gradient


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
    check_finite = as_flag(check_finite, "check_finite")
    s = as_scores(scores, "scores", check_finite=check_finite)
    num_examples, num_classes = s.shape
    labels = as_labels(y, "y", num_examples=num_examples, num_classes=num_classes)
    delta = as_real_scalar(margin, "margin")
    reduction = check_reduction(reduction)
    w, v = _weights_or_ones(weight, sample_weight, num_classes, num_examples, s.dtype)

    losses: list[Number] = []
    grads: list[list[Number]] = []
    omegas = []
    for i in range(num_examples):
        row = [float(value) for value in s[i]]
        correct = int(labels[i])
        omegas.append(v[i] * w[correct])  # example i's weight
        loss_i = 0.0
        dscores_i: list[Number] = [0.0] * num_classes
        for j in range(num_classes):
            if j == correct:
                continue
            m = row[j] - row[correct] + delta
            if m > 0:  # at the kink (m == 0) the subgradient is 0
                loss_i += m if power == 1 else m * m
                slope = 1.0 if power == 1 else 2 * m
                dscores_i[j] += slope
                dscores_i[correct] -= slope
        losses.append(loss_i)
        grads.append(dscores_i)
    finite = bool(np.isfinite(s).all())
    loss, dscores = _reduce(losses, grads, omegas, omegas, reduction, s, finite)
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
    check_finite = as_flag(check_finite, "check_finite")
    s = as_scores(scores, "scores", check_finite=check_finite)
    num_examples, num_classes = s.shape
    eps = as_real_scalar(label_smoothing, "label_smoothing")
    if not 0 <= eps <= 1:
        raise ValueError(f"label_smoothing must be in [0, 1], got {eps!r}")
    reduction = check_reduction(reduction)
    w, v = _weights_or_ones(weight, sample_weight, num_classes, num_examples, s.dtype)
    labels = None
    if as_array(y, "y").ndim == 2:
        target_rows = as_probabilities(y, "y", shape=s.shape, dtype=s.dtype).astype(np.float64)
    else:
        labels = as_labels(y, "y", num_examples=num_examples, num_classes=num_classes)
        target_rows = np.zeros((num_examples, num_classes))
        target_rows[np.arange(num_examples), labels] = 1.0
    smoothing = Fraction(eps)

    losses: list[Number] = []
    grads: list[list[Number]] = []
    divisor_weights = []
    for i in range(num_examples):
        row = [float(value) for value in s[i]]
        top = max(row)
        if math.isinf(top):  # check_finite=False: the limit of equal largest scores
            shifted = [0.0 if value == top else -math.inf for value in row]
        else:
            shifted = [value - top for value in row]
        # log p_c = shifted_c - log sum_k exp(shifted_k), and that sum is 1 plus the
        # other terms: log1p keeps a confident row's tiny loss from rounding to 0
        top_class = shifted.index(0.0)
        rest = math.fsum(math.exp(value) for c, value in enumerate(shifted) if c != top_class)
        log_p = [value - math.log1p(rest) for value in shifted]
        p = [math.exp(value) for value in log_p]
        a = [
            w[c] * ((1 - smoothing) * Fraction(target_rows[i, c]) + smoothing / num_classes)
            for c in range(num_classes)
        ]
        if any(a[c] != 0 and math.isinf(log_p[c]) for c in range(num_classes)):
            loss_i: Number = math.inf  # target mass on a class of probability 0
        else:
            terms = (a[c] * Fraction(log_p[c]) for c in range(num_classes) if a[c] != 0)
            loss_i = -sum(terms, Fraction(0))
        mass = sum(a, Fraction(0))
        losses.append(loss_i)  # the class weights are inside a, and so in loss_i
        grads.append([Fraction(p[c]) * mass - a[c] for c in range(num_classes)])
        # PyTorch's mean divides by the labels' class weights, but not for probabilities.
        divisor_weights.append(v[i] * (w[labels[i]] if labels is not None else 1))
    finite = bool(np.isfinite(s).all())
    loss, dscores = _reduce(losses, grads, v, divisor_weights, reduction, s, finite)
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
    check_finite = as_flag(check_finite, "check_finite")
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

    losses: list[Number] = []
    grads: list[list[Number]] = []
    for i in range(num_examples):
        diffs = [float(yhat[i, k]) - float(t[i, k]) for k in range(num_outputs)]
        if all(math.isfinite(d) for d in diffs):  # summed exactly: no intermediate overflow
            losses.append(sum((Fraction(d) ** 2 for d in diffs), Fraction(0)))
        else:  # a difference beyond the largest float, or infinite input
            losses.append(math.inf)
        grads.append([2 * d for d in diffs])
    finite = bool(np.isfinite(yhat).all() and np.isfinite(t).all())
    loss, dpred = _reduce(losses, grads, v, v, reduction, yhat, finite)
    return loss, {"pred": dpred}
