"""Input checks at the public boundary.

Every public function of flatprop validates its arguments once, here, and the
computation behind it trusts them. Each check raises ``TypeError`` (wrong kind of
thing) or ``ValueError`` (right kind, wrong value or shape) with a message that
names the argument, says what was expected and what was given. None of them
writes into its input.
"""

from __future__ import annotations

import math
from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

Reduction: TypeAlias = Literal["mean", "sum", "none"]
REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")

FloatArray: TypeAlias = npt.NDArray[np.floating]
IntArray: TypeAlias = npt.NDArray[np.integer]


def _describe(array: np.ndarray) -> str:
    return f"an array of shape {array.shape} and dtype {array.dtype}"


def plain_number(value: object) -> object:
    """A NumPy scalar as the Python number it holds, for messages.

    ``-0.8``, not ``np.float64(-0.8)`` (also inside a tuple or list); anything else is
    returned unchanged.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return type(value)(plain_number(item) for item in value)
    return value


def as_array(value: npt.ArrayLike, name: str) -> np.ndarray:
    """``np.asarray(value)``, with the errors NumPy raises for it naming ``name``.

    A ragged nested list is a ``ValueError``; an object NumPy cannot convert (a torch
    tensor that requires grad, or one of a dtype NumPy lacks, such as bfloat16) a
    ``TypeError`` that says how to convert it.
    """
    try:
        return np.asarray(value)
    except ValueError as error:  # e.g. [[1, 2], [3]]: rows of different lengths
        raise ValueError(
            f"{name} must be an array with rows of equal length, got a ragged nested "
            f"sequence ({error})"
        ) from error
    except (TypeError, RuntimeError) as error:
        raise TypeError(_unconvertible(value, name, error)) from error


def _unconvertible(value: object, name: str, error: Exception) -> str:
    """Why NumPy cannot read ``value``, and what to do, for a tensor of another library."""
    kind = type(value)
    given = f"a {kind.__module__}.{kind.__qualname__}"
    if getattr(value, "requires_grad", False) is True:
        return (
            f"{name} must be an array NumPy can read, got {given} that requires grad; "
            f"pass {name}.detach() (flatprop computes the gradient itself)"
        )
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return (
            f"{name} must be an array NumPy can read, got {given} of dtype {dtype}, which "
            f"NumPy cannot convert; convert it to float32 or float64 first ({error})"
        )
    return f"{name} must be an array NumPy can read, got {given} ({error})"


def as_flag(value: object, name: str) -> bool:
    """Return ``value`` if it is True or False (a NumPy bool too); else ``TypeError``."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(
        f"{name} must be True or False, got {plain_number(value)!r} of type {type(value).__name__}"
    )


def as_float_array(
    value: npt.ArrayLike,
    name: str,
    *,
    ndim: int | None = None,
    dtype: np.dtype | None = None,
    check_finite: bool = True,
) -> FloatArray:
    """Return ``value`` as a real floating array, without copying when possible.

    Integer input becomes float64 and float16 becomes float32 (half precision has
    too little range for ``exp`` and long sums); float32 and float64 are kept.
    With ``dtype`` given, the result is cast to it instead. ``check_finite`` must be
    True or False (``TypeError`` otherwise: None would silently skip the scan).
    """
    check_finite = as_flag(check_finite, "check_finite")
    if (
        type(value) is np.ndarray
        and value.dtype in _COMPUTED_DTYPES
        and (dtype is None or dtype == value.dtype)
        and (ndim is None or value.ndim == ndim)
    ):
        # The common call, an array flatprop computes in as it is: only the scan is left.
        if check_finite:
            require_finite(value, name)
        return value
    array = as_array(value, name)
    kind = array.dtype.kind
    if kind == "b":
        raise TypeError(f"{name} must hold real numbers, got booleans ({_describe(array)})")
    if kind == "c":
        raise TypeError(f"{name} must hold real numbers, got complex ({_describe(array)})")
    if kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got {_describe(array)}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {_describe(array)}")
    if dtype is None:
        dtype = result_dtype(array.dtype)
    # asarray returns the input itself when it already has this dtype: no copy.
    array = np.asarray(array, dtype=dtype)
    if check_finite:
        require_finite(array, name)
    return array


_COMPUTED_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def result_dtype(dtype: np.dtype) -> np.dtype:
    """The floating dtype flatprop computes in for an input of ``dtype``."""
    if dtype in (np.float16, np.float32):
        return np.dtype(np.float32)
    return np.dtype(np.float64)  # integers, float64 and long double


DOT_MAX_ENTRIES = 8192
"""The largest array whose sum of squares flatprop takes with ``np.vdot`` (one BLAS call,
which OpenBLAS runs on the calling thread at this size); larger ones use NumPy's own loops."""


