"""flatprop.testing.strategies draws what it promises; flatprop itself needs no Hypothesis."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop.testing.strategies import (
    ClassificationProblem,
    RegressionProblem,
    classification_problems,
    probability_targets,
    regression_problems,
    weights,
)

ROW_SUM_RTOL = {np.float64: 1e-12, np.float32: 1e-5}


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


def test_flatprop_imports_without_hypothesis() -> None:
    program = "\n".join(
        [
            "import sys",
            "sys.modules['hypothesis'] = None  # as if it were not installed",
            "import flatprop, flatprop.losses, flatprop.naive, flatprop.gradcheck",
            "try:",
            "    import flatprop.testing",
            "except ImportError as error:",
            "    print(error)",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert "flatprop.testing needs Hypothesis" in result.stdout
