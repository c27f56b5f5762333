r"""Multiclass hinge losses: the Weston--Watkins SVM loss and its squared variant.

For scores :math:`s_i` (a row of the (N, C) score matrix) and label :math:`y_i`,

.. math::

    m_{ij} = \max(0,\, s_{ij} - s_{iy_i} + \Delta) \quad (j \neq y_i), \qquad m_{iy_i} = 0,

    L_i = \sum_j m_{ij} \;\text{(multiclass SVM)}, \qquad
    L_i = \sum_j m_{ij}^2 \;\text{(squared hinge)}.

The forward pass is staged exactly as the math names it: ``correct_scores``,
``margins``, per-example ``losses``, ``loss``. The backward pass walks the same
stages in reverse: ``dlosses``, ``dmargins``, ``dscores``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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
from flatprop.losses._reduction import (
    Weighting,
    checked_weighting,
    loss_gradient,
    reduce_losses,
    require_finite_result,
    zero_dropped_rows,
)
from flatprop.losses._rows import label_positions, row_sums, scale_rows, set_entries

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
class HingeCache:
    """The stages of a hinge-loss forward pass, kept for the backward pass.

    Attributes
    ----------
    scores : ndarray, shape (N, C)
        The input scores (not copied: do not modify them before the backward pass).
    y : ndarray of int, shape (N,)
        The labels.
    margins : ndarray, shape (N, C)
        ``max(0, s_j - s_y + margin)`` for ``j != y``, and 0 in each row's target column.
    losses : ndarray, shape (N,)
        The per-example losses L_i, before weighting.
    margin : float
        The margin Delta.
    weight : ndarray, shape (C,), or None
        The per-class weights, as given (checked); None when not given.
    sample_weight : ndarray, shape (N,), or None
        The per-example weights, as given (checked); None when not given.
    example_weight : ndarray, shape (N,), or None
        ``omega_i = sample_weight[i] * weight[y[i]]``, example i's weight in ``losses``
        and in the "mean"; None when neither is given (all ones).
    weighting : Weighting
        The weights as the reduction uses them (scaled by powers of two).
    loss : float or ndarray
        The returned loss.
    reduction : {"mean", "sum", "none"}
    squared : bool
        True for the squared hinge.
    """

    scores: FloatArray
    y: IntArray
    margins: FloatArray
    losses: FloatArray
    margin: float
    weight: FloatArray | None
    sample_weight: FloatArray | None
    example_weight: FloatArray | None
    weighting: Weighting
    loss: np.floating | FloatArray
    reduction: Reduction
    squared: bool


def _hinge_forward(
    scores: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    squared: bool,
    margin: float,
    reduction: Reduction,
    weight: npt.ArrayLike | None,
    sample_weight: npt.ArrayLike | None,
    check_finite: bool,
) -> tuple[np.floating | FloatArray, HingeCache]:
    check_finite = as_flag(check_finite, "check_finite")
    scores = as_scores(scores, "scores", check_finite=check_finite)
    num_examples, num_classes = scores.shape
    labels = as_labels(y, "y", num_examples=num_examples, num_classes=num_classes)
    margin = as_real_scalar(margin, "margin")
    reduction = check_reduction(reduction)
    weighting = checked_weighting(
        scores.dtype,
        reduction=reduction,
        num_examples=num_examples,
        sample_weight=sample_weight,
        weight=weight,
        num_classes=num_classes,
        y=labels,
    )

    # Where s_{i y_i} sits in the flattened scores: one 1-D gather/scatter per pass.
    target_positions = label_positions(labels, num_classes)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught on the loss
        correct_scores = scores.take(target_positions)  # s_{y_i}, shape (N,)
        margins = scores - correct_scores[:, np.newaxis]  # a new array: scores stay untouched
        margins += margin
        np.maximum(margins, 0.0, out=margins)
        set_entries(margins, target_positions, 0)  # the sum runs over j != y_i only
        losses = (
            np.einsum("ij,ij->i", margins, margins)  # row-wise sum of squares, no temporary
            if squared
            else row_sums(margins)
        )
        loss = reduce_losses(losses, reduction, weighting)
    require_finite_result(
        loss,
        loss="squared_hinge" if squared else "multiclass_svm",
        what="loss",
        inputs={"scores": scores, "margin": margin, **_weights(weighting)},
    )
    cache = HingeCache(
        scores=scores,
        y=labels,
        margins=margins,
        losses=losses,
        margin=margin,
        weight=weighting.weight,
        sample_weight=weighting.sample_weight,
        example_weight=weighting.example_weight,
        weighting=weighting,
        loss=loss,
        reduction=reduction,
        squared=squared,
    )
    return loss, cache


def _weights(weighting: Weighting) -> dict[str, FloatArray | None]:
    return {"weight": weighting.weight, "sample_weight": weighting.sample_weight}


def _hinge_backward(
    cache: HingeCache, dloss: npt.ArrayLike, *, squared: bool, overwrite_cache: bool = False
) -> dict[str, FloatArray]:
    if not isinstance(cache, HingeCache) or cache.squared != squared:
        expected = "squared_hinge_forward" if squared else "multiclass_svm_forward"
        given = type(cache).__name__
        if isinstance(cache, HingeCache):
            given += " from " + (
                "squared_hinge_forward" if cache.squared else "multiclass_svm_forward"
            )
        raise TypeError(f"cache must be the cache returned by {expected}, got a {given}")
    margins = cache.margins
    num_examples, num_classes = margins.shape
    dlosses = loss_gradient(dloss, cache.reduction, cache.weighting, num_examples, margins.dtype)

    # The one-shot call owns the cache: its margins' memory can become dscores.
    out = margins if overwrite_cache else np.empty_like(margins)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught below
        # dL_i/dm_ij is 1 for an active margin (m_ij > 0) and 0 at or below the kink,
        # or 2 m_ij for the squared hinge (which is 0 at the kink anyway).
        if squared:
            dmargins = scale_rows(margins, 2 * dlosses, out=out)
        else:
            # margins > 0 written straight into the float buffer (as 1.0 or 0.0), then scaled.
            dmargins = scale_rows(np.greater(margins, 0, out=out), dlosses, out=out)

        # m_ij = s_ij - s_iy + margin: s_ij gets dmargins[i, j], and s_iy gets minus
        # the whole row's sum (dmargins[i, y_i] is 0, since m_iy is held at 0; 0 - sum
        # rather than -sum, so that a row without active margins gets 0, not -0).
        dscores = dmargins
        set_entries(dscores, label_positions(cache.y, num_classes), 0.0 - row_sums(dmargins))
    zero_dropped_rows(dscores, dlosses)
    require_finite_result(
        dscores,
        loss="squared_hinge" if squared else "multiclass_svm",
        what="gradient",
        inputs={
            "scores": cache.scores,
            "margin": cache.margin,
            "dloss": dloss,
            **_weights(cache.weighting),
        },
    )
    return {"scores": dscores}


_OPTIONS_DOC = """
    margin : float, default 1.0
        The margin Delta that the correct class must beat every other class by.
    reduction : {"mean", "sum", "none"}, default "mean"
        "mean" is ``sum_i omega_i L_i / sum_i omega_i``, "sum" is ``sum_i omega_i L_i``,
        "none" returns the (N,) vector ``omega_i L_i``.
    weight : array_like, shape (C,), optional
        Non-negative per-class weights; example i is weighted by ``weight[y[i]]``.
    sample_weight : array_like, shape (N,), optional
        Non-negative per-example weights. Example i's weight is
        ``omega_i = sample_weight[i] * weight[y[i]]`` (1 for what is not given).
    check_finite : bool, default True
        Reject NaN and +-inf in the scores (with False, the caller takes responsibility)."""


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
    r"""Forward pass of the multiclass SVM (Weston--Watkins hinge) loss.

    .. math:: L_i = \sum_{j \neq y_i} \max(0,\, s_{ij} - s_{iy_i} + \Delta)

    Parameters
    ----------
    scores : array_like, shape (N, C)
        Class scores; float32 stays float32, integers become float64, float16 float32.
    y : array_like of int, shape (N,)
        Labels in [0, C).
    {options}

    Returns
    -------
    loss : float or ndarray of shape (N,)
        The reduced loss, of the scores' dtype.
    cache : HingeCache
        The named stages (``margins``, ``losses``, ...) for :func:`multiclass_svm_backward`.

    Notes
    -----
    The loss is the one of the CS231n notes and of Weston & Watkins (1999). PyTorch's
    ``multi_margin_loss`` divides each L_i by C: this loss with ``reduction="sum"`` is
    C times PyTorch's. With class weights, PyTorch's "mean" divides by N; this one
    divides by the total weight.

    Examples
    --------
    The scores of the CS231n slide (rows are examples: cat, car, frog images):

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
    return _hinge_forward(
        scores,
        y,
        squared=False,
        margin=margin,
        reduction=reduction,
        weight=weight,
        sample_weight=sample_weight,
        check_finite=check_finite,
    )


