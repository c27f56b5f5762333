"""Row-wise building blocks, written in the forms NumPy runs fast for narrow rows.

A loss layer works on an (N, C) matrix with few classes (C = 10 is the common case).
NumPy runs a reduction along such a short last axis one row at a time, C entries per
inner loop, which costs about ten times the same work in one long loop:
``scores.sum(axis=1)`` takes longer than ``np.exp(scores)``. The helpers below keep
the loops long (a matrix-vector product, column-wise maximums, 1-D gathers and
scatters, scalar scaling) and give the same numbers, up to the order of a sum's terms.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt

from flatprop._validation import FloatArray, IntArray

# Below this many classes, C column-wise maximums beat one max per row (for N >= a few
# hundred rows; both take a few microseconds below that).
_COLUMN_LOOP_MAX_CLASSES = 32


def row_sums(matrix: FloatArray, out: FloatArray | None = None) -> FloatArray:
    """``matrix.sum(axis=1)``, as one matrix-vector product (one BLAS call, any C)."""
    return np.matmul(matrix, _ones(matrix.shape[1], matrix.dtype), out=out)


@functools.lru_cache(maxsize=64)
def _ones(length: int, dtype: np.dtype) -> FloatArray:
    """A read-only vector of ones, made once per (length, dtype): small calls add up."""
    ones = np.ones(length, dtype)
    ones.flags.writeable = False
    return ones


def row_maxima(matrix: FloatArray) -> FloatArray:
    """``matrix.max(axis=1)`` (NaN propagates, as there)."""
    num_classes = matrix.shape[1]
    if num_classes > _COLUMN_LOOP_MAX_CLASSES:
        return matrix.max(axis=1)
    # Narrow rows: C - 1 column-wise maximums, each one loop over the N rows.
    result = matrix[:, 0].copy()
    for column in range(1, num_classes):
        np.maximum(result, matrix[:, column], out=result)
    return result


def label_positions(labels: IntArray, num_classes: int) -> IntArray:
    """The flat positions ``i * C + y_i`` of the entries ``[i, y_i]`` of an (N, C) matrix.

    ``matrix.take(positions)`` reads them and :func:`set_entries` writes them: a 1-D
    gather or scatter, three times faster than the 2-D fancy indexing
    ``matrix[np.arange(N), labels]``.
    """
    return _row_starts(labels.shape[0], num_classes) + labels.astype(np.intp, copy=False)


@functools.lru_cache(maxsize=8)
def _row_starts(num_rows: int, num_classes: int) -> IntArray:
    """A read-only ``[0, C, 2C, ...]``, made once per shape: a batch size repeats."""
    row_starts = np.arange(0, num_rows * num_classes, num_classes, dtype=np.intp)
    row_starts.flags.writeable = False
    return row_starts


def set_entries(matrix: FloatArray, positions: IntArray, values: npt.ArrayLike) -> None:
    """``matrix.flat[positions] = values``, positions counted in C order (in place)."""
    if matrix.flags.c_contiguous:
        matrix.reshape(-1)[positions] = values  # a view: twice as fast as matrix.put
    else:
        matrix.put(positions, values)


def scale_rows(
    matrix: npt.NDArray[Any],
    coefficients: FloatArray | np.floating,
    out: FloatArray | None = None,
) -> FloatArray:
    """``matrix * coefficients[:, np.newaxis]``: row i times ``coefficients[i]``.

    A scalar coefficient (an unweighted batch) scales the whole matrix in one
    contiguous pass instead of a broadcast along the short rows.
    """
    if isinstance(coefficients, np.ndarray) and coefficients.ndim == 1:
        return np.multiply(matrix, coefficients[:, np.newaxis], out=out)
    return np.multiply(matrix, coefficients, out=out)
