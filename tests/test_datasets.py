"""flatprop.datasets: the shipped digits, the spiral, and the seeded split."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop.datasets import load_digits, spiral, train_test_split
from helpers import EXACT

# The UCI data set's own documentation: images per digit 0..9 in optdigits.tes.
UCI_TEST_SET_CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
# scikit-learn's documentation shows the first image, a 0; these are its first two rows.
FIRST_IMAGE_TOP_ROWS = [[0, 0, 5, 13, 9, 1, 0, 0], [0, 0, 13, 15, 10, 15, 5, 0]]


def test_digits_are_1797_flattened_8x8_images_of_ten_classes() -> None:
    X, y = load_digits()
    assert X.shape == (1797, 64)
    assert X.dtype == np.float64
    assert y.shape == (1797,)
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == UCI_TEST_SET_CLASS_COUNTS


def test_digits_features_are_pixel_counts_divided_by_16() -> None:
    X, _ = load_digits()
    counts, _ = load_digits(scale=False)
    assert X.min() == 0.0
    assert X.max() == 1.0
    assert np.array_equal(counts, np.round(counts))
    assert counts.max() == 16
    np.testing.assert_allclose(X * 16, counts, rtol=0, atol=EXACT)
    assert counts[0].reshape(8, 8)[:2].tolist() == FIRST_IMAGE_TOP_ROWS


def test_digits_can_be_loaded_as_float32() -> None:
    X32, _ = load_digits(dtype=np.float32)
    X64, _ = load_digits()
    assert X32.dtype == np.float32
    assert np.array_equal(X32, X64.astype(np.float32))


def test_digits_are_new_writeable_arrays_on_every_call() -> None:
    X, y = load_digits()
    X[0] = -1.0
    y[0] = 9
    X_again, y_again = load_digits()
    assert X_again[0].min() == 0.0
    assert y_again[0] == 0


def test_digits_refuse_a_non_float_dtype() -> None:
    with pytest.raises(TypeError, match=r"dtype must be float32 or float64, got int64"):
        load_digits(dtype=np.int64)


def test_spiral_has_n_points_per_class_inside_the_unit_disc() -> None:
    X, y = spiral(50, 4, seed=3)
    assert X.shape == (200, 2)
    assert X.dtype == np.float64
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 50, 50, 50]
    assert np.all(np.hypot(X[:, 0], X[:, 1]) <= 1.0 + 1e-12)


def test_spiral_without_noise_lies_on_the_cs231n_arms() -> None:
    n = 5
    X, y = spiral(n, 2, seed=0, noise=0.0)
    radius = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    for k in range(2):
        angle = 4 * k + 4 * radius  # the arms of the CS231n notes, by hand
        expected = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
        np.testing.assert_allclose(X[y == k], expected, rtol=0, atol=1e-15)


def test_spiral_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    first, labels = spiral(30, 3, seed=7)
    again, labels_again = spiral(30, 3, seed=7)
    other, _ = spiral(30, 3, seed=8)
    assert np.array_equal(first, again)
    assert np.array_equal(labels, labels_again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_per_class": 0, "n_classes": 3}, ValueError, "n_per_class must be a positive"),
        ({"n_per_class": 10, "n_classes": -1}, ValueError, "n_classes must be a positive"),
        ({"n_per_class": 2.5, "n_classes": 3}, TypeError, "n_per_class must be an integer"),
        ({"n_per_class": 10, "n_classes": True}, TypeError, "n_classes must be an integer"),
        ({"n_per_class": 10, "n_classes": 3, "noise": -0.1}, ValueError, "noise must be >= 0"),
    ],
)
def test_spiral_names_the_bad_argument(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        spiral(**kwargs)  # type: ignore[arg-type]


@st.composite
def labelled_rows(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Rows that name themselves (X[i] = i), and labels drawn for that many rows."""
    num_examples = draw(st.integers(min_value=2, max_value=60))
    num_classes = draw(st.integers(min_value=1, max_value=5))
    labels = draw(
        st.lists(st.integers(0, num_classes - 1), min_size=num_examples, max_size=num_examples)
    )
    return np.arange(num_examples).reshape(-1, 1), np.array(labels)


