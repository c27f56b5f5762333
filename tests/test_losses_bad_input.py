"""Bad input gets a ValueError or TypeError naming the argument; inputs are never written to.

Each bad call is made through the one-shot function, the forward pass and the loop
reference, and must raise the stated error whose message names the argument (the
``match`` pattern), without touching any of the caller's arrays. Valid calls must
not write into their inputs either, and must work on read-only arrays.
"""

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop import losses
from flatprop.losses import LOSSES
from loss_cases import (
    ALL_LOSSES,
    CLASSIFICATION_LOSSES,
    LossCall,
    argument_names,
    loss_calls,
    losses_taking,
    losses_with_target,
)

LABELS_ONLY = losses_with_target("labels")
PROBABILITY_TARGETS = losses_with_target("labels or probabilities")
REGRESSION = losses_with_target("values")
WEIGHTED = losses_taking("weight")
WITH_MARGIN = losses_taking("margin")
SMOOTHED = losses_taking("label_smoothing")


def valid_arguments(name: str) -> dict[str, Any]:
    """Valid inputs (N = 2, C = 3) under the loss's own argument names."""
    spec = LOSSES[name]
    first, second = argument_names(spec)
    x = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    return {first: x, second: np.array([0, 2]) if spec.classification else np.ones((2, 3))}


PROBABILITIES = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
NAN, INF = float("nan"), float("inf")