def all_finite(array: FloatArray) -> bool:
    """Whether ``array`` holds no NaN and no +-inf."""
    if array.size <= DOT_MAX_ENTRIES and array.flags.c_contiguous:
        # A small array: its dot product with itself is finite if and only if every entry
        # is, unless it overflows (entries beyond 1e154), which the exact scan below
        # then settles. One BLAS call, which OpenBLAS runs on the calling thread at
        # this size: twice as fast as the scan (and vdot, unlike dot, never warns).
        flat = array.reshape(-1)
        if math.isfinite(np.vdot(flat, flat)):
            return True
    # One vectorized pass and a temporary of one byte per entry: exact, and no
    # floating-point warning.
    return bool(np.isfinite(array).all())


_CHECK_FINITE_ADVICE = "pass check_finite=False to take responsibility for them"


def require_finite(
    array: FloatArray, name: str, *, advice: str | None = _CHECK_FINITE_ADVICE
) -> None:
    """Raise ``ValueError`` if ``array`` holds NaN or +-inf.

    The message counts them, shows the first and where it is, and ends with ``advice``
    (by default, how a function that takes ``check_finite`` skips the check).
    """
    if all_finite(array):
        return
    finite = np.isfinite(array)
    first = tuple(int(i) for i in np.argwhere(~finite)[0])
    where = f" at index {first}" if first else ""
    raise ValueError(
        f"{name} must be finite, got {int(finite.size - np.count_nonzero(finite))} NaN or "
        f"infinite value(s) (first {plain_number(array[first])!r}{where})"
        + (f"; {advice}" if advice else "")
    )


def as_labels(value: npt.ArrayLike, name: str, *, num_examples: int, num_classes: int) -> IntArray:
    """Return integer class labels of shape (N,) with every entry in [0, C)."""
    if (
        type(value) is np.ndarray
        and value.dtype == np.intp
        and value.shape == (num_examples,)
        and (not num_examples or value.view(np.uintp).max() < num_classes)
    ):
        return value  # the common call; negative labels are huge as unsigned integers
    if value is None:
        raise TypeError(f"{name} is required: class labels of shape ({num_examples},), got None")
    labels = as_array(value, name)
    if labels.size == 0 and labels.dtype.kind == "f":
        labels = labels.astype(np.intp)  # an empty list, [], arrives as float64
    if labels.dtype.kind not in "iu":
        kind = "booleans" if labels.dtype.kind == "b" else f"dtype {labels.dtype}"
        raise TypeError(
            f"{name} must hold integer class labels, got {kind} (an array of shape "
            f"{labels.shape}); convert with {name}.astype(int) if the values are whole"
        )
    if labels.shape != (num_examples,):
        raise ValueError(
            f"{name} must have shape ({num_examples},), one label per row of the scores, "
            f"got shape {labels.shape}"
        )
    # Viewed as unsigned, a negative label is huge: one max finds both kinds of bad label.
    if num_examples and labels.astype(np.intp, copy=False).view(np.uintp).max() >= num_classes:
        low, high = labels.min(), labels.max()
        if low < 0 or high >= num_classes:
            bad = low if low < 0 else high
            raise ValueError(
                f"{name} must hold class labels in [0, {num_classes}) for {num_classes} "
                f"classes, got {int(bad)}"
            )
    return labels


def as_probabilities(
    value: npt.ArrayLike, name: str, *, shape: tuple[int, ...], dtype: np.dtype
) -> FloatArray:
    """Return an (N, C) array of probability rows: entries >= 0, each row summing to 1.

    They are checked as probabilities whatever ``check_finite`` says: NaN fails both
    checks and +-inf one of them. An all-zero row is refused (it sums to 0): to leave
    an example out, give it ``sample_weight`` 0.
    """
    targets = as_float_array(value, name, dtype=dtype, check_finite=False)
    if targets.shape != shape:
        raise ValueError(
            f"{name} as probability targets must have the shape of the scores {shape}, "
            f"got shape {targets.shape} (labels, one per row, have shape {shape[:1]})"
        )
    if targets.size == 0:
        return targets
    non_negative = targets >= 0  # False at NaN and -inf
    if not non_negative.all():
        first = tuple(int(i) for i in np.argwhere(~non_negative)[0])
        raise ValueError(
            f"{name} must hold probabilities >= 0 (each row summing to 1), "
            f"got {plain_number(targets[first])!r} at index {first}"
        )
    row_sums = targets.sum(axis=1)
    tolerance = float(np.sqrt(np.finfo(dtype).eps)) * shape[1]
    with np.errstate(invalid="ignore"):  # a row holding +inf sums to inf: inf - 1 is fine
        summing_to_one = np.abs(row_sums - 1) <= tolerance
    if not summing_to_one.all():
        row = int(np.argmin(summing_to_one))
        hint = " (to leave an example out, give it sample_weight 0)" if row_sums[row] == 0 else ""
        raise ValueError(
            f"{name} rows must sum to 1 (within {tolerance:.1e}), got a row summing to "
            f"{plain_number(row_sums[row])!r} at row {row}{hint}"
        )
    return targets


