"""Row-wise building blocks, in the forms NumPy runs fast for narrow rows.

A loss layer works on an (N, C) matrix with few classes (C = 10 is the common case).
NumPy runs a reduction along such a short last axis one row at a time, C entries per
inner loop, which costs about ten times the same work in one long loop:
``scores.sum(axis=1)`` takes longer than ``np.exp(scores)``. The helpers below keep
the loops long (a matrix-vector product, column-wise maximums, 1-D gathers and
scatters, scalar scaling) and give the same numbers, up to the order of a sum's terms.
Each says which plain NumPy line it stands for.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt

from flatprop._validation import FloatArray, IntArray

# Below this many classes (and above 8 C rows), C column-wise maximums beat one max per row.
_COLUMN_LOOP_MAX_CLASSES = 32

# OpenBLAS runs a matrix-vector product of up to 9216 entries (2304 times its threshold
# of 4) on the calling thread; above, it may start threads of its own, which spin on a
# busy machine and compete with flatprop's. Larger blocks sum their rows with einsum.
_BLAS_MAX_ENTRIES = 9216


def row_sums(matrix: FloatArray, out: FloatArray | None = None) -> FloatArray:
    """``matrix.sum(axis=1)``, in long loops whatever C.

    A matrix-vector product with ones (one BLAS call), or NumPy's own ``einsum`` for
    large matrices.
    """
    if matrix.size <= _BLAS_MAX_ENTRIES:
        return np.matmul(matrix, _ones(matrix.shape[1], matrix.dtype), out=out)
    return np.einsum("ij->i", matrix, out=out)


@functools.lru_cache(maxsize=64)
def _ones(length: int, dtype: np.dtype) -> FloatArray:
    """A read-only vector of ones, made once per (length, dtype): small calls add up."""
    ones = np.ones(length, dtype)
    ones.flags.writeable = False
    return ones


def row_maxima(matrix: FloatArray) -> FloatArray:
    """``matrix.max(axis=1)`` (NaN propagates, as there)."""
    num_rows, num_classes = matrix.shape
    if num_classes > _COLUMN_LOOP_MAX_CLASSES or num_rows < 8 * num_classes:
        return matrix.max(axis=1)
    # Narrow rows: C - 1 column-wise maximums, each one loop over the N rows.
    result = matrix[:, 0].copy()
    for column in range(1, num_classes):
        np.maximum(result, matrix[:, column], out=result)
    return result


def label_positions(labels: IntArray, num_classes: int) -> IntArray:
    """``np.arange(N) * C + labels``: the flat positions of the entries ``[i, y_i]``.

    ``matrix.take(positions)`` stands for ``matrix[np.arange(N), labels]`` and
    :func:`set_entries` for the assignment to it: a 1-D gather or scatter, three times
    faster than the 2-D fancy indexing.
    """
    return _row_starts(labels.shape[0], num_classes) + labels.astype(np.intp, copy=False)


@functools.lru_cache(maxsize=8)
def _row_starts(num_rows: int, num_classes: int) -> IntArray:
    """A read-only ``[0, C, 2C, ...]``, made once per shape: a batch size repeats."""
    row_starts = np.arange(0, num_rows * num_classes, num_classes, dtype=np.intp)
    row_starts.flags.writeable = False
    return row_starts


def set_entries(matrix: FloatArray, positions: IntArray, values: npt.ArrayLike) -> None:
    """``matrix[np.arange(N), labels] = values``, by flat positions (in place)."""
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


# sum_of_squares reads the flattened values as rows of this many entries.
_ROW_ENTRIES = 256


def sum_of_squares(values: FloatArray) -> np.floating:
    """``(values**2).sum()``: an einsum per row of 256 entries of the flattened values.

    One einsum over all entries would be as fast, but each of its accumulators would add
    up thousands of terms: in float32 that is off by tens of ulps. Rows of 256 keep every
    accumulation short, and NumPy's pairwise sum adds the row totals. A small array
    takes one BLAS dot instead (OpenBLAS's, on the calling thread at that size, adds its
    terms in many short lanes: as exact), a large one no BLAS: nothing that starts
    threads of its own.
    """
    flat = values.reshape(-1)
    if flat.size <= _BLAS_MAX_ENTRIES:
        return np.vdot(flat, flat)
    whole_rows = flat.size - flat.size % _ROW_ENTRIES
    rows = flat[:whole_rows].reshape(-1, _ROW_ENTRIES)
    rest = flat[whole_rows:]
    return np.einsum("ij,ij->i", rows, rows).sum() + np.einsum("i,i->", rest, rest)