# (losses, changed arguments, error, pattern its message must match)
BAD_INPUTS: list[tuple[tuple[str, ...], dict[str, Any], type[Exception], str]] = [
    # labels
    (
        CLASSIFICATION_LOSSES,
        {"y": np.array([0, 3])},
        ValueError,
        r"y must hold class labels in \[0, 3\).* 3$",
    ),
    (
        CLASSIFICATION_LOSSES,
        {"y": np.array([-1, 0])},
        ValueError,
        r"y must hold class labels in \[0, 3\).* -1$",
    ),
    (CLASSIFICATION_LOSSES, {"y": [0, -3]}, ValueError, r"y must hold class labels .* -3$"),
    (
        CLASSIFICATION_LOSSES,
        {"y": np.array([0.0, 2.0])},
        TypeError,
        "y must hold integer class labels",
    ),
    (
        CLASSIFICATION_LOSSES,
        {"y": np.array([True, False])},
        TypeError,
        "y must hold integer class labels, got booleans",
    ),
    (CLASSIFICATION_LOSSES, {"y": ["0", "2"]}, TypeError, "y must hold integer class labels"),
    # y=None said "got dtype object (an array of shape ())": say it is required
    (
        CLASSIFICATION_LOSSES,
        {"y": None},
        TypeError,
        r"^y is required: class labels of shape \(2,\), got None$",
    ),
    (CLASSIFICATION_LOSSES, {"y": np.array([0, 1, 2])}, ValueError, r"y must have shape \(2,\)"),
    (CLASSIFICATION_LOSSES, {"y": np.array([1])}, ValueError, r"y must have shape \(2,\)"),
    (
        CLASSIFICATION_LOSSES,
        {"y": [[0, 1], [2]]},
        ValueError,
        "y must be an array with rows of equal length",
    ),
    (CLASSIFICATION_LOSSES, {"y": 1}, ValueError, r"y must have shape \(2,\)"),
    (LABELS_ONLY, {"y": np.array([[0], [2]])}, ValueError, r"y must have shape \(2,\)"),
    # scores
    (CLASSIFICATION_LOSSES, {"scores": np.array([1.0, 2.0])}, ValueError, "scores must be 2-D"),
    (CLASSIFICATION_LOSSES, {"scores": np.ones((2, 3, 1))}, ValueError, "scores must be 2-D"),
    (CLASSIFICATION_LOSSES, {"scores": 3.0}, ValueError, "scores must be 2-D"),
    (
        CLASSIFICATION_LOSSES,
        {"scores": np.ones((2, 0))},
        ValueError,
        "scores must have at least one class",
    ),
    (
        CLASSIFICATION_LOSSES,
        {"scores": np.array([[1.0, NAN, 0.0], [0.0, 1.0, 2.0]])},
        ValueError,
        "scores must be finite.*index \\(0, 1\\)",
    ),
    (
        CLASSIFICATION_LOSSES,
        {"scores": np.array([[1.0, 0.0, 0.0], [0.0, INF, 2.0]])},
        ValueError,
        "scores must be finite",
    ),
    (
        CLASSIFICATION_LOSSES,
        {"scores": np.array([[1.0, 0.0, -INF], [0.0, 1.0, 2.0]])},
        ValueError,
        "scores must be finite",
    ),
    (
        CLASSIFICATION_LOSSES,
        {"scores": np.array([[INF, -INF, 0.0], [0.0, 1.0, 2.0]])},
        ValueError,
        "scores must be finite",
    ),
    (
        CLASSIFICATION_LOSSES,
        {"scores": np.ones((2, 3), dtype=complex)},
        TypeError,
        "scores must hold real numbers, got complex",
    ),
    (
        CLASSIFICATION_LOSSES,
        {"scores": np.ones((2, 3), dtype=bool)},
        TypeError,
        "scores must hold real numbers, got booleans",
    ),
    (
        CLASSIFICATION_LOSSES,
        {"scores": [["a", "b", "c"], ["d", "e", "f"]]},
        TypeError,
        "scores must hold real numbers",
    ),
    (CLASSIFICATION_LOSSES, {"scores": None}, TypeError, "scores must hold real numbers"),
    (
        CLASSIFICATION_LOSSES,
        {"scores": np.array([[1, None, 0], [0, 1, 2]])},
        TypeError,
        "scores must hold real numbers",
    ),
    (
        CLASSIFICATION_LOSSES,
        {"scores": [[1.0, 2.0, 3.0], [1.0, 2.0]]},
        ValueError,
        "scores must be an array with rows of equal length, got a ragged",
    ),
    # probability targets
    (
        PROBABILITY_TARGETS,
        {"y": np.array([[0.5, 0.6, -0.1], [1.0, 0.0, 0.0]])},
        ValueError,
        "y must hold probabilities >= 0",
    ),
    (
        PROBABILITY_TARGETS,
        {"y": np.array([[0.5, 0.4, 0.0], [1.0, 0.0, 0.0]])},
        ValueError,
        "y rows must sum to 1.* row 0",
    ),
    (
        PROBABILITY_TARGETS,
        {"y": np.array([[0.5, 0.5, 0.0], [1.0, 1.0, 0.0]])},
        ValueError,
        "y rows must sum to 1.* row 1",
    ),
    (
        PROBABILITY_TARGETS,
        {"y": np.array([[0.5, 0.5], [1.0, 0.0]])},
        ValueError,
        r"y as probability targets must have the shape of the scores \(2, 3\)",
    ),
    (
        PROBABILITY_TARGETS,
        {"y": np.array([[NAN, 0.5, 0.5], [1.0, 0.0, 0.0]])},
        ValueError,
        r"y must hold probabilities >= 0 .*got nan at index \(0, 0\)",
    ),
    (
        PROBABILITY_TARGETS,
        {"y": PROBABILITIES.astype(complex)},
        TypeError,
        "y must hold real numbers, got complex",
    ),
    (
        PROBABILITY_TARGETS,
        {"y": [[0.2, 0.8, 0.0], [1.0]]},
        ValueError,
        "y must be an array with rows of equal length",
    ),
    # pred and target
    (REGRESSION, {"pred": np.array([1.0, 2.0])}, ValueError, "pred must be 2-D"),
    (
        REGRESSION,
        {"pred": np.array([[1.0, NAN, 0.0], [0.0, 1.0, 2.0]])},
        ValueError,
        "pred must be finite",
    ),
    (
        REGRESSION,
        {"target": np.array([[1.0, 2.0, INF], [0.0, 1.0, 2.0]])},
        ValueError,
        "target must be finite",
    ),
    (
        REGRESSION,
        {"target": np.ones((2, 2))},
        ValueError,
        r"target must have the shape of pred \(2, 3\)",
    ),
    (
        REGRESSION,
        {"target": np.ones(3)},
        ValueError,
        r"target must have the shape of pred \(2, 3\)",
    ),
    (
        REGRESSION,
        {"target": np.ones((2, 3, 1))},
        ValueError,
        r"target must have the shape of pred \(2, 3\)",
    ),
    (
        REGRESSION,
        {"pred": np.ones((2, 3), dtype=complex)},
        TypeError,
        "pred must hold real numbers, got complex",
    ),
    (
        REGRESSION,
        {"target": np.ones((2, 3), dtype=complex)},
        TypeError,
        "target must hold real numbers, got complex",
    ),
    (
        REGRESSION,
        {"target": [["a", "b", "c"], ["d", "e", "f"]]},
        TypeError,
        "target must hold real numbers",
    ),
    (
        REGRESSION,
        {"pred": [[1.0, 2.0, 3.0], [1.0, 2.0]]},
        ValueError,
        "pred must be an array with rows of equal length",
    ),
    (
        REGRESSION,
        {"target": [[1.0, 2.0, 3.0], [1.0]]},
        ValueError,
        "target must be an array with rows of equal length",
    ),
    # reduction
    (
        ALL_LOSSES,
        {"reduction": "avg"},
        ValueError,
        "reduction must be one of 'mean', 'sum', 'none', got 'avg'",
    ),
    (ALL_LOSSES, {"reduction": "MEAN"}, ValueError, "reduction must be one of"),
    (ALL_LOSSES, {"reduction": None}, ValueError, "reduction must be one of"),
    # class weights
    (
        WEIGHTED,
        {"weight": np.ones(2)},
        ValueError,
        r"weight must have shape \(3,\), one weight per class",
    ),
    (
        WEIGHTED,
        {"weight": np.ones((1, 3))},
        ValueError,
        r"weight must have shape \(3,\)",
    ),
    (WEIGHTED, {"weight": 1.0}, ValueError, r"weight must have shape \(3,\)"),
    (
        WEIGHTED,
        {"weight": np.array([1.0, -0.5, 1.0])},
        ValueError,
        "weight must be non-negative",
    ),
    (
        WEIGHTED,
        {"weight": np.array([1.0, NAN, 1.0])},
        ValueError,
        "weight must be finite",
    ),
    (
        WEIGHTED,
        {"weight": np.array([1.0, INF, 1.0])},
        ValueError,
        "weight must be finite",
    ),
    (
        WEIGHTED,
        {"weight": np.ones(3, dtype=complex)},
        TypeError,
        "weight must hold real numbers",
    ),
    (
        WEIGHTED,
        {"weight": ["a", "b", "c"]},
        TypeError,
        "weight must hold real numbers",
    ),
    (
        WEIGHTED,
        {"weight": [1.0, [2.0, 3.0], 4.0]},
        ValueError,
        "weight must be an array with rows of equal length",
    ),
    # sample weights
    (
        ALL_LOSSES,
        {"sample_weight": np.ones(3)},
        ValueError,
        r"sample_weight must have shape \(2,\), one weight per example",
    ),
    (
        ALL_LOSSES,
        {"sample_weight": np.ones((2, 1))},
        ValueError,
        r"sample_weight must have shape \(2,\)",
    ),
    (
        ALL_LOSSES,
        {"sample_weight": np.array([1.0, -1.0])},
        ValueError,
        "sample_weight must be non-negative",
    ),
    (
        ALL_LOSSES,
        {"sample_weight": np.array([NAN, 1.0])},
        ValueError,
        "sample_weight must be finite",
    ),
    (
        ALL_LOSSES,
        {"sample_weight": np.array([True, False])},
        TypeError,
        "sample_weight must hold real numbers",
    ),
    # all-zero weights with "mean"
    (
        ALL_LOSSES,
        {"sample_weight": np.zeros(2)},
        ValueError,
        "reduction='mean' divides by the total weight.*all-zero weights",
    ),
    (
        WEIGHTED,
        {"weight": np.array([0.0, 1.0, 0.0])},
        ValueError,
        "reduction='mean' divides by the total weight.*all-zero weights",
    ),
    # margin
    (WITH_MARGIN, {"margin": "1"}, TypeError, "margin must be a real number, got '1'"),
    (WITH_MARGIN, {"margin": None}, TypeError, "margin must be a real number"),
    (WITH_MARGIN, {"margin": True}, TypeError, "margin must be a real number"),
    (WITH_MARGIN, {"margin": 1 + 0j}, TypeError, "margin must be a real number"),
    (WITH_MARGIN, {"margin": NAN}, ValueError, "margin must be finite"),
    (WITH_MARGIN, {"margin": INF}, ValueError, "margin must be finite"),
    # label smoothing
    (
        SMOOTHED,
        {"label_smoothing": -0.1},
        ValueError,
        r"label_smoothing must be in \[0, 1\], got -0.1",
    ),
    (
        SMOOTHED,
        {"label_smoothing": 1.5},
        ValueError,
        r"label_smoothing must be in \[0, 1\], got 1.5",
    ),
    (SMOOTHED, {"label_smoothing": NAN}, ValueError, "label_smoothing must be finite"),
    (SMOOTHED, {"label_smoothing": "0.1"}, TypeError, "label_smoothing must be a real number"),
    (SMOOTHED, {"label_smoothing": None}, TypeError, "label_smoothing must be a real number"),
    # options (issue 10, item 8): check_finite=None silently skipped the scan
    (ALL_LOSSES, {"check_finite": None}, TypeError, "check_finite must be True or False, got None"),
    (ALL_LOSSES, {"check_finite": "no"}, TypeError, "check_finite must be True or False"),
    (ALL_LOSSES, {"check_finite": 0}, TypeError, "check_finite must be True or False, got 0"),
    # probabilities are checked as probabilities, whatever check_finite says
    (
        PROBABILITY_TARGETS,
        {"y": np.array([[NAN, 0.5, 0.5], [1.0, 0.0, 0.0]]), "check_finite": False},
        ValueError,
        r"y must hold probabilities >= 0 .*got nan at index \(0, 0\)",
    ),
    (
        PROBABILITY_TARGETS,
        {"y": np.array([[INF, 0.5, 0.5], [1.0, 0.0, 0.0]]), "check_finite": False},
        ValueError,
        "y rows must sum to 1 .*got a row summing to inf at row 0",
    ),
    (
        PROBABILITY_TARGETS,
        {"y": np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])},
        ValueError,
        "y rows must sum to 1 .*summing to 0.0 at row 0 .*give it sample_weight 0",
    ),
]


