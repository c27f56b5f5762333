"""flatprop.testing.strategies draws what it promises: shapes, dtypes and ranges, the
classification, regression, linear and two-layer problems, off the kinks or on a grid
that reaches them, and a clear error for a bad option."""

from random import Random

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from flatprop.testing.strategies import (
    ClassificationProblem,
    RegressionProblem,
    classification_problems,
    linear_problems,
    probability_targets,
    regression_problems,
    two_layer_problems,
    weights,
)
from helpers import KINK_GAP, ROW_SUM_RTOL, hinge_margins, two_layer_forward

SEARCH = settings(database=None, max_examples=1_000, phases=[Phase.generate])  # for find


def find_one(strategy, condition):
    """Some draw of the strategy that meets the condition (fails if none in 1,000)."""
    return find(strategy, condition, settings=SEARCH, random=Random(0))


def hinge_scales(scores, y):
    """1 + |s_j| + |s_y| for every j != y, flattened like hinge_margins."""
    rows = np.arange(len(y))
    scales = 1 + np.abs(scores) + np.abs(scores[rows, y])[:, np.newaxis]
    return np.delete(scales.ravel(), rows * scores.shape[1] + y)


def two_layer_pre_activations(problem):
    return two_layer_forward(problem.params, problem.X)[0]


def two_layer_scores(problem):
    return two_layer_forward(problem.params, problem.X)[1]


# classification_problems, probability_targets, weights, regression_problems


@given(
    data=st.data(),
    dtype=st.sampled_from([np.float16, np.float32, np.float64]),
    sizes=st.tuples(st.integers(0, 4), st.integers(1, 4)),
)
def test_classification_problems_have_the_requested_shapes_dtype_and_range(
    data: st.DataObject, dtype: type, sizes: tuple[int, int]
) -> None:
    low, high = sizes
    problem = data.draw(
        classification_problems(
            num_examples=(low, low + 2),
            num_classes=high,
            dtype=dtype,
            min_value=-0.1,
            max_value=2.5,
        )
    )
    assert isinstance(problem, ClassificationProblem)
    scores, y = problem
    assert low <= scores.shape[0] <= low + 2
    assert scores.shape[1] == high
    assert scores.dtype == dtype
    assert np.all((scores >= -0.1) & (scores <= 2.5))
    assert y.shape == (scores.shape[0],)
    assert y.dtype == np.int64
    assert np.all((y >= 0) & (y < high))


@given(problem=classification_problems(hinge_margin=1.0, kink_gap=1e-2))
def test_classification_problems_stay_off_the_hinge_kinks_when_asked(
    problem: ClassificationProblem,
) -> None:
    scores, y = problem
    rows = np.arange(len(y))
    correct = scores[rows, y][:, np.newaxis]
    terms = scores - correct + 1.0
    gaps = np.abs(terms) / (1 + np.abs(scores) + np.abs(correct))
    gaps[rows, y] = np.inf
    assert np.all(gaps >= 1e-2)


@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_probability_targets_are_non_negative_rows_summing_to_one(
    data: st.DataObject, dtype: type
) -> None:
    num_examples, num_classes = data.draw(st.integers(0, 5)), data.draw(st.integers(1, 6))
    targets = data.draw(probability_targets(num_examples, num_classes, dtype=dtype))
    assert targets.shape == (num_examples, num_classes)
    assert targets.dtype == dtype
    assert np.all(targets >= 0)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=ROW_SUM_RTOL[dtype])


@given(data=st.data(), allow_zero=st.booleans())
def test_weights_are_zero_or_within_the_range(data: st.DataObject, allow_zero: bool) -> None:
    length = data.draw(st.integers(0, 6))
    drawn = data.draw(weights(length, min_value=0.5, max_value=2.0, allow_zero=allow_zero))
    assert drawn.shape == (length,)
    positive = drawn[drawn != 0]
    assert np.all((positive >= 0.5) & (positive <= 2.0))
    if not allow_zero:
        assert positive.size == length


@given(problem=regression_problems(num_examples=3, num_outputs=(1, 2), with_target=None))
def test_regression_problems_have_matching_pred_and_target(problem: RegressionProblem) -> None:
    pred, target = problem
    assert pred.shape[0] == 3
    assert 1 <= pred.shape[1] <= 2
    assert target is None or target.shape == pred.shape


