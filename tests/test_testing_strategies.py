"""flatprop.testing.strategies: the linear and two-layer problems, values on a grid, and
the NumPy literals that failure messages are written in."""

from random import Random

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from flatprop.testing._report import literal
from flatprop.testing.strategies import (
    classification_problems,
    linear_problems,
    two_layer_problems,
)

KINK_GAP = 1e-3  # the strategies' default kink_gap
SEARCH = settings(database=None, max_examples=1_000, phases=[Phase.generate])  # for find


def find_one(strategy, condition):
    """Some draw of the strategy that meets the condition (fails if none in 1,000)."""
    return find(strategy, condition, settings=SEARCH, random=Random(0))


def hinge_margins(scores, y, margin=1.0):
    """s_j - s_y + margin for every j != y, flattened."""
    rows = np.arange(len(y))
    margins = scores - scores[rows, y][:, np.newaxis] + margin
    return np.delete(margins.ravel(), rows * scores.shape[1] + y)


def hinge_scales(scores, y):
    """1 + |s_j| + |s_y| for every j != y, flattened like hinge_margins."""
    rows = np.arange(len(y))
    scales = 1 + np.abs(scores) + np.abs(scores[rows, y])[:, np.newaxis]
    return np.delete(scales.ravel(), rows * scores.shape[1] + y)


def two_layer_pre_activations(problem):
    return problem.X @ problem.params["W1"] + problem.params["b1"]


def two_layer_scores(problem):
    hidden = np.maximum(two_layer_pre_activations(problem), 0)
    return hidden @ problem.params["W2"] + problem.params["b2"]


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


# NumPy literals


FLOAT_ARRAYS = st.sampled_from([np.float64, np.float32]).flatmap(
    lambda dtype: hnp.arrays(
        dtype,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3),
        elements={"allow_subnormal": True},
    )
)


@given(FLOAT_ARRAYS)
def test_a_literal_reads_back_to_the_same_array(array):
    again = eval(literal(array), {"np": np})
    assert again.dtype == array.dtype
    assert again.shape == array.shape
    assert np.array_equal(again, array, equal_nan=True)
    numbers = ~np.isnan(array)
    assert np.array_equal(np.signbit(again[numbers]), np.signbit(array[numbers]))  # -0.0


def test_literals_of_a_dict_of_arrays_and_of_special_values():
    params = {"W": np.array([[-0.0, np.inf], [np.nan, 1e-300]]), "y": np.array([2, 0])}
    assert literal(params) == (
        "{\n"
        '    "W": np.array([\n'
        "        [-0.0, np.inf],\n"
        "        [np.nan, 1e-300],\n"
        "    ]),\n"
        '    "y": np.array([2, 0]),\n'
        "}"
    )
    assert literal(np.zeros((0, 3), dtype=np.float32)) == "np.zeros((0, 3), dtype=np.float32)"