def bad_input_cases() -> list[Any]:
    cases = []
    for names, changes, error, pattern in BAD_INPUTS:
        for name in names:
            label = ",".join(f"{key}={value!r}" for key, value in changes.items())
            cases.append(pytest.param(name, changes, error, pattern, id=f"{name}-{label}"[:90]))
    return cases


def all_arrays(arguments: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in arguments.items() if isinstance(value, np.ndarray | list)}


@pytest.mark.parametrize(("name", "changes", "error", "pattern"), bad_input_cases())
@pytest.mark.parametrize("implementation", ["function", "forward", "naive"])
def test_bad_input_raises_an_error_naming_the_argument_and_changes_nothing(
    implementation: str, name: str, changes: dict[str, Any], error: type[Exception], pattern: str
) -> None:
    arguments = {**valid_arguments(name), **changes}
    before = copy.deepcopy(all_arrays(arguments))
    function: Callable[..., Any] = getattr(LOSSES[name], implementation)
    with pytest.raises(error, match=pattern):
        function(**arguments)
    after = all_arrays(arguments)
    assert after.keys() == before.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[key], value, err_msg=f"{key} was changed")
        else:
            assert after[key] == value, f"{key} was changed"


def test_with_probability_targets_only_sample_weights_count_for_the_mean() -> None:
    # PyTorch divides the mean by N for probability targets, so zero class weights are
    # no error there (the loss is 0), while all-zero sample weights are.
    loss, _ = losses.softmax_cross_entropy(np.zeros((2, 3)), PROBABILITIES, weight=np.zeros(3))
    assert loss == 0.0
    with pytest.raises(ValueError, match="all-zero weights"):
        losses.softmax_cross_entropy(np.zeros((2, 3)), PROBABILITIES, sample_weight=np.zeros(2))


