"""Properties that follow from the formulas: invariances, signs, special values, equivalences.

Shift invariance is exact in real arithmetic but not in floating point: adding c to a
score rounds it, by up to eps * (|s| + |c|). The tolerances below are first-order
bounds of what that rounding can do to a loss and its gradient.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop import losses, naive
from flatprop.losses import LOSSES
from helpers import (
    EPS,
    REORDERED_RTOL,
    ROUNDINGS_ALLOWED,
    UNIFORM_LOSS_RTOL,
    assert_close,
    max_abs,
)
from loss_cases import (
    ALL_LOSSES,
    CLASSIFICATION_LOSSES,
    HINGE_LOSSES,
    argument_names,
    loss_calls,
    losses_taking,
    losses_with_target,
)


def shift_tolerance(
    scores: np.ndarray, shift: float, grads: np.ndarray, losses: np.ndarray
) -> float:
    """First-order bound on a loss change from rounding ``scores + shift``."""
    num_classes = scores.shape[1]
    perturbation = EPS * (max_abs(scores) + abs(shift) + 1)
    return (
        ROUNDINGS_ALLOWED
        * num_classes
        * (perturbation * (max_abs(grads) + 1) + EPS * max_abs(losses))
    )


@pytest.mark.parametrize("name", CLASSIFICATION_LOSSES)
@given(data=st.data())
def test_adding_a_constant_to_a_row_leaves_the_loss_and_gradient_unchanged(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name, reduction="none"), label="call")
    scores = call.x
    shifts = np.array(
        data.draw(st.lists(st.floats(-100, 100), min_size=len(scores), max_size=len(scores)))
    )
    shifted = scores + shifts[:, np.newaxis]
    losses_before, grads_before = call.one_shot()
    losses_after, grads_after = call.replace(shifted, call.inputs[1]).one_shot()

    biggest_shift = max_abs(shifts)
    tolerance = shift_tolerance(scores, biggest_shift, grads_before["scores"], losses_before)
    np.testing.assert_allclose(losses_after, losses_before, rtol=0, atol=tolerance)
    if name == "multiclass_svm":
        # off the kinks the rounding cannot flip a margin's side: the same gradient exactly
        np.testing.assert_array_equal(grads_after["scores"], grads_before["scores"])
    else:
        gradient_tolerance = shift_tolerance(
            scores, biggest_shift, grads_before["scores"], grads_before["scores"]
        )
        np.testing.assert_allclose(
            grads_after["scores"], grads_before["scores"], rtol=0, atol=gradient_tolerance
        )


@pytest.mark.parametrize("name", CLASSIFICATION_LOSSES)
@given(data=st.data())
def test_each_gradient_row_sums_to_zero(name: str, data: st.DataObject) -> None:
    # The consequence of shift invariance: the derivative along (1, ..., 1) is 0.
    # For the softmax, sum_c (p_c A - a_c) = A - A, also with smoothing, weights and
    # probability targets.
    call = data.draw(loss_calls(name), label="call")
    dscores = call.one_shot()[1]["scores"]
    row_sums = dscores.sum(axis=1)
    # The row's terms are +-omega (hinge), +-2 m omega (squared hinge), or p_c A and a_c
    # (softmax, each at most the row's weight times the largest class weight): rounding
    # errors are relative to those terms, which can be larger than the gradient itself.
    row_weight = np.ones(len(call.x))
    if call.options["sample_weight"] is not None:
        row_weight = row_weight * call.options["sample_weight"]
    if call.options["weight"] is not None:
        row_weight = row_weight * max_abs(call.options["weight"])
    if call.options["reduction"] == "mean":
        row_weight = row_weight / call.total_weight()
    tolerance = ROUNDINGS_ALLOWED * EPS * (np.abs(dscores).sum(axis=1) + row_weight)
    assert np.all(np.abs(row_sums) <= tolerance), (row_sums, tolerance)


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_per_example_losses_are_never_negative(name: str, data: st.DataObject) -> None:
    call = data.draw(loss_calls(name, reduction="none", off_kinks=False), label="call")
    per_example, _ = call.one_shot()
    assert np.all(per_example >= 0)


@pytest.mark.parametrize("num_classes", [1, 2, 3, 10])
@pytest.mark.parametrize("margin", [1.0, 0.5, 2.0])
def test_all_zero_scores_give_c_minus_one_margins_for_the_hinges(
    num_classes: int, margin: float
) -> None:
    scores = np.zeros((4, num_classes))
    y = np.arange(4) % num_classes
    svm_losses, _ = losses.multiclass_svm(scores, y, margin=margin, reduction="none")
    squared_losses, _ = losses.squared_hinge(scores, y, margin=margin, reduction="none")
    np.testing.assert_array_equal(svm_losses, (num_classes - 1) * margin)
    np.testing.assert_array_equal(squared_losses, (num_classes - 1) * margin**2)


@pytest.mark.parametrize("num_classes", [1, 2, 3, 10, 1000])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_all_zero_scores_give_log_c_for_the_softmax(
    num_classes: int, label_smoothing: float
) -> None:
    # Every p_c = 1/C; an unweighted target row sums to 1, so L = log C for labels,
    # smoothed labels and any probability target alike.
    scores = np.zeros((3, num_classes))
    y = np.arange(3) % num_classes
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(num_classes), size=3)
    for targets in (y, probabilities):
        per_example, _ = losses.softmax_cross_entropy(
            scores, targets, label_smoothing=label_smoothing, reduction="none"
        )
        # a probability row sums to 1 only to within C roundings
        rtol = UNIFORM_LOSS_RTOL * (1 if targets.ndim == 1 else num_classes)
        np.testing.assert_allclose(per_example, math.log(num_classes), rtol=rtol)


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_permuting_the_batch_permutes_per_example_losses_and_gradient_rows(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name, reduction="none"), label="call")
    order = np.array(data.draw(st.permutations(range(len(call.x))), label="order"))
    first, second = call.inputs
    permuted = call.replace(first[order], None if second is None else second[order])
    if call.options.get("sample_weight") is not None:
        permuted = permuted.replace(sample_weight=call.options["sample_weight"][order])

    key = call.loss.input_name
    per_example, grads = call.one_shot()
    permuted_per_example, permuted_grads = permuted.one_shot()
    assert_close(permuted_per_example, per_example[order], rtol=REORDERED_RTOL)
    assert_close(permuted_grads[key], grads[key][order], rtol=REORDERED_RTOL)
    for reduction in ("sum", "mean"):
        if reduction == "mean" and call.total_weight() == 0:
            continue
        total, _ = call.replace(reduction=reduction).one_shot()
        permuted_total, _ = permuted.replace(reduction=reduction).one_shot()
        assert_close(permuted_total, total, rtol=REORDERED_RTOL)


@pytest.mark.parametrize("name", losses_with_target("labels or probabilities"))
@given(data=st.data())
def test_one_hot_probability_targets_give_the_integer_label_losses(
    name: str, data: st.DataObject
) -> None:
    # PyTorch applies smoothing and class weights to probability targets the same way,
    # so the per-example losses agree; only "mean" divides differently when weighted.
    call = data.draw(loss_calls(name, reduction="none"), label="call")
    scores, y = call.inputs
    if y.ndim == 2:
        y = np.argmax(y, axis=1)
    one_hot = np.eye(scores.shape[1])[y]
    label_losses, label_grads = call.replace(scores, y).one_shot()
    target_losses, target_grads = call.replace(scores, one_hot).one_shot()
    assert_close(target_losses, label_losses, rtol=REORDERED_RTOL)
    assert_close(target_grads["scores"], label_grads["scores"], rtol=REORDERED_RTOL)


@pytest.mark.parametrize("name", losses_taking("label_smoothing"))
@given(data=st.data())
def test_label_smoothing_mixes_the_label_loss_with_the_uniform_target_loss(
    name: str, data: st.DataObject
) -> None:
    # The loss is linear in the target row: L(eps) = (1 - eps) L(label) + eps L(uniform),
    # with class weights applied to both.
    call = data.draw(loss_calls(name, reduction="none"), label="call")
    smoothing = data.draw(st.floats(0.0, 1.0), label="label_smoothing")
    scores = call.x
    uniform = np.full(scores.shape, 1 / scores.shape[1])
    smoothed, smoothed_grads = call.replace(label_smoothing=smoothing).one_shot()
    plain, plain_grads = call.replace(label_smoothing=0.0).one_shot()
    uniform_losses, uniform_grads = call.replace(scores, uniform, label_smoothing=0.0).one_shot()
    expected = (1 - smoothing) * plain + smoothing * uniform_losses
    assert_close(smoothed, expected, rtol=REORDERED_RTOL)
    expected_grads = (1 - smoothing) * plain_grads["scores"] + smoothing * uniform_grads["scores"]
    assert_close(smoothed_grads["scores"], expected_grads, rtol=REORDERED_RTOL)


@pytest.mark.parametrize("name", HINGE_LOSSES)
@given(data=st.data())
def test_hinge_class_weights_act_as_the_sample_weights_of_the_labels(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name, weighted=False), label="call")
    scores, y = call.inputs
    weight = data.draw(
        st.lists(st.floats(0.5, 2.0), min_size=scores.shape[1], max_size=scores.shape[1])
    )
    class_weighted, class_grads = call.replace(weight=np.array(weight)).one_shot()
    example_weighted, example_grads = call.replace(sample_weight=np.array(weight)[y]).one_shot()
    assert_close(class_weighted, example_weighted, rtol=REORDERED_RTOL)
    assert_close(class_grads["scores"], example_grads["scores"], rtol=REORDERED_RTOL)


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_unit_weights_change_nothing(name: str, data: st.DataObject) -> None:
    call = data.draw(loss_calls(name, weighted=False), label="call")
    ones = {"sample_weight": np.ones(len(call.x))}
    if "weight" in call.loss.options:
        ones["weight"] = np.ones(call.x.shape[1])
    loss, grads = call.one_shot()
    weighted_loss, weighted_grads = call.replace(**ones).one_shot()
    key = call.loss.input_name
    assert_close(weighted_loss, loss, rtol=REORDERED_RTOL)
    assert_close(weighted_grads[key], grads[key], rtol=REORDERED_RTOL)


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_sample_weights_scale_each_example_loss_and_gradient_row(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name, reduction="none", weighted=True), label="call")
    sample_weight = call.options["sample_weight"]
    unweighted, unweighted_grads = call.replace(sample_weight=None).one_shot()
    weighted, weighted_grads = call.one_shot()
    key = call.loss.input_name
    assert_close(weighted, sample_weight * unweighted, rtol=REORDERED_RTOL)
    expected = sample_weight[:, np.newaxis] * unweighted_grads[key]
    assert_close(weighted_grads[key], expected, rtol=REORDERED_RTOL)


@pytest.mark.parametrize("name", losses_with_target("values"))
@given(data=st.data())
def test_no_target_equals_a_zero_target(name: str, data: st.DataObject) -> None:
    call = data.draw(loss_calls(name), label="call")
    pred = call.x
    loss, grads = call.replace(pred, None).one_shot()
    zero_loss, zero_grads = call.replace(pred, np.zeros_like(pred)).one_shot()
    np.testing.assert_array_equal(loss, zero_loss)
    key = call.loss.input_name
    np.testing.assert_array_equal(grads[key], zero_grads[key])


def test_the_registry_holds_every_loss_of_flatprop_losses_by_its_public_functions() -> None:
    # What the tests run for each loss comes from the registry: it must be complete, and
    # each entry must name the public functions of its loss.
    staged = {
        name
        for name in losses.__all__
        if f"{name}_forward" in losses.__all__ and f"{name}_backward" in losses.__all__
    }
    assert set(LOSSES) == staged
    for name, spec in LOSSES.items():
        assert spec.function is getattr(losses, name)
        assert spec.forward is getattr(losses, f"{name}_forward")
        assert spec.backward is getattr(losses, f"{name}_backward")
        assert spec.naive is getattr(naive, name)
        assert spec.input_name == argument_names(spec)[0]
