"""Weights and reductions shared by every loss layer.

The weights of a call are ``weight`` (C,), per class, and ``sample_weight`` (N,), per
example; example i's weight is their product,

    omega_i = example_weight[i] = sample_weight[i] * weight[y[i]],

a factor left out where it is not given (L2 has no ``weight``; probability targets no
``y``). Each loss first computes the (N,) per-example ``losses`` L_i; the reduction
then turns them into the returned loss:

- ``"mean"``: ``sum_i omega_i L_i / sum_i omega_i`` (``losses.mean()`` when unweighted),
- ``"sum"``: ``sum_i omega_i L_i``,
- ``"none"``: the vector ``omega_i L_i``.

Backward, :func:`loss_gradient` gives ``dlosses[i] = d loss / d L_i``: ``dloss / N``
for an unweighted mean, ``dloss * share_i`` for a weighted one, ``dloss * omega_i``
otherwise.

Three rules keep every weighting exact:

- **Shares, not totals.** A weighted mean is computed as ``sum_i share_i L_i`` with
  ``share_i = omega_i / sum_k omega_k``, from weights first divided by a power of two
  near their largest (an exact scaling). Neither sum can overflow or underflow,
  whatever the size of the weights: weights of 1e308 give the same mean as weights
  of 1, and so do weights of 1e-320.
- **A weight of 0 drops its example.** Its weighted loss and its gradient row are 0
  (+0.0), whatever its scores: 0 times an overflowing loss is 0 here, not NaN.
- **Overflow is an error.** A loss or gradient computed from finite inputs that is
  not finite (its value, or a step on the way, is beyond the largest float of the
  dtype) raises ``FloatingPointError`` naming the inputs' sizes, never a silent inf or
  NaN; see :func:`require_finite_result`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import NamedTuple, ParamSpec, TypeVar, cast

import numpy as np
import numpy.typing as npt

from flatprop._validation import (
    DOT_MAX_ENTRIES,
    FloatArray,
    IntArray,
    Reduction,
    as_float_array,
    as_weights,
)


class Weighting(NamedTuple):
    """The weights of one call, checked; each None when not given (all ones).

    The computation uses them divided by powers of two that bring the largest to
    [0.5, 1) (an exact scaling, see :func:`power_of_two_scaled`) and multiplies the
    scale back at the end, so that no product or sum of weights overflows.
    """

    weight: FloatArray | None
    """Per class, shape (C,), as given."""
    sample_weight: FloatArray | None
    """Per example, shape (N,), as given."""
    example_weight: FloatArray | None
    """omega (N,): ``sample_weight[i] * weight[y[i]]`` (inf where beyond the float range);
    None if both are None."""
    loss_weight: FloatArray | None
    """What "sum" and "none" multiply L_i by, divided by ``2**exponent``: omega, or for
    the softmax, whose class weights sit inside L_i, ``sample_weight``."""
    exponent: int
    """"sum" and "none" are ``2**exponent`` times the sum and the products with
    ``loss_weight``."""
    shares: FloatArray | None
    """``d mean / d L_i`` for a weighted mean (N,), up to ``2**mean_exponent``: omega_i /
    sum_k omega_k (for the softmax, ``sample_weight[i] / sum_k omega_k``); None unless
    the reduction is a weighted "mean"."""
    mean_exponent: int
    """A weighted "mean" is ``2**mean_exponent * sum_i shares_i L_i``: 0, except for the
    softmax over probability targets, whose mean divides by the sample weights alone."""


NO_WEIGHTS = Weighting(None, None, None, None, 0, None, 0)


def checked_weighting(
    dtype: np.dtype,
    *,
    reduction: Reduction,
    num_examples: int,
    sample_weight: npt.ArrayLike | None,
    weight: npt.ArrayLike | None = None,
    num_classes: int = 0,
    y: IntArray | None = None,
    class_weights_in_losses: bool = False,
) -> Weighting:
    """Check ``weight`` (C,) and ``sample_weight`` (N,); scale them; make the mean's shares.

    Without ``y`` (probability targets), ``example_weight`` is ``sample_weight``.
    ``class_weights_in_losses`` (the softmax, as PyTorch): the losses L_i hold the
    scaled class weights, so "sum" and "none" weigh them by ``sample_weight`` alone, and
    a mean divides by the total ``example_weight``.
    """
    if reduction == "mean" and num_examples == 0:
        raise ValueError(
            "reduction='mean' needs at least one example, got an empty batch (N = 0); "
            "use reduction='sum' (gives 0) or 'none' (gives shape (0,))"
        )
    if weight is None and sample_weight is None:
        return NO_WEIGHTS
    per_class = per_example = None
    scaled_class = scaled_example = None
    class_exponent = example_exponent = 0
    if weight is not None:
        per_class = as_weights(
            weight, "weight", length=num_classes, meaning="one weight per class", dtype=dtype
        )
        scaled_class, class_exponent = power_of_two_scaled(per_class)
    if sample_weight is not None:
        per_example = as_weights(
            sample_weight,
            "sample_weight",
            length=num_examples,
            meaning="one weight per example",
            dtype=dtype,
        )
        scaled_example, example_exponent = power_of_two_scaled(per_example)

    # omega = sample_weight * weight[y], and its scaled form: a product of two numbers
    # in [0, 1), which cannot overflow.
    omega, scaled_omega, omega_exponent = per_example, scaled_example, example_exponent
    if scaled_class is not None and y is not None:
        of_the_labels = scaled_class[y]  # fancy indexing: a new array
        omega_exponent += class_exponent
        scaled_omega = of_the_labels if scaled_example is None else scaled_example * of_the_labels
        with np.errstate(over="ignore"):
            omega = np.ldexp(scaled_omega, omega_exponent)
    if class_weights_in_losses:  # L_i holds the scaled class weights
        loss_weight, exponent = scaled_example, example_exponent + class_exponent
    else:
        loss_weight, exponent = scaled_omega, omega_exponent
    shares = None
    if reduction == "mean" and scaled_omega is not None:
        shares = mean_shares(loss_weight, scaled_omega, num_examples)
    mean_exponent = 0
    if class_weights_in_losses and y is None:
        mean_exponent = class_exponent  # the divisor holds no class weights
    return Weighting(
        weight=per_class,
        sample_weight=per_example,
        example_weight=omega,
        loss_weight=loss_weight,
        exponent=exponent,
        shares=shares,
        mean_exponent=mean_exponent,
    )


def power_of_two_scaled(weights: FloatArray) -> tuple[FloatArray, int]:
    """``(weights / 2**k, k)`` with the largest scaled weight in [0.5, 1): an exact scaling.

    Scaling by a power of two changes only the exponents, so it rounds nothing (short
    of weights below 2**-1074 times the largest, which it rounds to 0).
    """
    largest = weights.max(initial=0.0)
    if largest == 0:
        return weights, 0
    exponent = int(np.frexp(largest)[1])
    return np.ldexp(weights, -exponent), exponent


def mean_shares(numerator: FloatArray | None, divisor: FloatArray, num_examples: int) -> FloatArray:
    """``numerator_i / sum_k divisor_k`` (numerator None: all ones), both scaled alike.

    The divisor's entries are at most 1 (scaled weights): its sum cannot overflow.
    """
    total = divisor.sum()
    if total == 0:
        raise ValueError(
            "reduction='mean' divides by the total weight of the batch, got all-zero weights "
            "(the weights of the batch's examples sum to 0)"
        )
    if numerator is None:
        return np.full(num_examples, 1 / total, dtype=divisor.dtype)
    return numerator / total


def weighted(losses: FloatArray, weights: FloatArray) -> FloatArray:
    """``weights * losses``, with 0 (not NaN) wherever a weight is 0, however large the loss."""
    return np.multiply(weights, losses, out=np.zeros_like(losses), where=weights != 0)


def reduce_losses(
    losses: FloatArray, reduction: Reduction, weighting: Weighting
) -> np.floating | FloatArray:
    """Apply ``reduction`` to the (N,) per-example losses L_i, weighted.

    Call it with overflow warnings off: an overflow is the caller's to report.
    """
    if reduction == "mean":
        if weighting.shares is not None:
            mean = weighted(losses, weighting.shares).sum()
        else:
            mean = losses.sum() / losses.dtype.type(losses.shape[0])  # float32 stays float32
            if math.isinf(mean) and np.isfinite(losses).all():
                mean = (losses / losses.shape[0]).sum()  # the sum overflowed, the mean need not
        return np.ldexp(mean, weighting.mean_exponent) if weighting.mean_exponent else mean
    if weighting.loss_weight is not None:
        result = weighted(losses, weighting.loss_weight)
    else:
        result = losses.copy()  # the caller may write into the returned vector
    if reduction == "sum":
        result = result.sum()
    return np.ldexp(result, weighting.exponent) if weighting.exponent else result


def loss_gradient(
    dloss: npt.ArrayLike | float,
    reduction: Reduction,
    weighting: Weighting,
    num_examples: int,
    dtype: np.dtype,
) -> np.floating | FloatArray:
    """``dlosses[i] = d loss / d L_i``: a scalar (the same for every example) or (N,).

    ``dloss`` is the upstream gradient of the returned loss: a scalar for "mean" and
    "sum"; a scalar or an (N,) array for "none". It stays a scalar when every example
    has the same one (no weights, scalar ``dloss``), so that scaling the rows by it is
    one contiguous pass (see :func:`flatprop.losses._rows.scale_rows`). Call it with
    overflow warnings off: an overflow is caught on the gradient.
    """
    upstream: np.floating | FloatArray
    if isinstance(dloss, float) and math.isfinite(dloss):
        upstream = dtype.type(dloss)  # the common call (dloss=1.0) skips the array checks
    else:
        upstream = as_float_array(dloss, "dloss", dtype=dtype)
        if reduction == "none":
            if upstream.ndim != 0 and upstream.shape != (num_examples,):
                raise ValueError(
                    f"dloss must be a scalar or have shape ({num_examples},) with "
                    f"reduction='none', got shape {upstream.shape}"
                )
        elif upstream.ndim != 0:
            raise ValueError(
                f"dloss must be a scalar with reduction={reduction!r} (the loss is a scalar), "
                f"got shape {upstream.shape}"
            )
    if reduction == "mean":
        if weighting.shares is None:
            dlosses = upstream / dtype.type(num_examples)
        else:
            dlosses = upstream * weighting.shares
        exponent = weighting.mean_exponent
    else:
        dlosses = upstream
        if weighting.loss_weight is not None:
            dlosses = upstream * weighting.loss_weight
        exponent = weighting.exponent
    return np.ldexp(dlosses, exponent) if exponent else dlosses


# Input whose sum of squares is at most the largest float / 2**20 has every entry within
# sqrt(largest) / 1024 (1.3e151 in float64, 1.8e16 in float32): the default steps of every
# loss on such input (and a margin up to sqrt(largest)) stay far from overflowing.
_SMALL_SUM_OF_SQUARES = {
    np.dtype(np.float64): float(np.finfo(np.float64).max) / 2**20,
    np.dtype(np.float32): float(np.finfo(np.float32).max) / 2**20,
}
BOUNDED_MARGIN = float(np.sqrt(np.finfo(np.float32).max))
"""The largest margin of a hinge's fast path (the square root of float32's largest)."""


def is_small_and_finite(array: np.ndarray, *, max_entries: int) -> bool:
    """Whether ``array`` is small, finite, of a dtype to compute in, and C-contiguous.

    That is an (N, C) float32 or float64 array of 1 to ``max_entries`` entries, all
    finite and small (see ``_SMALL_SUM_OF_SQUARES``).

    One pass, the sum of squares: NaN or inf makes it NaN or inf. A default call
    on such input is a loss's fast path, which need not turn off NumPy's warnings.
    """
    if not (
        array.ndim == 2
        and 0 < array.size <= max_entries
        and array.dtype in _SMALL_SUM_OF_SQUARES
        and array.flags.c_contiguous
    ):
        return False
    flat = array.reshape(-1)
    small = flat.size <= DOT_MAX_ENTRIES  # one BLAS call, on the calling thread
    total = np.vdot(flat, flat) if small else np.einsum("i,i->", flat, flat)
    return bool(total <= _SMALL_SUM_OF_SQUARES[array.dtype])


Params = ParamSpec("Params")
Returned = TypeVar("Returned")


def without_overflow_warnings(function: Callable[Params, Returned]) -> Callable[Params, Returned]:
    """Run ``function`` with NumPy's overflow and invalid-value warnings off.

    For a loss's passes, which check their results instead (:func:`require_finite_result`):
    an overflow from finite input becomes one clear error, not a warning and an inf.
    """

    @functools.wraps(function)
    def quietly(*args: Params.args, **kwargs: Params.kwargs) -> Returned:
        with np.errstate(over="ignore", invalid="ignore"):
            return function(*args, **kwargs)

    return quietly


Inputs = Callable[[], Mapping[str, npt.ArrayLike | None]]
"""The inputs of a call by name, made only when an overflow message needs their sizes."""


def reduced(
    losses: FloatArray, reduction: Reduction, weighting: Weighting, *, loss: str, inputs: Inputs
) -> np.floating | FloatArray:
    """:func:`reduce_losses`, refusing a result that overflowed (:func:`require_finite_result`)."""
    result = reduce_losses(losses, reduction, weighting)
    require_finite_result(result, loss=loss, what="loss", inputs=inputs)
    return result


def finished_gradient(
    gradient: FloatArray, dlosses: np.floating | FloatArray, *, loss: str, inputs: Inputs
) -> FloatArray:
    """The gradient, its dropped rows zeroed, an overflow refused.

    :func:`zero_dropped_rows`, then :func:`require_finite_gradient`.
    """
    zero_dropped_rows(gradient, dlosses)
    require_finite_gradient(gradient, dlosses, loss=loss, inputs=inputs)
    return gradient


def require_finite_result(
    result: np.floating | FloatArray, *, loss: str, what: str, inputs: Inputs
) -> None:
    """Raise ``FloatingPointError`` if ``result`` is not finite though ``inputs()`` are.

    ``what`` names the result ("loss", "gradient"). With ``check_finite=False`` an input
    may hold +-inf or NaN, and the result follows from it: only when every input is
    finite is a non-finite result an overflow, and an error.
    """
    if isinstance(result, float | np.floating) and math.isfinite(result):
        return  # the common call, a scalar loss: no array round trip
    if np.isfinite(result).all():
        return
    arrays = {name: np.asarray(value) for name, value in inputs().items() if value is not None}
    if not all(np.isfinite(array).all() for array in arrays.values()):
        return  # the caller passed infinite input, with check_finite=False
    dtype = np.asarray(result).dtype
    sizes = ", ".join(
        f"{name} {float(np.max(np.abs(array), initial=0.0)):.3g}" for name, array in arrays.items()
    )
    advice = "scale them down"
    if dtype == np.float32:
        advice += " or pass float64 inputs"
    raise FloatingPointError(
        f"{loss} overflowed {dtype}: its {what} is beyond the largest {dtype} "
        f"({float(np.finfo(dtype).max):.3g}), or a step on the way is, for inputs as large "
        f"as: {sizes}; {advice}"
    )


def require_finite_gradient(
    gradient: FloatArray, dlosses: np.floating | FloatArray, *, loss: str, inputs: Inputs
) -> None:
    """:func:`require_finite_result` for a gradient, when it may have overflowed.

    Only an upstream ``dlosses`` above 1 can make a gradient overflow: with every
    ``|dlosses_i| <= 1`` (a mean, an unweighted sum), a finite loss bounds every local
    gradient far below the largest float (|p A - a| <= A, 2 m <= 2 sqrt(L), ...), and
    the check skips its pass over the gradient.
    """
    largest = abs(dlosses) if np.ndim(dlosses) == 0 else np.max(np.abs(dlosses), initial=0.0)
    if largest > 1:
        require_finite_result(gradient, loss=loss, what="gradient", inputs=inputs)


PerRow = TypeVar("PerRow", bound="float | np.floating | FloatArray")


def of_rows(values: PerRow, rows: slice) -> PerRow:
    """``values[rows]`` for an (N,) array; a scalar, the same for every row, as it is."""
    if isinstance(values, np.ndarray) and values.ndim:
        return cast(PerRow, values[rows])
    return values


def zero_dropped_rows(gradient: FloatArray, dlosses: np.floating | FloatArray) -> FloatArray:
    """Set to +0.0 the gradient rows of the examples whose ``dlosses`` is 0 (weight 0).

    Their local gradients may be inf (an overflowing example) or negative: 0 times them
    would be NaN or -0.0, where a dropped example's gradient is 0.
    """
    if isinstance(dlosses, np.ndarray) and dlosses.ndim == 1:
        if not dlosses.all():
            gradient[dlosses == 0] = 0.0
    elif dlosses == 0:
        gradient.fill(0.0)
    return gradient