# The backward passes


def forward_cache(name: str, **options: Any) -> Any:
    return LOSSES[name].forward(**valid_arguments(name), **options)[1]


@pytest.mark.parametrize("name", ALL_LOSSES)
@pytest.mark.parametrize(
    ("reduction", "dloss", "error", "pattern"),
    [
        (
            "mean",
            np.ones(2),
            ValueError,
            r"dloss must be a scalar with reduction='mean'.*shape \(2,\)",
        ),
        ("sum", np.ones((1,)), ValueError, r"dloss must be a scalar with reduction='sum'"),
        (
            "none",
            np.ones(3),
            ValueError,
            r"dloss must be a scalar or have shape \(2,\).*got shape \(3,\)",
        ),
        ("none", np.ones((2, 1)), ValueError, r"dloss must be a scalar or have shape \(2,\)"),
        ("sum", NAN, ValueError, "dloss must be finite"),
        ("none", np.array([1.0, INF]), ValueError, "dloss must be finite"),
        ("sum", "1.0", TypeError, "dloss must hold real numbers"),
        ("sum", 1j, TypeError, "dloss must hold real numbers, got complex"),
        ("mean", None, TypeError, "dloss must hold real numbers"),
    ],
)
def test_a_bad_dloss_raises_an_error_naming_it(
    name: str, reduction: str, dloss: Any, error: type[Exception], pattern: str
) -> None:
    cache = forward_cache(name, reduction=reduction)
    before = copy.deepcopy(dloss)
    with pytest.raises(error, match=pattern):
        LOSSES[name].backward(cache, dloss)
    np.testing.assert_array_equal(dloss, before)


