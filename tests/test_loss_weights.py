"""The weight words, from the argument to the cache: ``weight`` is per class,
``sample_weight`` per example, and example i's weight ``example_weight[i]`` is
``sample_weight[i] * weight[y[i]]``.

The expected values are worked by hand for WEIGHT, SAMPLE_WEIGHT and LABELS below.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from flatprop import losses
from flatprop.losses import LOSSES, LossSpec
from helpers import REORDERED_RTOL, assert_close
from loss_cases import ALL_LOSSES, CLASSIFICATION_LOSSES, loss_calls

WEIGHT = np.array([1.0, 2.0, 3.0])  # per class
SAMPLE_WEIGHT = np.array([0.5, 1.0, 2.0])  # per example
LABELS = np.array([0, 2, 2])
# sample_weight[i] * weight[y[i]]: 0.5 * 1, 1 * 3, 2 * 3
EXAMPLE_WEIGHT = np.array([0.5, 3.0, 6.0])
CLASSIFICATION = [spec for spec in LOSSES.values() if spec.classification]
REGRESSION = [spec for spec in LOSSES.values() if not spec.classification]


def each(specs: list[LossSpec]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("spec", specs, ids=[spec.name for spec in specs])


@each(CLASSIFICATION)
def test_a_classification_cache_keeps_weight_sample_weight_and_their_product(
    spec: LossSpec,
) -> None:
    _, cache = spec.forward(
        np.zeros((3, 3)), LABELS, weight=WEIGHT.tolist(), sample_weight=SAMPLE_WEIGHT.tolist()
    )
    np.testing.assert_array_equal(cache.weight, WEIGHT)
    np.testing.assert_array_equal(cache.sample_weight, SAMPLE_WEIGHT)
    np.testing.assert_array_equal(cache.example_weight, EXAMPLE_WEIGHT)


@each(CLASSIFICATION)
def test_with_class_weights_alone_an_examples_weight_is_its_labels_weight(
    spec: LossSpec,
) -> None:
    _, cache = spec.forward(np.zeros((3, 3)), LABELS, weight=WEIGHT)
    assert cache.sample_weight is None
    np.testing.assert_array_equal(cache.example_weight, [1.0, 3.0, 3.0])


@each(list(LOSSES.values()))
def test_an_unweighted_cache_holds_none_for_every_weight(spec: LossSpec) -> None:
    target = LABELS if spec.classification else np.ones((3, 3))
    _, cache = spec.forward(np.zeros((3, 3)), target)
    assert cache.sample_weight is None
    assert cache.example_weight is None
    assert getattr(cache, "weight", None) is None


@each(REGRESSION)
def test_a_regression_cache_has_no_class_weights_and_its_example_weight_is_sample_weight(
    spec: LossSpec,
) -> None:
    _, cache = spec.forward(np.zeros((3, 2)), np.ones((3, 2)), sample_weight=SAMPLE_WEIGHT)
    assert not hasattr(cache, "weight")
    np.testing.assert_array_equal(cache.sample_weight, SAMPLE_WEIGHT)
    np.testing.assert_array_equal(cache.example_weight, SAMPLE_WEIGHT)


def test_with_probability_targets_an_examples_weight_is_its_sample_weight() -> None:
    spec = LOSSES["softmax_cross_entropy"]
    targets = np.full((3, 3), 1 / 3)
    _, cache = spec.forward(np.zeros((3, 3)), targets, weight=WEIGHT, sample_weight=SAMPLE_WEIGHT)
    np.testing.assert_array_equal(cache.weight, WEIGHT)
    np.testing.assert_array_equal(cache.example_weight, SAMPLE_WEIGHT)


@each(CLASSIFICATION)
def test_the_mean_divides_the_sum_by_the_total_example_weight(spec: LossSpec) -> None:
    scores = np.array([[1.0, -0.5, 0.25], [0.0, 2.0, -1.0], [0.5, 0.5, 3.0]])
    options = {"weight": WEIGHT, "sample_weight": SAMPLE_WEIGHT}
    total, _ = spec.function(scores, LABELS, reduction="sum", **options)
    mean, _ = spec.function(scores, LABELS, reduction="mean", **options)
    assert total / mean == pytest.approx(EXAMPLE_WEIGHT.sum(), rel=1e-12)  # 9.5


# Weights of any size, and weights of 0 (issue 10, items 3 and 4). A mean is a weighted
# average: it cannot depend on the scale of the weights, and an example of weight 0 does
# not count, whatever its scores.

SVM_SCORES = np.array([[0.0, 1.5, -1.0], [2.0, 0.0, 0.5]])
SVM_LABELS = np.array([0, 1])
# By hand: row 0 has margins 1.5 - 0 + 1 = 2.5 and -1 - 0 + 1 = 0 (the kink: inactive),
# row 1 has 2 - 0 + 1 = 3 and 0.5 - 0 + 1 = 1.5; the mean of 2.5 and 4.5 is 3.5.
SVM_MEAN = 3.5
SVM_MEAN_GRADIENT = np.array([[-1.0, 1.0, 0.0], [1.0, -2.0, 1.0]]) / 2
BIGGEST = float(np.finfo(np.float64).max)


@pytest.mark.parametrize(
    "weights",
    [
        {"sample_weight": [1e308, 1e308]},
        {"weight": [1e308, 1e308, 1e308]},
        {"sample_weight": [BIGGEST, BIGGEST], "weight": [1.0, 1.0, 1.0]},
        {"sample_weight": [5e-324, 5e-324]},  # the smallest subnormal: its sum is 1e-323
    ],
    ids=["huge-sample-weights", "huge-class-weights", "largest-float", "smallest-subnormal"],
)
def test_equal_weights_of_any_size_give_the_unweighted_mean_and_gradient(
    weights: dict[str, list[float]],
) -> None:
    loss, grads = LOSSES["multiclass_svm"].function(SVM_SCORES, SVM_LABELS, **weights)
    assert loss == SVM_MEAN
    np.testing.assert_array_equal(grads["scores"], SVM_MEAN_GRADIENT)


def extreme_factor(weights: np.ndarray, draw: st.DrawFn) -> float:
    """A positive factor that keeps every weight finite and the nonzero ones normal."""
    largest = float(np.max(weights))
    smallest = float(np.min(weights[weights > 0], initial=largest))
    low = np.log2(float(np.finfo(np.float64).tiny) / smallest)
    high = min(np.log2(BIGGEST / largest), 1023.0) - 1e-9  # the factor itself is a float
    exponent = draw(st.sampled_from([low, high]) | st.floats(low, high))
    return float(2.0**exponent)


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_scaling_all_sample_weights_leaves_the_mean_and_its_gradient_unchanged(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name, reduction="mean", weighted=True), label="call")
    sample_weight = call.options["sample_weight"]
    factor = extreme_factor(sample_weight, data.draw)
    key = call.loss.input_name
    loss, grads = call.one_shot()
    scaled_loss, scaled_grads = call.replace(sample_weight=sample_weight * factor).one_shot()
    # factor * w rounds each weight once: the mean moves by a few ulps at most
    assert_close(scaled_loss, loss, rtol=REORDERED_RTOL, what="loss")
    assert_close(scaled_grads[key], grads[key], rtol=REORDERED_RTOL, what=f"d{key}")


@pytest.mark.parametrize("name", CLASSIFICATION_LOSSES)
@given(data=st.data())
def test_scaling_all_class_weights_leaves_a_mean_over_labels_unchanged(
    name: str, data: st.DataObject
) -> None:
    # PyTorch's mean over labels divides by the labels' class weights: their scale cancels.
    call = data.draw(loss_calls(name, reduction="mean", weighted=True), label="call")
    assume(call.labels is not None)
    weight = call.options["weight"]
    factor = extreme_factor(weight, data.draw)
    loss, grads = call.one_shot()
    scaled_loss, scaled_grads = call.replace(weight=weight * factor).one_shot()
    assert_close(scaled_loss, loss, rtol=REORDERED_RTOL, what="loss")
    assert_close(scaled_grads["scores"], grads["scores"], rtol=REORDERED_RTOL, what="dscores")


def test_huge_class_weights_scale_a_mean_over_probability_targets() -> None:
    # With probability targets PyTorch's mean divides by N: class weights scale it.
    scores = np.array([[1.0, -0.5, 0.25], [0.0, 2.0, -1.0]])
    targets = np.array([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0]])
    loss, grads = losses.softmax_cross_entropy(scores, targets)
    big_loss, big_grads = losses.softmax_cross_entropy(scores, targets, weight=[2.0**1000] * 3)
    assert big_loss == pytest.approx(loss * 2.0**1000, rel=REORDERED_RTOL)
    assert_close(big_grads["scores"] / 2.0**1000, grads["scores"], rtol=REORDERED_RTOL)


def test_a_zero_weight_drops_an_overflowing_example() -> None:
    # Row 0's loss overflows (a margin of 2e308); weight 0 leaves only row 1: by hand,
    # margins 2 - 1 + 1 = 2 and 3 - 1 + 1 = 3.
    scores = np.array([[1e308, -1e308, 0.0], [1.0, 2.0, 3.0]])
    for name in ("multiclass_svm", "squared_hinge", "softmax_cross_entropy"):
        loss, grads = LOSSES[name].function(scores, [1, 0], sample_weight=[0.0, 1.0])
        expected, expected_grads = LOSSES[name].function(scores[1:], [0])
        assert loss == expected
        np.testing.assert_array_equal(grads["scores"][1:], expected_grads["scores"])
        assert_positive_zeros(grads["scores"][0])
    loss, _ = losses.multiclass_svm(scores, [1, 0], sample_weight=[0.0, 1.0])
    assert loss == 5.0
    pred = np.array([[1e308, -1e308], [3.0, 4.0]])
    loss, grads = losses.l2(pred, -pred, sample_weight=[0.0, 1.0], reduction="sum")
    assert loss == 100.0  # ||(6, 8)||^2
    assert_positive_zeros(grads["pred"][0])
    np.testing.assert_array_equal(grads["pred"][1], [12.0, 16.0])


def assert_positive_zeros(row: np.ndarray) -> None:
    """Every entry is +0.0: a dropped example's gradient, not -0.0 (nor NaN)."""
    np.testing.assert_array_equal(row, 0.0)
    assert not np.signbit(row).any(), row


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_a_zero_weight_rows_values_never_matter(name: str, data: st.DataObject) -> None:
    call = data.draw(loss_calls(name, weighted=True, num_examples=(2, 5)), label="call")
    sample_weight = call.options["sample_weight"].copy()
    dropped = data.draw(st.integers(0, len(sample_weight) - 1), label="dropped")
    sample_weight[dropped] = 0.0
    call = call.replace(sample_weight=sample_weight)
    assume(call.options["reduction"] != "mean" or call.total_weight() > 0)
    extreme = st.sampled_from([-1e308, 1e308, -BIGGEST, BIGGEST, 0.0]) | st.floats(-1e308, 1e308)
    inputs = [array.copy() if isinstance(array, np.ndarray) else array for array in call.inputs]
    width = inputs[0].shape[1]
    inputs[0][dropped] = data.draw(st.lists(extreme, min_size=width, max_size=width))
    if not call.loss.classification and inputs[1] is not None:
        inputs[1][dropped] = data.draw(st.lists(extreme, min_size=width, max_size=width))
    key = call.loss.input_name
    loss, grads = call.one_shot()
    replaced_loss, replaced_grads = call.replace(*inputs).one_shot()
    np.testing.assert_array_equal(replaced_loss, loss)
    np.testing.assert_array_equal(replaced_grads[key], grads[key])
    assert_positive_zeros(replaced_grads[key][dropped])
    if call.options["reduction"] == "none":
        assert_positive_zeros(np.asarray(replaced_loss)[dropped : dropped + 1])


@pytest.mark.parametrize("name", ALL_LOSSES)
def test_a_zero_upstream_gradient_gives_a_row_of_positive_zeros(name: str) -> None:
    spec = LOSSES[name]
    x = np.array([[3.0, -1.0, 0.5], [1.0, 2.0, -4.0]])
    target = np.array([1, 2]) if spec.classification else -x
    _, cache = spec.forward(x, target, reduction="none")
    grads = spec.backward(cache, np.array([0.0, 2.0]))
    assert_positive_zeros(grads[spec.input_name][0])
