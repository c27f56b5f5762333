"""Reductions: "sum", "mean" and "none" relate as documented, for losses and gradients alike."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop.losses import LOSSES
from helpers import REORDERED_RTOL, ROUNDINGS_ALLOWED, assert_close
from loss_cases import ALL_LOSSES, CLASSIFICATION_LOSSES, loss_calls, losses_with_target


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_unweighted_sum_is_n_times_the_mean_for_loss_and_gradient(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name, weighted=False), label="call")
    num_examples = len(call.x)
    key = call.loss.input_name
    total, total_grads = call.replace(reduction="sum").one_shot()
    mean, mean_grads = call.replace(reduction="mean").one_shot()
    assert_close(total, num_examples * mean, rtol=REORDERED_RTOL)
    assert_close(total_grads[key], num_examples * mean_grads[key], rtol=REORDERED_RTOL)


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_per_example_losses_add_up_to_the_sum_and_share_its_gradient(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name), label="call")
    key = call.loss.input_name
    per_example, none_grads = call.replace(reduction="none").one_shot()
    total, total_grads = call.replace(reduction="sum").one_shot()
    assert per_example.shape == (len(call.x),)
    assert_close(np.sum(per_example), total, rtol=REORDERED_RTOL)
    # the one-shot call with "none" returns the gradient of the sum
    assert_close(none_grads[key], total_grads[key], rtol=REORDERED_RTOL)


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_weighted_mean_is_the_weighted_sum_divided_by_the_total_weight(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name, reduction="mean", weighted=True), label="call")
    total_weight = call.total_weight()  # as documented, not read off the implementation
    key = call.loss.input_name
    mean, mean_grads = call.one_shot()
    total, total_grads = call.replace(reduction="sum").one_shot()
    assert_close(mean, total / total_weight, rtol=REORDERED_RTOL)
    assert_close(mean_grads[key], total_grads[key] / total_weight, rtol=REORDERED_RTOL)


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_the_gradient_is_linear_in_a_scalar_dloss(name: str, data: st.DataObject) -> None:
    call = data.draw(loss_calls(name), label="call")
    dloss = data.draw(st.floats(-5, 5, allow_subnormal=False), label="dloss")
    key = call.loss.input_name
    _, cache = call.forward()
    unit = call.loss.backward(cache)[key]
    scaled = call.loss.backward(cache, dloss)[key]
    assert_close(scaled, dloss * unit, rtol=REORDERED_RTOL)


def empty_inputs(name: str) -> tuple[np.ndarray, np.ndarray | None]:
    if not LOSSES[name].classification:
        return np.zeros((0, 3)), np.zeros((0, 3))
    return np.zeros((0, 4)), np.zeros(0, dtype=int)


@pytest.mark.parametrize("name", ALL_LOSSES)
@pytest.mark.parametrize("weighted", [False, True])
def test_an_empty_batch_sums_to_zero_and_has_no_per_example_losses(
    name: str, weighted: bool
) -> None:
    loss = LOSSES[name]
    inputs = empty_inputs(name)
    options: dict[str, object] = {}
    if weighted:
        options["sample_weight"] = np.zeros(0)
        if "weight" in loss.options:
            options["weight"] = np.ones(inputs[0].shape[1])

    total, grads = loss.function(*inputs, reduction="sum", **options)
    assert total == 0.0
    assert total.dtype == np.float64
    assert grads[loss.input_name].shape == inputs[0].shape

    per_example, grads = loss.function(*inputs, reduction="none", **options)
    assert per_example.shape == (0,)
    assert grads[loss.input_name].shape == inputs[0].shape

    _, cache = loss.forward(*inputs, reduction="none", **options)
    assert loss.backward(cache, np.zeros(0))[loss.input_name].shape == inputs[0].shape


@pytest.mark.parametrize("name", losses_with_target("labels or probabilities"))
def test_an_empty_batch_of_probability_targets_sums_to_zero(name: str) -> None:
    loss = LOSSES[name]
    total, grads = loss.function(np.zeros((0, 3)), np.zeros((0, 3)), reduction="sum")
    assert total == 0.0
    assert grads[loss.input_name].shape == (0, 3)


@pytest.mark.parametrize("name", sorted(CLASSIFICATION_LOSSES))
def test_an_empty_list_of_labels_is_an_empty_batch(name: str) -> None:
    # np.asarray([]) is float64: an empty label list must not be refused as non-integer.
    total, grads = LOSSES[name].function(np.zeros((0, 3)), [], reduction="sum")
    assert total == 0.0
    assert grads["scores"].shape == (0, 3)


@pytest.mark.parametrize("name", ALL_LOSSES)
@pytest.mark.parametrize("implementation", ["function", "forward", "naive"])
def test_the_mean_of_an_empty_batch_is_refused(name: str, implementation: str) -> None:
    function = getattr(LOSSES[name], implementation)
    with pytest.raises(ValueError, match=r"reduction='mean'.*empty batch"):
        function(*empty_inputs(name), reduction="mean")


@pytest.mark.parametrize("name", ALL_LOSSES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mean_with_a_subnormal_total_weight_is_the_mean_with_weight_one(
    name: str, dtype: type
) -> None:
    # Dividing by a total weight below 1 / (float max) overflowed: found by the tests as a
    # NaN gradient, then refused; a weighted mean does not depend on the weights' scale,
    # and is now computed from weights scaled by a power of two.
    loss = LOSSES[name]
    x = np.array([[0.0, 1.0], [2.0, 0.0]], dtype=dtype)
    second = np.array([0, 0]) if loss.classification else x[::-1].copy()
    tiny = np.finfo(dtype).smallest_subnormal
    value, grads = loss.function(x, second, sample_weight=np.array([tiny, 0.0], dtype=dtype))
    expected, expected_grads = loss.naive(x, second, sample_weight=np.array([1.0, 0.0]))
    roundings = ROUNDINGS_ALLOWED * float(np.finfo(dtype).eps)  # float32: the loops are float64
    assert_close(value, expected, rtol=roundings, what="loss")
    assert_close(grads[loss.input_name], expected_grads[loss.input_name], rtol=roundings)