@pytest.mark.parametrize("backward_name", ALL_LOSSES)
@pytest.mark.parametrize("cache_name", [*ALL_LOSSES, "a tuple", "None"])
def test_a_backward_pass_refuses_the_cache_of_another_loss(
    backward_name: str, cache_name: str
) -> None:
    if cache_name == backward_name:
        return
    not_caches = {"a tuple": (1, 2), "None": None}
    cache = not_caches[cache_name] if cache_name in not_caches else forward_cache(cache_name)
    with pytest.raises(
        TypeError, match=f"cache must be the cache returned by {backward_name}_forward"
    ):
        LOSSES[backward_name].backward(cache)


# Valid calls: no writes into the caller's arrays, read-only arrays work


def run_everything(call: LossCall, dloss: np.ndarray) -> list[np.ndarray]:
    """Every result of the one-shot call, the staged passes (dloss) and the reference."""
    key = call.loss.input_name
    loss, grads = call.one_shot()
    staged_loss, cache = call.forward()
    staged = call.loss.backward(cache, dloss)
    reference_loss, reference_grads = call.naive()
    return [loss, grads[key], staged_loss, staged[key], reference_loss, reference_grads[key]]


def draw_dloss(data: st.DataObject, call: LossCall) -> np.ndarray:
    if call.options["reduction"] == "none":
        return np.linspace(-1.0, 1.0, len(call.x))
    return np.array(data.draw(st.floats(-2, 2), label="dloss"))


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_valid_calls_never_write_into_their_inputs(name: str, data: st.DataObject) -> None:
    call = data.draw(loss_calls(name, off_kinks=False), label="call")
    dloss = draw_dloss(data, call)
    before, dloss_before = call.snapshot(), dloss.copy()
    run_everything(call, dloss)
    for value, original in zip(call.arrays(), before, strict=True):
        np.testing.assert_array_equal(value, original)
    np.testing.assert_array_equal(dloss, dloss_before)


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_read_only_inputs_work_and_give_the_same_results(name: str, data: st.DataObject) -> None:
    call = data.draw(loss_calls(name, off_kinks=False), label="call")
    dloss = draw_dloss(data, call)
    expected = run_everything(call, dloss)
    frozen = copy.deepcopy(call)
    frozen_dloss = dloss.copy()
    for array in [*frozen.arrays(), frozen_dloss]:
        array.flags.writeable = False
    for result, reference in zip(run_everything(frozen, frozen_dloss), expected, strict=True):
        np.testing.assert_array_equal(result, reference)