def multiclass_svm_backward(cache: HingeCache, dloss: npt.ArrayLike = 1.0) -> dict[str, FloatArray]:
    """Backward pass of the multiclass SVM loss.

    Parameters
    ----------
    cache : HingeCache
        From :func:`multiclass_svm_forward`.
    dloss : float or array_like of shape (N,), default 1.0
        Upstream gradient of the loss; an (N,) array only with ``reduction="none"``.

    Returns
    -------
    grads : dict
        ``{"scores": dscores}``, shape (N, C), the scores' dtype.

    Notes
    -----
    At a kink (a margin exactly 0) the subgradient 0 is used, as in PyTorch.

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
    return _hinge_backward(cache, dloss, squared=False)


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

    Parameters
    ----------
    scores : array_like, shape (N, C)
        Class scores; float32 stays float32, integers become float64, float16 float32.
    y : array_like of int, shape (N,)
        Labels in [0, C).
    {options}

    Returns
    -------
    loss : float or ndarray of shape (N,)
        The reduced loss, of the scores' dtype.
    grads : dict
        ``{"scores": dscores}``; with ``reduction="none"``, the gradient of the sum.

    Notes
    -----
    The subgradient at a kink (a margin exactly 0) is 0, as in PyTorch.
    See :func:`multiclass_svm_forward` for the stages and the relation to PyTorch.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    >>> loss, grads = multiclass_svm(scores, [0, 1, 2])
    >>> print(round(float(loss), 10))  # (2.9 + 0 + 12.9) / 3
    5.2666666667
    """
    loss, cache = multiclass_svm_forward(
        scores,
        y,
        margin=margin,
        reduction=reduction,
        weight=weight,
        sample_weight=sample_weight,
        check_finite=check_finite,
    )
    return loss, _hinge_backward(cache, 1.0, squared=False, overwrite_cache=True)


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
    r"""Forward pass of the squared multiclass hinge loss.

    .. math:: L_i = \sum_{j \neq y_i} \max(0,\, s_{ij} - s_{iy_i} + \Delta)^2

    Parameters
    ----------
    scores : array_like, shape (N, C)
        Class scores; float32 stays float32, integers become float64, float16 float32.
    y : array_like of int, shape (N,)
        Labels in [0, C).
    {options}

    Returns
    -------
    loss : float or ndarray of shape (N,)
        The reduced loss, of the scores' dtype.
    cache : HingeCache
        The named stages for :func:`squared_hinge_backward`; ``margins`` holds the
        hinge terms before squaring.

    Notes
    -----
    This is C times PyTorch's ``multi_margin_loss(p=2)`` with ``reduction="sum"``.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    >>> loss, cache = squared_hinge_forward(scores, [0, 1, 2], reduction="none")
    >>> print(np.round(loss, 10))  # 2.9**2, 0, 6.3**2 + 6.6**2
    [ 8.41  0.   83.25]
    """
    return _hinge_forward(
        scores,
        y,
        squared=True,
        margin=margin,
        reduction=reduction,
        weight=weight,
        sample_weight=sample_weight,
        check_finite=check_finite,
    )


