"""Weights and reductions shared by every loss layer.

Each loss first computes the (N,) vector of weighted per-example losses
``losses[i] = omega_i * L_i``; the reduction then turns it into the returned loss:

- ``"mean"``: ``sum_i omega_i L_i / divisor`` with ``divisor = sum_i omega_i``
  (N when unweighted),
- ``"sum"``: ``sum_i omega_i L_i``,
- ``"none"``: the vector itself.

Backward, :func:`loss_gradient_per_example` turns the upstream ``dloss`` into
``d loss / d losses[i]``, which each layer multiplies by ``omega_i`` and by its own
local gradient.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from flatprop._validation import FloatArray, IntArray, Reduction, as_float_array, as_weights


def example_weights(
    num_examples: int,
    dtype: np.dtype,
    *,
    sample_weight: npt.ArrayLike | None,
    class_weight: FloatArray | None = None,
    y: IntArray | None = None,
) -> FloatArray | None:
    """Return omega (N,) = ``sample_weight[i] * class_weight[y[i]]``, or None if both are None.

    None stands for omega_i = 1 and lets the unweighted case skip a multiplication.
    """
    weights = None
    if sample_weight is not None:
        weights = as_weights(
            sample_weight,
            "sample_weight",
            length=num_examples,
            meaning="one weight per example",
            dtype=dtype,
        )
    if class_weight is not None and y is not None:
        picked = class_weight[y]  # fancy indexing: a new array
        weights = picked if weights is None else weights * picked
    return weights


def mean_divisor(num_examples: int, weights: FloatArray | None, dtype: np.dtype) -> np.floating:
    """``sum_i omega_i`` (or N), refusing an empty batch and all-zero weights."""
    if num_examples == 0:
        raise ValueError(
            "reduction='mean' needs at least one example, got an empty batch (N = 0); "
            "use reduction='sum' (gives 0) or 'none' (gives shape (0,))"
        )
    if weights is None:
        return dtype.type(num_examples)
    total = weights.sum(dtype=dtype)
    if total == 0:
        raise ValueError(
            "reduction='mean' divides by the total weight of the batch, got all-zero weights "
            "(the weights of the batch's examples sum to 0)"
        )
    if total < 1 / np.finfo(dtype).max:  # subnormal: the gradient's 1 / total would overflow
        raise ValueError(
            "reduction='mean' divides by the total weight of the batch, got weights summing "
            f"to {total!r}, too small to divide by in {dtype}; scale them up (the mean "
            "does not change)"
        )
    return total


def reduce_losses(
    losses: FloatArray, reduction: Reduction, divisor: np.floating
) -> np.floating | FloatArray:
    """Apply ``reduction`` to the (N,) weighted per-example losses."""
    if reduction == "none":
        return losses
    total = losses.sum()
    return total / divisor if reduction == "mean" else total


def loss_gradient_per_example(
    dloss: npt.ArrayLike | float,
    reduction: Reduction,
    divisor: np.floating,
    num_examples: int,
    dtype: np.dtype,
) -> np.floating | FloatArray:
    """``d loss / d losses[i]``: a scalar (same for every example) or an (N,) array.

    ``dloss`` is the upstream gradient of the returned loss: a scalar for "mean" and
    "sum"; a scalar or an (N,) array for "none".
    """
    upstream: np.floating | FloatArray
    if isinstance(dloss, float) and math.isfinite(dloss):
        upstream = dtype.type(dloss)  # the common call (dloss=1.0) skips the array checks
    else:
        upstream = as_float_array(dloss, "dloss", dtype=dtype)
    if reduction == "none":
        if upstream.ndim != 0 and upstream.shape != (num_examples,):
            raise ValueError(
                f"dloss must be a scalar or have shape ({num_examples},) with reduction='none', "
                f"got shape {upstream.shape}"
            )
        return upstream
    if upstream.ndim != 0:
        raise ValueError(
            f"dloss must be a scalar with reduction={reduction!r} (the loss is a scalar), "
            f"got shape {upstream.shape}"
        )
    return upstream / divisor if reduction == "mean" else upstream


def row_coefficients(
    dlosses: np.floating | FloatArray, weights: FloatArray | None
) -> np.floating | FloatArray:
    """``d loss / d L_i = d loss / d losses[i] * omega_i``: a scalar or an (N,) array.

    It stays a scalar when every example has the same one (no weights, scalar
    ``dloss``), so that scaling the rows by it is one contiguous pass (see
    :func:`flatprop.losses._rows.scale_rows`).
    """
    return dlosses if weights is None else dlosses * weights