def test_read_only_views_and_non_contiguous_inputs_work() -> None:
    base = np.arange(24, dtype=np.float64).reshape(4, 6) / 7
    scores = base[:, ::2]  # a strided view, 4 x 3
    scores.flags.writeable = False
    y = np.array([0, 1, 2, 1])
    loss, grads = losses.softmax_cross_entropy(scores, y)
    expected_loss, expected_grads = losses.softmax_cross_entropy(np.ascontiguousarray(scores), y)
    assert loss == expected_loss
    np.testing.assert_array_equal(grads["scores"], expected_grads["scores"])


# check_finite=False: the caller takes responsibility, and -inf logits still behave

MINUS_INF_SCORES = np.array([[0.5, 1.0, -INF, 2.0], [2.0, -INF, 0.0, 1.0]])
MINUS_INF_LABELS = np.array([0, 3])
FINITE_COLUMNS = {0: [0, 1, 3], 1: [0, 2, 3]}  # the columns of each row that are finite


def without_the_minus_inf_column(row: int) -> np.ndarray:
    return MINUS_INF_SCORES[row : row + 1, FINITE_COLUMNS[row]]


@pytest.mark.parametrize("name", CLASSIFICATION_LOSSES)
def test_a_minus_inf_non_target_score_is_a_class_that_does_not_count(name: str) -> None:
    # exp(-inf) = 0 and max(0, -inf) = 0: the row's loss is that of the row without the
    # class, and the class gets a zero gradient.
    function = LOSSES[name].function
    per_example, grads = function(
        MINUS_INF_SCORES, MINUS_INF_LABELS, reduction="none", check_finite=False
    )
    for row, columns in FINITE_COLUMNS.items():
        label = columns.index(int(MINUS_INF_LABELS[row]))
        expected, expected_grads = function(
            without_the_minus_inf_column(row), [label], reduction="none"
        )
        assert per_example[row] == pytest.approx(expected[0], rel=1e-15)
        np.testing.assert_allclose(
            grads["scores"][row, columns], expected_grads["scores"][0], rtol=1e-15
        )
    assert grads["scores"][0, 2] == 0.0
    assert grads["scores"][1, 1] == 0.0


@pytest.mark.parametrize(
    "options",
    [
        {"weight": np.array([1.0, 0.5, 2.0, 1.5])},
        {"weight": np.array([1.0, 0.0, 0.0, 1.5]), "label_smoothing": 0.2},  # zero target mass
        {"sample_weight": np.array([0.5, 2.0])},
    ],
    ids=["class-weights", "smoothing-with-zero-weight-on-the-minus-inf-classes", "sample-weights"],
)
def test_a_minus_inf_logit_without_target_mass_gives_a_finite_softmax_loss(
    options: dict[str, Any],
) -> None:
    per_example, grads = losses.softmax_cross_entropy(
        MINUS_INF_SCORES, MINUS_INF_LABELS, reduction="none", check_finite=False, **options
    )
    assert np.all(np.isfinite(per_example))
    assert grads["scores"][0, 2] == 0.0
    assert grads["scores"][1, 1] == 0.0
    expected, expected_grads = losses.softmax_cross_entropy(
        np.where(np.isinf(MINUS_INF_SCORES), -1e4, MINUS_INF_SCORES),  # e**-1e4 is 0 too
        MINUS_INF_LABELS,
        reduction="none",
        **options,
    )
    np.testing.assert_allclose(per_example, expected, rtol=1e-15)
    np.testing.assert_allclose(grads["scores"], expected_grads["scores"], rtol=1e-15, atol=0)