def squared_hinge_backward(cache: HingeCache, dloss: npt.ArrayLike = 1.0) -> dict[str, FloatArray]:
    """Backward pass of the squared multiclass hinge loss.

    Parameters
    ----------
    cache : HingeCache
        From :func:`squared_hinge_forward`.
    dloss : float or array_like of shape (N,), default 1.0
        Upstream gradient of the loss; an (N,) array only with ``reduction="none"``.

    Returns
    -------
    grads : dict
        ``{"scores": dscores}``, shape (N, C), the scores' dtype.

    Notes
    -----
    The squared hinge is differentiable everywhere; at a margin of exactly 0 its
    gradient is 0.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[3.2, 5.1, -1.7]])
    >>> loss, cache = squared_hinge_forward(scores, [0])
    >>> print(np.round(squared_hinge_backward(cache)["scores"], 10))  # 2 * 2.9
    [[-5.8  5.8  0. ]]
    """
    return _hinge_backward(cache, dloss, squared=True)


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

    Parameters
    ----------
    scores : array_like, shape (N, C)
        Class scores; float32 stays float32, integers become float64, float16 float32.
    y : array_like of int, shape (N,)
        Labels in [0, C).
    {options}

    Returns
    -------
    loss : float or ndarray of shape (N,)
        The reduced loss, of the scores' dtype.
    grads : dict
        ``{"scores": dscores}``; with ``reduction="none"``, the gradient of the sum.

    Examples
    --------
    >>> import numpy as np
    >>> loss, grads = squared_hinge(np.zeros((2, 4)), [0, 3])  # every margin is 1
    >>> print(float(loss))
    3.0
    """
    loss, cache = squared_hinge_forward(
        scores,
        y,
        margin=margin,
        reduction=reduction,
        weight=weight,
        sample_weight=sample_weight,
        check_finite=check_finite,
    )
    return loss, _hinge_backward(cache, 1.0, squared=True, overwrite_cache=True)


for _function in (
    multiclass_svm,
    multiclass_svm_forward,
    squared_hinge,
    squared_hinge_forward,
):
    _function.__doc__ = (_function.__doc__ or "").replace("    {options}", _OPTIONS_DOC.strip("\n"))
