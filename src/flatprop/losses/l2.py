r"""The L2 (sum of squares) loss, staged.

.. math:: L_i = \lVert \hat y_i - t_i \rVert_2^2 = \sum_k (\hat y_{ik} - t_{ik})^2,
    \qquad \frac{\partial L_i}{\partial \hat y_i} = 2 (\hat y_i - t_i)

With no target (t = 0) this is the seed's matrix example, :math:`L = \lVert \hat y \rVert^2`.
Stages: ``diff``, per-example ``losses``, ``loss``; backward: ``dlosses``, ``dpred``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flatprop._validation import (
    FloatArray,
    Reduction,
    as_float_array,
    check_reduction,
)
from flatprop.losses._reduction import (
    example_weights,
    loss_gradient_per_example,
    mean_divisor,
    reduce_losses,
    row_coefficients,
)

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
        The weighted per-example losses ``omega_i * L_i`` (what ``reduction="none"`` returns).
    weights : ndarray, shape (N,), or None
        The per-example weights; None when unweighted.
    loss : float or ndarray
    reduction : {"mean", "sum", "none"}
    divisor : float
        What "mean" divides by: the total weight (N when unweighted); 1 otherwise.
    """

    pred: FloatArray
    target: FloatArray | None
    diff: FloatArray
    losses: FloatArray
    weights: FloatArray | None
    loss: np.floating | FloatArray
    reduction: Reduction
    divisor: np.floating


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
        Predictions; float32 stays float32, integers become float64.
    target : array_like, shape (N, K), optional
        Targets; None means zeros, so that ``L_i = ||pred_i||^2``.
    reduction : {"mean", "sum", "none"}, default "mean"
        "mean" is ``sum_i omega_i L_i / sum_i omega_i``: an average over examples of the
        squared norm, *not* over all N K entries.
    sample_weight : array_like, shape (N,), optional
        Non-negative per-example weights omega_i.
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
    pred = as_float_array(pred, "pred", ndim=2, check_finite=check_finite)
    num_examples = pred.shape[0]
    reduction = check_reduction(reduction)
    target_array = None
    if target is not None:
        target_array = as_float_array(target, "target", dtype=pred.dtype, check_finite=check_finite)
        if target_array.shape != pred.shape:
            raise ValueError(
                f"target must have the shape of pred {pred.shape}, got shape {target_array.shape}"
            )
    weights = example_weights(num_examples, pred.dtype, sample_weight=sample_weight)
    divisor = (
        mean_divisor(num_examples, weights, pred.dtype)
        if reduction == "mean"
        else pred.dtype.type(1)
    )

    diff = pred if target_array is None else pred - target_array
    example_losses = np.einsum("ij,ij->i", diff, diff)  # row-wise sum of squares
    losses = example_losses if weights is None else example_losses * weights
    loss = reduce_losses(losses, reduction, divisor)
    cache = L2Cache(
        pred=pred,
        target=target_array,
        diff=diff,
        losses=losses,
        weights=weights,
        loss=loss,
        reduction=reduction,
        divisor=divisor,
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
    if not isinstance(cache, L2Cache):
        raise TypeError(
            f"cache must be the cache returned by l2_forward, got a {type(cache).__name__}"
        )
    diff = cache.diff
    num_examples = diff.shape[0]
    dlosses = loss_gradient_per_example(
        dloss, cache.reduction, cache.divisor, num_examples, diff.dtype
    )
    coefficients = row_coefficients(dlosses, cache.weights, num_examples)
    dpred = diff * (2 * coefficients)[:, np.newaxis]  # a new array, even when diff is pred
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
    return loss, l2_backward(cache)