def test_probability_targets_without_mass_on_a_minus_inf_logit_give_a_finite_loss() -> None:
    targets = np.array([[0.5, 0.25, 0.0, 0.25], [0.0, 0.0, 0.5, 0.5]])
    per_example, grads = losses.softmax_cross_entropy(
        MINUS_INF_SCORES, targets, reduction="none", check_finite=False
    )
    assert np.all(np.isfinite(per_example))
    assert grads["scores"][0, 2] == 0.0
    assert grads["scores"][1, 1] == 0.0


@pytest.mark.parametrize("name", CLASSIFICATION_LOSSES)
def test_a_minus_inf_target_score_gives_an_infinite_loss_not_nan(name: str) -> None:
    # The hinges compute s_y - s_y = -inf - (-inf) on the way, a NaN that they then
    # overwrite with the held-at-0 target margin; NumPy warns about it. The caller
    # took responsibility (check_finite=False): what is pinned here is the result.
    with np.errstate(invalid="ignore"):
        per_example, grads = LOSSES[name].function(
            MINUS_INF_SCORES, np.array([2, 1]), reduction="none", check_finite=False
        )
    np.testing.assert_array_equal(per_example, [INF, INF])
    assert not np.any(np.isnan(grads["scores"]))


def test_smoothing_onto_a_minus_inf_logit_gives_an_infinite_loss_not_nan() -> None:
    # label smoothing puts mass eps / C on every class, including one of probability 0
    per_example, grads = losses.softmax_cross_entropy(
        MINUS_INF_SCORES,
        MINUS_INF_LABELS,
        label_smoothing=0.1,
        reduction="none",
        check_finite=False,
    )
    np.testing.assert_array_equal(per_example, [INF, INF])
    assert not np.any(np.isnan(grads["scores"]))


# Arrays NumPy cannot read (issue 10, item 8): a torch tensor that requires grad raises a
# RuntimeError in np.asarray, one of dtype bfloat16 a TypeError; neither named the
# argument. These stand-ins raise what torch's raise (tests/test_losses_torch.py uses
# torch itself when it is installed).


class TensorThatRequiresGrad:
    requires_grad = True
    dtype = "torch.float64"

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        raise RuntimeError(
            "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
        )


class Bfloat16Tensor:
    requires_grad = False
    dtype = "torch.bfloat16"

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        raise TypeError("Got unsupported ScalarType BFloat16")


@pytest.mark.parametrize("name", ALL_LOSSES)
@pytest.mark.parametrize("implementation", ["function", "naive"])
def test_an_array_numpy_cannot_read_is_a_type_error_naming_the_argument(
    implementation: str, name: str
) -> None:
    spec = LOSSES[name]
    function = getattr(spec, implementation)
    arguments = valid_arguments(name)
    replaced = list(arguments)
    replaced += ["sample_weight"] + (["weight"] if "weight" in spec.options else [])
    for argument in replaced:
        for foreign, pattern in (
            (TensorThatRequiresGrad(), rf"requires grad; pass {argument}\.detach\(\)"),
            (Bfloat16Tensor(), "of dtype torch.bfloat16, which NumPy cannot convert"),
        ):
            with pytest.raises(TypeError, match=f"^{argument} must be an array NumPy can read.*"):
                function(**{**arguments, argument: foreign})
            with pytest.raises(TypeError, match=pattern):
                function(**{**arguments, argument: foreign})


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_a_dloss_numpy_cannot_read_is_a_type_error_naming_it(name: str) -> None:
    cache = forward_cache(name, reduction="none")
    with pytest.raises(TypeError, match=r"dloss must be an array NumPy can read.*detach\(\)"):
        LOSSES[name].backward(cache, TensorThatRequiresGrad())


