"""Small data sets that ship with flatprop or are made on the spot: no downloads.

``load_digits``
    Real data: the 1,797 handwritten digits (8x8 images, 10 classes) of the UCI
    "Optical Recognition of Handwritten Digits" set, stored inside the package.
``spiral``
    Synthetic data: the classic CS231n spiral, which no linear classifier can separate.
``train_test_split``
    A seeded (and by default stratified) split into a training and a held-out part.

Data credit
-----------
The digits are the test part ("optdigits.tes", 1,797 images written by 13 people) of
E. Alpaydin and C. Kaynak, *Optical Recognition of Handwritten Digits*, UCI Machine
Learning Repository, 1998, https://archive.ics.uci.edu/dataset/80, licensed under Creative
Commons Attribution 4.0 (CC BY 4.0). See also C. Kaynak (1995), *Methods of Combining
Multiple Classifiers and Their Applications to Handwritten Digit Recognition*, MSc
thesis, Bogazici University. Each 8x8 image counts the "on" pixels of a 32x32 bitmap
in 4x4 blocks (0..16). flatprop's copy (``flatprop/data/digits.npz``) was written from
the copy that scikit-learn ships by ``scripts/make_digits.py``; the values are unchanged.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from flatprop._validation import (
    FloatArray,
    IntArray,
    as_count,
    as_float_dtype,
    as_non_negative_scalar,
    as_real_scalar,
    as_rng,
)

__all__ = ["Split", "load_digits", "spiral", "train_test_split"]

DIGITS_RESOURCE = "digits.npz"
DIGITS_MAX_COUNT = 16  # each pixel counts the "on" pixels of a 4x4 block


def load_digits(
    *, dtype: npt.DTypeLike = np.float64, scale: bool = True
) -> tuple[FloatArray, IntArray]:
    """The 1,797 handwritten digits (8x8 images, 10 classes) shipped with flatprop.

    Parameters
    ----------
    dtype : {float64, float32}, default float64
        The features' dtype.
    scale : bool, default True
        Divide the pixel counts (0..16) by 16, so that every feature lies in [0, 1].
        With False, the features are the counts themselves.

    Returns
    -------
    X : ndarray, shape (N, D) = (1797, 64)
        One flattened 8x8 image per row, in row-major order (``X[i].reshape(8, 8)`` is
        the image). A new array on every call: yours to modify.
    y : ndarray of int64, shape (N,)
        The digit each image shows, 0..9 (C = 10 classes, about 180 images each).

    Notes
    -----
    The images are the test part of the UCI "Optical Recognition of Handwritten
    Digits" set (Alpaydin & Kaynak, 1998; CC BY 4.0): see this module's docstring
    for the full credit. Their order is the data set's; shuffle or split them with
    :func:`train_test_split` before training.

    Examples
    --------
    >>> X, y = load_digits()
    >>> X.shape, X.dtype, y.shape, y.dtype
    ((1797, 64), dtype('float64'), (1797,), dtype('int64'))
    >>> print(float(X.min()), float(X.max()), y[:10])
    0.0 1.0 [0 1 2 3 4 5 6 7 8 9]
    >>> counts, _ = load_digits(scale=False, dtype="float32")
    >>> print(counts[0].reshape(8, 8)[2])  # the third row of pixels of a 0
    [ 0.  3. 15.  2.  0. 11.  8.  0.]
    """
    dtype = as_float_dtype(dtype)
    with (
        resources.as_file(resources.files("flatprop") / "data" / DIGITS_RESOURCE) as path,
        np.load(path) as stored,
    ):
        pixels, labels = stored["pixels"], stored["labels"]
    X = pixels.astype(dtype)
    if scale:
        X /= DIGITS_MAX_COUNT
    return X, labels.astype(np.int64)


def spiral(
    n_per_class: int,
    n_classes: int,
    *,
    seed: int | np.random.Generator | None = 0,
    noise: float = 0.2,
) -> tuple[FloatArray, IntArray]:
    r"""The CS231n spiral: ``n_classes`` arms of 2-D points winding around the origin.

    Class k's i-th point (i = 0, ..., n - 1) lies at radius :math:`r_i = i / (n - 1)`
    and angle :math:`t_i = 4k + 4 r_i + \varepsilon_i` (radians), with
    :math:`\varepsilon_i \sim \mathcal{N}(0, \text{noise}^2)`:

    .. math:: x_i = (r_i \sin t_i,\; r_i \cos t_i).

    Each arm turns through 4 radians as it moves out, so the classes interleave and
    no straight line separates them: a linear classifier stays far from 100%
    accuracy, while a small two-layer net gets close.

    Parameters
    ----------
    n_per_class : int
        Points per class, n >= 1.
    n_classes : int
        Number of classes (arms), C >= 1.
    seed : int >= 0, numpy.random.Generator or None, default 0
        Seed of ``numpy.random.default_rng`` for the angle noise; None for fresh
        randomness. The same seed gives the same points. Anything else is a
        ``TypeError`` (a negative integer a ``ValueError``) naming ``seed``.
    noise : float, default 0.2
        Standard deviation of the angle noise, in radians (>= 0).

    Returns
    -------
    X : ndarray of float64, shape (N, 2) with N = n_per_class * n_classes
        The points, class by class, each inside the unit disc.
    y : ndarray of int64, shape (N,)
        The class of each point, 0..C-1.

    Examples
    --------
    >>> X, y = spiral(100, 3, seed=0)
    >>> X.shape, y.shape, [int(count) for count in np.bincount(y)]
    ((300, 2), (300,), [100, 100, 100])
    >>> bool(np.all(np.hypot(X[:, 0], X[:, 1]) <= 1.0))
    True
    >>> bool(np.array_equal(X, spiral(100, 3, seed=0)[0]))  # same seed, same points
    True
    """
    n_per_class = as_count(n_per_class, "n_per_class")
    n_classes = as_count(n_classes, "n_classes")
    noise = as_non_negative_scalar(noise, "noise")
    rng = as_rng(seed)
    radius = np.linspace(0.0, 1.0, n_per_class)
    X = np.empty((n_per_class * n_classes, 2))
    y = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    for k in range(n_classes):
        angle = 4.0 * k + 4.0 * radius + noise * rng.standard_normal(n_per_class)
        rows = slice(k * n_per_class, (k + 1) * n_per_class)
        X[rows, 0] = radius * np.sin(angle)
        X[rows, 1] = radius * np.cos(angle)
    return X, y


class Split(NamedTuple):
    """A training part and a held-out (test) part; unpacks like scikit-learn's split."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def train_test_split(
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    test_size: float = 0.2,
    seed: int | np.random.Generator | None = 0,
    stratify: bool = True,
) -> Split:
    """Split examples at random into a training part and a held-out part.

    Parameters
    ----------
    X : array_like, shape (N, ...)
        The examples, one per row (first axis).
    y : array_like, shape (N,)
        Their labels.
    test_size : float, default 0.2
        The fraction of the examples held out, strictly between 0 and 1.
    seed : int >= 0, numpy.random.Generator or None, default 0
        Seed of ``numpy.random.default_rng``; None for fresh randomness. The same
        seed and data give the same split.
    stratify : bool, default True
        Hold out the same fraction of every class (rounded half up, class by class),
        so that both parts keep the class proportions of ``y``. With False, a plain
        random subset of ``round(test_size * N)`` examples is held out.

    Returns
    -------
    Split
        ``(X_train, X_test, y_train, y_test)``, new arrays (copies of the selected
        rows), each part in a random order. Every example lands in exactly one part.

    Raises
    ------
    ValueError
        If X and y differ in length, or if either part would be empty.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = np.arange(20).reshape(10, 2), np.array([0] * 5 + [1] * 5)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, seed=1)
    >>> X_train.shape, X_test.shape, [int(count) for count in np.bincount(y_test)]
    ((6, 2), (4, 2), [2, 2])
    >>> sorted(np.concatenate([X_train[:, 0], X_test[:, 0]]).tolist()) == X[:, 0].tolist()
    True
    """
    features, labels = np.asarray(X), np.asarray(y)
    if features.ndim < 1:
        raise ValueError(f"X must have one row per example, got a scalar {features.item()!r}")
    if labels.ndim != 1 or labels.shape[0] != features.shape[0]:
        raise ValueError(
            f"y must have shape ({features.shape[0]},), one label per row of X, "
            f"got shape {labels.shape}"
        )
    test_size = as_real_scalar(test_size, "test_size")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction strictly between 0 and 1, got {test_size}")
    rng = as_rng(seed)
    num_examples = labels.shape[0]
    if stratify:
        train_parts, test_parts = [], []
        for label in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == label))
            num_test = _round_half_up(test_size * members.size)
            test_parts.append(members[:num_test])
            train_parts.append(members[num_test:])
        no_rows = [np.empty(0, dtype=np.intp)]  # N = 0: no classes, no parts
        train_index = rng.permutation(np.concatenate(train_parts or no_rows))
        test_index = rng.permutation(np.concatenate(test_parts or no_rows))
    else:
        order = rng.permutation(num_examples)
        num_test = _round_half_up(test_size * num_examples)
        test_index, train_index = order[:num_test], order[num_test:]
    if test_index.size == 0 or train_index.size == 0:
        empty = "test" if test_index.size == 0 else "training"
        raise ValueError(
            f"test_size={test_size} leaves the {empty} part empty for {num_examples} examples "
            f"(stratify={stratify}); use more examples or another test_size"
        )
    return Split(
        features[train_index], features[test_index], labels[train_index], labels[test_index]
    )