def as_weights(
    value: npt.ArrayLike, name: str, *, length: int, meaning: str, dtype: np.dtype
) -> FloatArray:
    """Return a finite, non-negative (length,) weight vector of ``dtype``.

    The weights are checked in their own precision, before the cast: a weight too
    large for ``dtype`` (1e308 for float32 scores) is refused by name, not turned into
    inf.
    """
    vector = as_float_array(value, name, check_finite=False)
    if vector.shape != (length,):
        raise ValueError(f"{name} must have shape ({length},), {meaning}, got shape {vector.shape}")
    if length == 0:
        return vector.astype(dtype, copy=False)
    for valid, requirement in ((np.isfinite(vector), "finite"), (vector >= 0, "non-negative")):
        if not valid.all():
            index = int(np.argmin(valid))
            raise ValueError(
                f"{name} must be {requirement}, got {plain_number(vector[index])!r} at "
                f"index {index}"
            )
    largest = vector.max()
    if largest > np.finfo(dtype).max:
        raise ValueError(
            f"{name} must fit {dtype}, the dtype of the computation, got a weight of "
            f"{plain_number(largest)!r} (the largest {dtype} is {float(np.finfo(dtype).max):.4g}); "
            "scale the weights down (a mean does not change) or pass float64 inputs"
        )
    return vector.astype(dtype, copy=False)


def check_reduction(reduction: object) -> Reduction:
    """Return ``reduction`` if it is one of "mean", "sum" or "none"."""
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of 'mean', 'sum', 'none', got {reduction!r}")
    return reduction  # type: ignore[return-value]


def as_real_scalar(value: object, name: str) -> float:
    """Return ``value`` as a finite Python float (rejecting bool, complex, strings)."""
    if type(value) is float and math.isfinite(value):
        return value  # the common call: a Python float, the default's own type
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise TypeError(
            f"{name} must be a real number, got {plain_number(value)!r} of type "
            f"{type(value).__name__}"
        )
    number = float(value)
    if not math.isfinite(number):  # math, not NumPy: no array round trip for one float
        raise ValueError(f"{name} must be finite, got {number!r}")
    return number


def as_scores(value: npt.ArrayLike, name: str, *, check_finite: bool) -> FloatArray:
    """Return an (N, C) floating score matrix with C >= 1."""
    if (
        type(value) is np.ndarray
        and value.ndim == 2
        and value.shape[1]
        and value.dtype in _COMPUTED_DTYPES
        and (check_finite is True or check_finite is False)
    ):
        if check_finite:  # the common call: an array to compute in as it is
            require_finite(value, name)
        return value
    scores = as_float_array(value, name, ndim=2, check_finite=check_finite)
    if scores.shape[1] == 0:
        raise ValueError(f"{name} must have at least one class (column), got shape {scores.shape}")
    return scores


def as_count(value: object, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as a Python int >= ``minimum`` (rejecting bool, float, strings)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"{name} must be an integer, got {plain_number(value)!r} of type {type(value).__name__}"
        )
    if value < minimum:
        expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {expected}, got {value}")
    return int(value)


def as_non_negative_scalar(value: object, name: str) -> float:
    """Return ``value`` as a finite Python float >= 0."""
    number = as_real_scalar(value, name)
    if number < 0:
        raise ValueError(f"{name} must be >= 0, got {number!r}")
    return number


def as_positive_scalar(value: object, name: str) -> float:
    """Return ``value`` as a finite Python float > 0."""
    number = as_real_scalar(value, name)
    if number <= 0:
        raise ValueError(f"{name} must be > 0, got {number!r}")
    return number


def as_float_dtype(dtype: npt.DTypeLike) -> np.dtype:
    """Return ``dtype`` as a NumPy dtype if it is float32 or float64."""
    checked = np.dtype(dtype)
    if checked not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {checked}")
    return checked


def as_rng(seed: object, name: str = "seed") -> np.random.Generator:
    """Return ``numpy.random.default_rng(seed)`` for a seed checked by flatprop.

    The seed is None, an integer >= 0 or a Generator (returned as it is); else an error
    naming ``name``, not NumPy's own.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None:
        if isinstance(seed, bool | np.bool_) or not isinstance(seed, int | np.integer):
            raise TypeError(
                f"{name} must be None, an integer >= 0 or a numpy.random.Generator, "
                f"got {seed!r} of type {type(seed).__name__}"
            )
        if seed < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {int(seed)}")
    return np.random.default_rng(seed)
