"""Weights and reductions shared by every loss layer.

The weights of a call are ``weight`` (C,), per class, and ``sample_weight`` (N,), per
example; example i's weight is their product,

    omega_i = example_weight[i] = sample_weight[i] * weight[y[i]],

a factor left out where it is not given (L2 has no ``weight``; probability targets no
``y``). Each loss first computes the (N,) vector of weighted per-example losses
``losses[i] = omega_i * L_i``; the reduction then turns it into the returned loss:

- ``"mean"``: ``sum_i omega_i L_i / divisor`` with ``divisor = sum_i omega_i``
  (N when unweighted),
- ``"sum"``: ``sum_i omega_i L_i``,
- ``"none"``: the vector itself.

(The softmax cross-entropy puts the class weights inside its target row, as PyTorch
does: its ``losses[i]`` is ``sample_weight[i] * L_i``, which is ``omega_i`` times the
negative log-likelihood when there is no label smoothing.)

Backward, :func:`loss_gradient_per_example` turns the upstream ``dloss`` into
``d loss / d losses[i]``, which each layer multiplies by ``omega_i`` and by its own
local gradient.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from flatprop._validation import FloatArray, IntArray, Reduction, as_float_array, as_weights


class Weighting(NamedTuple):
    """The weights of one call, checked, each None when not given (all ones)."""

    weight: FloatArray | None
    """Per class, shape (C,)."""
    sample_weight: FloatArray | None
    """Per example, shape (N,)."""
    example_weight: FloatArray | None
    """omega (N,): ``sample_weight[i] * weight[y[i]]``; None if both are None."""


def checked_weighting(
    dtype: np.dtype,
    *,
    num_examples: int,
    sample_weight: npt.ArrayLike | None,
    weight: npt.ArrayLike | None = None,
    num_classes: int = 0,
    y: IntArray | None = None,
) -> Weighting:
    """Check ``weight`` (C,) and ``sample_weight`` (N,), and make ``example_weight``.

    None stands for all ones and lets the unweighted case skip a multiplication.
    Without ``y`` (probability targets), ``example_weight`` is ``sample_weight``.
    """
    per_class = None
    if weight is not None:
        per_class = as_weights(
            weight, "weight", length=num_classes, meaning="one weight per class", dtype=dtype
        )
    per_example = None
    if sample_weight is not None:
        per_example = as_weights(
            sample_weight,
            "sample_weight",
            length=num_examples,
            meaning="one weight per example",
            dtype=dtype,
        )
    omega = per_example
    if per_class is not None and y is not None:
        of_the_labels = per_class[y]  # fancy indexing: a new array
        omega = of_the_labels if omega is None else omega * of_the_labels
    return Weighting(weight=per_class, sample_weight=per_example, example_weight=omega)


def mean_divisor(
    num_examples: int, example_weight: FloatArray | None, dtype: np.dtype
) -> np.floating:
    """``sum_i omega_i`` (or N), refusing an empty batch and all-zero weights."""
    if num_examples == 0:
        raise ValueError(
            "reduction='mean' needs at least one example, got an empty batch (N = 0); "
            "use reduction='sum' (gives 0) or 'none' (gives shape (0,))"
        )
    if example_weight is None:
        return dtype.type(num_examples)
    total = example_weight.sum(dtype=dtype)
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
    dlosses: np.floating | FloatArray, example_weight: FloatArray | None
) -> np.floating | FloatArray:
    """``d loss / d L_i = d loss / d losses[i] * omega_i``: a scalar or an (N,) array.

    It stays a scalar when every example has the same one (no weights, scalar
    ``dloss``), so that scaling the rows by it is one contiguous pass (see
    :func:`flatprop.losses._rows.scale_rows`).
    """
    return dlosses if example_weight is None else dlosses * example_weight