@given(problem=regression_problems(with_target=False))
def test_regression_problems_without_target_have_none(problem: RegressionProblem) -> None:
    assert problem.target is None


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"num_classes": 0}, "num_classes must be an int >= 1"),
        ({"num_examples": (3, 1)}, "num_examples must be an int >= 0 or a pair"),
        ({"dtype": np.int64}, "dtype must be float16, float32 or float64"),
    ],
)
def test_classification_problems_refuse_bad_options(options: dict, pattern: str) -> None:
    @given(classification_problems(**options))
    def draw(problem: ClassificationProblem) -> None:
        pass

    with pytest.raises(ValueError, match=pattern):
        draw()


# linear_problems


@given(linear_problems(num_examples=3, num_features=(1, 2), num_classes=4, reg=0.5))
def test_linear_problems_have_consistent_shapes_and_labels_in_range(problem):
    W, X, y, reg = problem
    assert W.shape[1] == 4
    assert X.shape == (3, W.shape[0])
    assert W.shape[0] in (1, 2)
    assert y.shape == (3,)
    assert y.dtype == np.int64
    assert np.all((y >= 0) & (y < 4))
    assert reg == 0.5


@given(linear_problems(dtype=np.float32, min_value=-1.0, max_value=2.0, regression=True))
def test_linear_problems_keep_dtype_and_range_and_draw_targets_for_regression(problem):
    W, X, y, reg = problem
    assert W.dtype == X.dtype == y.dtype == np.float32
    assert y.shape == (X.shape[0], W.shape[1])
    for array in (W, X, y):
        assert np.all((array >= -1.0) & (array <= 2.0))
    assert 0.0 <= reg <= 1.0


@given(linear_problems(hinge_margin=1.0))
def test_linear_problems_stay_off_the_hinge_kinks_when_asked(problem):
    scores = problem.X @ problem.W
    margins, scales = hinge_margins(scores, problem.y), hinge_scales(scores, problem.y)
    assert np.all(np.abs(margins) >= KINK_GAP * scales)


def test_linear_problems_on_a_grid_reach_exact_hinge_kinks():
    problem = find_one(
        linear_problems(grid=0.5, min_value=-2, max_value=2),
        lambda problem: np.any(hinge_margins(problem.X @ problem.W, problem.y) == 0),
    )
    assert np.all(np.mod(problem.W, 0.5) == 0)


# two_layer_problems


@given(two_layer_problems(num_hidden=3, dtype=np.float32))
def test_two_layer_problems_have_params_that_chain(problem):
    params, X, y, _ = problem
    assert list(params) == ["W1", "b1", "W2", "b2"]
    assert params["W1"].shape == (X.shape[1], 3)
    assert params["b1"].shape == (3,)
    assert params["W2"].shape[0] == 3
    assert params["b2"].shape == (params["W2"].shape[1],)
    assert y.shape == (X.shape[0],)
    assert all(array.dtype == np.float32 for array in (*params.values(), X))


@given(two_layer_problems(avoid_relu_kinks=True, hinge_margin=1.0))
def test_two_layer_problems_stay_off_both_kinds_of_kink_when_asked(problem):
    assert np.all(two_layer_pre_activations(problem) != 0)
    assert np.all(hinge_margins(two_layer_scores(problem), problem.y) != 0)


def test_two_layer_problems_on_a_grid_reach_exact_relu_kinks():
    problem = find_one(
        two_layer_problems(grid=0.5),
        lambda problem: (
            np.any(two_layer_pre_activations(problem) == 0)
            and np.any(two_layer_pre_activations(problem) != 0)
        ),
    )
    assert np.all(np.mod(problem.X, 0.5) == 0)


def test_classification_problems_on_a_grid_reach_exact_hinge_kinks():
    scores, _ = find_one(
        classification_problems(grid=0.5, num_examples=(1, 3)),
        lambda problem: np.any(hinge_margins(*problem) == 0),
    )
    assert np.all(np.mod(scores, 0.5) == 0)


@pytest.mark.parametrize(
    ("strategy", "pattern"),
    [
        (linear_problems(grid=0.0), "grid must be a finite float > 0"),
        (linear_problems(grid=1.0, min_value=0.1, max_value=0.9), "no multiple of grid"),
        (two_layer_problems(reg=-0.1), "reg must be a float >= 0"),
        (two_layer_problems(num_hidden=0), "num_hidden must be an int >= 1"),
    ],
)
def test_bad_strategy_arguments_raise_a_clear_error(strategy, pattern):
    @given(strategy)
    def draw_one(problem):
        pass

    with pytest.raises(ValueError, match=pattern):
        draw_one()
