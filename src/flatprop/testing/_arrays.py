"""The building blocks of the strategies, shared with the checkers' own draws.

Private to :mod:`flatprop.testing`: :mod:`~flatprop.testing.strategies` builds its public
strategies from these, and :mod:`flatprop.testing._draws` uses them to check a checker's
options and to tell whether an input is one the checker could have drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flatprop._validation import plain_number

__all__ = [
    "Size",
    "array_entries",
    "finite_values",
    "label_arrays",
    "linear_model_scores",
    "near_a_hinge_kink",
    "near_a_relu_kink",
    "regularization_strengths",
    "size_range",
    "two_layer_net_scores",
]

Size = int | tuple[int, int]
_WIDTHS: dict[int, Literal[16, 32, 64]] = {2: 16, 4: 32, 8: 64}  # itemsize -> bits


def size_range(size: Size, name: str, *, minimum: int = 0) -> st.SearchStrategy[int]:
    """A size: ``size`` itself, or drawn from the inclusive range ``(low, high)``."""
    low, high = (size, size) if isinstance(size, int) else size
    if not minimum <= low <= high:
        raise ValueError(
            f"{name} must be an int >= {minimum} or a pair {minimum} <= low <= high, "
            f"got {plain_number(size)!r}"
        )
    return st.integers(low, high)


def finite_values(dtype: np.dtype, min_value: float, max_value: float) -> st.SearchStrategy[float]:
    """Finite values of ``dtype`` in [min_value, max_value].

    The bounds are clipped to the dtype's range and rounded inward to values it can
    represent (Hypothesis requires exactly representable bounds for float32).
    """
    if dtype.kind != "f" or dtype.itemsize not in _WIDTHS:
        raise ValueError(f"dtype must be float16, float32 or float64, got {dtype}")
    info = np.finfo(dtype)
    low = dtype.type(max(min_value, float(info.min)))
    high = dtype.type(min(max_value, float(info.max)))
    if low < min_value:
        low = np.nextafter(low, dtype.type(np.inf))
    if high > max_value:
        high = np.nextafter(high, dtype.type(-np.inf))
    return st.floats(
        float(low),
        float(high),
        width=_WIDTHS[dtype.itemsize],
        allow_nan=False,
        allow_infinity=False,
    )


def array_entries(
    dtype: np.dtype, min_value: float, max_value: float, grid: float | None
) -> st.SearchStrategy[float]:
    """Finite values of ``dtype`` in [min_value, max_value]; with ``grid``, its whole multiples.

    Multiples of a power of two (0.5, 0.25, 1) are exact, and so are their sums and
    products while they stay small: that is what lets computed margins and
    pre-activations be exactly 0. Multiples shrink towards 0.
    """
    values = finite_values(dtype, min_value, max_value)  # also checks the dtype
    if grid is None:
        return values
    if not np.isfinite(grid) or grid <= 0:
        raise ValueError(f"grid must be a finite float > 0, got {plain_number(grid)!r}")
    low, high = int(np.ceil(min_value / grid)), int(np.floor(max_value / grid))
    if low > high:
        raise ValueError(
            f"no multiple of grid={plain_number(grid)!r} lies in [min_value, max_value] = "
            f"[{plain_number(min_value)!r}, {plain_number(max_value)!r}]"
        )
    return st.integers(low, high).map(lambda multiple: float(dtype.type(multiple * grid)))


def regularization_strengths(reg: float | tuple[float, float]) -> st.SearchStrategy[float]:
    """``reg`` itself, or drawn from the inclusive range ``(low, high)``."""
    low, high = reg if isinstance(reg, tuple) else (reg, reg)
    if not (np.isfinite(low) and np.isfinite(high) and 0 <= low <= high):
        raise ValueError(
            "reg must be a float >= 0 or a pair 0 <= low <= high of finite floats, "
            f"got {plain_number(reg)!r}"
        )
    return st.just(float(low)) if low == high else st.floats(float(low), float(high))


def label_arrays(num_examples: int, num_classes: int) -> st.SearchStrategy[npt.NDArray[np.int64]]:
    """(N,) int64 labels in [0, C)."""
    return hnp.arrays(np.int64, (num_examples,), elements=st.integers(0, num_classes - 1))


def near_a_hinge_kink(
    scores: npt.NDArray[np.floating], y: npt.NDArray[np.int64], margin: float, gap: float
) -> bool:
    """True if some ``s_j - s_y + margin`` (j != y) is within ``gap * (1 + |s_j| + |s_y|)`` of 0."""
    values = scores.astype(np.float64)
    rows = np.arange(len(y))
    correct = values[rows, y][:, np.newaxis]
    with np.errstate(over="ignore"):  # an overflowing term is infinitely far from a kink
        terms = values - correct + margin
        scale = 1 + np.abs(values) + np.abs(correct)
    terms[rows, y] = np.inf  # the target column has no kink
    return bool(np.any(np.abs(terms) < gap * scale))


def near_a_relu_kink(
    X: npt.NDArray[np.floating],
    W1: npt.NDArray[np.floating],
    b1: npt.NDArray[np.floating],
    gap: float,
) -> bool:
    """True if some pre-activation ``z = X W1 + b1`` is within ``gap`` times its scale of 0.

    The scale of ``z_ij`` is ``1 + sum_k |X_ik W1_kj| + |b1_j|``, what bounds its rounding
    error whatever the order of the sum.
    """
    X, W1, b1 = (array.astype(np.float64) for array in (X, W1, b1))
    z = X @ W1 + b1
    scale = 1 + np.abs(X) @ np.abs(W1) + np.abs(b1)
    return bool(np.any(np.abs(z) < gap * scale))


def linear_model_scores(
    params: Mapping[str, npt.NDArray[np.floating]], X: npt.NDArray[np.floating]
) -> npt.NDArray[np.float64]:
    """A linear model's scores ``X W``, in float64."""
    return X.astype(np.float64) @ params["W"].astype(np.float64)


def two_layer_net_scores(
    params: Mapping[str, npt.NDArray[np.floating]], X: npt.NDArray[np.floating]
) -> npt.NDArray[np.float64]:
    """A two-layer net's scores ``max(0, X W1 + b1) W2 + b2``, in float64."""
    W1, b1, W2, b2 = (params[name].astype(np.float64) for name in ("W1", "b1", "W2", "b2"))
    return np.maximum(X.astype(np.float64) @ W1 + b1, 0) @ W2 + b2