# Messages (issue 10, item 10): numbers as Python prints them, each thing said once.


@pytest.mark.parametrize(
    ("call", "shown"),
    [
        (lambda: losses.softmax_cross_entropy([[1.0, 0.0]], np.array([[-0.8, 1.8]])), "-0.8"),
        (lambda: losses.multiclass_svm([[1.0, np.nan]], [0]), "first nan"),
        (lambda: losses.multiclass_svm([[1.0, 0.0]], [0], weight=np.array([1.0, -2.5])), "-2.5"),
        (lambda: losses.l2([[1.0]], sample_weight=np.array([np.inf])), "got inf"),
        (
            lambda: losses.softmax_cross_entropy([[1.0, 0.0]], np.array([[0.25, 0.5]])),
            "summing to 0.75",
        ),
        (lambda: losses.multiclass_svm([[1.0, 0.0]], [0], margin=np.float64(np.inf)), "got inf"),
    ],
)
def test_messages_show_numbers_as_python_prints_them(call: Callable[[], Any], shown: str) -> None:
    with pytest.raises(ValueError, match=" must ") as error:
        call()
    assert shown in str(error.value)
    assert "np." not in str(error.value)


def test_the_float_label_error_names_the_dtype_once() -> None:
    with pytest.raises(TypeError, match="y must hold integer class labels") as error:
        losses.multiclass_svm([[1.0, 0.0]], np.array([0.5]))
    assert str(error.value).count("float64") == 1


# Rows whose largest score is infinite (check_finite=False): the limit of equal scores
# (issue 10, item 10). The cache's log_sum_exp, of the shifted scores, stays in
# [0, log C]; row_max + log_sum_exp is SciPy's logsumexp of the row: -inf for all -inf.


def test_a_row_of_all_minus_inf_is_the_limit_of_equal_scores_without_nan() -> None:
    scores = np.array([[-INF, -INF, -INF, -INF], [0.0, 1.0, 2.0, 3.0]])
    loss, cache = losses.softmax_cross_entropy_forward(
        scores, [1, 3], reduction="none", check_finite=False
    )
    grads = losses.softmax_cross_entropy_backward(cache, np.ones(2))
    assert cache.log_sum_exp[0] == pytest.approx(np.log(4), rel=1e-15)  # in [0, log C]
    assert cache.row_max[0] + cache.log_sum_exp[0] == -INF  # scipy.special.logsumexp: -inf
    assert loss[0] == pytest.approx(np.log(4), rel=1e-15)  # uniform: -log(1/4)
    np.testing.assert_array_equal(grads["scores"][0], [0.25, -0.75, 0.25, 0.25])
    np.testing.assert_array_equal(cache.probs[0], 0.25)


def test_plus_inf_scores_share_the_probability_equally() -> None:
    scores = np.array([[INF, 0.0, INF, -INF]])
    loss, cache = losses.softmax_cross_entropy_forward(scores, [0], check_finite=False)
    grads = losses.softmax_cross_entropy_backward(cache)
    np.testing.assert_array_equal(cache.probs, [[0.5, 0.0, 0.5, 0.0]])
    assert loss == pytest.approx(np.log(2), rel=1e-15)
    np.testing.assert_array_equal(grads["scores"], [[-0.5, 0.0, 0.5, 0.0]])
    targets = np.array([[0.0, 1.0, 0.0, 0.0]])
    loss, _ = losses.softmax_cross_entropy(scores, targets, check_finite=False)
    assert loss == INF  # target mass on a class of probability 0