@given(
    data=labelled_rows(),
    test_size=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**32 - 1),
    stratify=st.booleans(),
)
def test_split_puts_every_example_in_exactly_one_part(
    data: tuple[np.ndarray, np.ndarray], test_size: float, seed: int, stratify: bool
) -> None:
    X, y = data
    # The documented sizes: round(test_size * n) held out, class by class when stratified.
    groups = [np.count_nonzero(y == label) for label in np.unique(y)] if stratify else [len(y)]
    num_test = sum(int(np.floor(test_size * size + 0.5)) for size in groups)
    if num_test in (0, len(y)):
        with pytest.raises(ValueError, match="part empty"):
            train_test_split(X, y, test_size=test_size, seed=seed, stratify=stratify)
        return
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, seed=seed, stratify=stratify
    )
    assert len(X_test) == num_test
    rows = np.concatenate([X_train[:, 0], X_test[:, 0]])
    assert sorted(rows.tolist()) == list(range(len(y)))
    assert np.array_equal(y_train, y[X_train[:, 0]])
    assert np.array_equal(y_test, y[X_test[:, 0]])


def test_stratified_split_holds_out_the_same_fraction_of_every_class() -> None:
    X, y = load_digits()
    _, _, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    # 20% of each class's count, rounded half up, by hand: 178 -> 35.6 -> 36, 174 -> 34.8 -> 35
    expected = [int(np.floor(0.2 * count + 0.5)) for count in UCI_TEST_SET_CLASS_COUNTS]
    assert np.bincount(y_test).tolist() == expected
    assert (np.bincount(y_train) + np.bincount(y_test)).tolist() == UCI_TEST_SET_CLASS_COUNTS


def test_split_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    X, y = load_digits()
    first = train_test_split(X, y, seed=5)
    again = train_test_split(X, y, seed=5)
    other = train_test_split(X, y, seed=6)
    for part, part_again in zip(first, again, strict=True):
        assert np.array_equal(part, part_again)
    assert not np.array_equal(first.y_test, other.y_test)


def test_split_works_on_read_only_input_and_leaves_it_unchanged() -> None:
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2
    X.flags.writeable = False
    y.flags.writeable = False
    split = train_test_split(X, y, test_size=0.25, stratify=False)
    assert split.X_test.shape == (5, 2)
    split.X_train[:] = -1  # the parts are copies, the caller's rows stay as they were
    assert np.array_equal(X, np.arange(40.0).reshape(20, 2))


@pytest.mark.parametrize(
    ("X", "y", "test_size", "message"),
    [
        (np.zeros((4, 2)), np.zeros(3, dtype=int), 0.5, r"y must have shape \(4,\)"),
        (np.zeros((4, 2)), np.zeros(4, dtype=int), 1.0, "test_size must be a fraction"),
        (np.zeros((4, 2)), np.zeros(4, dtype=int), 0.0, "test_size must be a fraction"),
        (np.zeros((4, 2)), np.zeros(4, dtype=int), 0.05, "leaves the test part empty"),
        (np.zeros((4, 2)), np.zeros(4, dtype=int), 0.95, "leaves the training part empty"),
    ],
)
def test_split_names_the_bad_argument(
    X: np.ndarray, y: np.ndarray, test_size: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        train_test_split(X, y, test_size=test_size)


@pytest.mark.parametrize(
    ("seed", "error", "message"),
    [
        ("0", TypeError, "seed must be None, an integer >= 0 or a numpy.random.Generator, got '0'"),
        (2.0, TypeError, "seed must be None, an integer >= 0 .*got 2.0 of type float"),
        (True, TypeError, "got True of type bool"),
        ([1, 2], TypeError, "got \\[1, 2\\] of type list"),
        (-1, ValueError, "seed must be an integer >= 0, got -1"),
    ],
)
def test_a_bad_seed_gets_flatprops_own_error_naming_seed(seed, error, message) -> None:
    with pytest.raises(error, match=message):
        spiral(5, 2, seed=seed)
    with pytest.raises(error, match=message):
        train_test_split(np.arange(10), np.arange(10) % 2, seed=seed)


def test_a_generator_is_a_seed() -> None:
    first, _ = spiral(5, 2, seed=np.random.default_rng(4))
    np.testing.assert_array_equal(first, spiral(5, 2, seed=4)[0])
