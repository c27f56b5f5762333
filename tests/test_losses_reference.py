"""The vectorized losses equal the loop reference of flatprop.naive, for every option.

The loops of :mod:`flatprop.naive` compute one example and one class at a time in
Python floats; they share only the input checks with :mod:`flatprop.losses`. Both
compute a hinge term as ``s_j - s_y + margin`` in float64, so they agree at the kinks
too, and these tests need not stay off them.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import EPS, REFERENCE_RTOL, ROUNDINGS_ALLOWED, assert_close
from loss_cases import ALL_LOSSES, LossCall, call_id, loss_calls, option_grid

dloss_values = st.floats(-3.0, 3.0)


def assert_matches_reference(call: LossCall, loss: object, grads: dict[str, np.ndarray]) -> None:
    expected_loss, expected_grads = call.naive()
    assert_close(loss, expected_loss, rtol=REFERENCE_RTOL, what="loss")
    assert grads.keys() == expected_grads.keys() == {call.loss.input_name}
    for key, expected in expected_grads.items():
        assert_close(grads[key], expected, rtol=REFERENCE_RTOL, what=f"d{key}")


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_one_shot_loss_and_gradient_equal_the_loop_reference(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name, off_kinks=False), label="call")
    assert_matches_reference(call, *call.one_shot())


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_staged_backward_with_a_scalar_dloss_scales_the_reference_gradient(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name, off_kinks=False), label="call")
    dloss = data.draw(dloss_values, label="dloss")
    loss, cache = call.forward()
    grads = call.loss.backward(cache, dloss)

    expected_loss, expected_grads = call.naive()
    assert_close(loss, expected_loss, rtol=REFERENCE_RTOL, what="loss")
    key = call.loss.input_name
    assert_close(grads[key], dloss * expected_grads[key], rtol=REFERENCE_RTOL, what=f"d{key}")


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_staged_backward_with_per_example_dloss_scales_each_row_of_the_reference_gradient(
    name: str, data: st.DataObject
) -> None:
    # Example i's loss depends on row i alone, so d(sum_i dloss_i losses_i) has row i
    # equal to dloss_i times row i of the gradient of the plain sum.
    call = data.draw(loss_calls(name, reduction="none", off_kinks=False), label="call")
    dloss = np.array(data.draw(st.lists(dloss_values, min_size=len(call.x), max_size=len(call.x))))
    losses, cache = call.forward()
    grads = call.loss.backward(cache, dloss)

    expected_losses, expected_grads = call.naive()
    assert_close(losses, expected_losses, rtol=REFERENCE_RTOL, what="losses")
    key = call.loss.input_name
    expected = dloss[:, np.newaxis] * expected_grads[key]
    assert_close(grads[key], expected, rtol=REFERENCE_RTOL, what=f"d{key}")


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_one_shot_call_is_the_forward_pass_then_the_backward_pass_with_unit_dloss(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name, off_kinks=False), label="call")
    loss, grads = call.one_shot()
    staged_loss, cache = call.forward()
    staged_grads = call.loss.backward(cache)
    # The one-shot call's fast path sums a mean's losses in one sum rather than row by
    # row, and the softmax's scales exps by dloss/dL_i / sum_exps in one multiplication
    # where the staged pair makes probs first: a few roundings apart at most.
    key = call.loss.input_name
    assert_close(loss, staged_loss, rtol=ROUNDINGS_ALLOWED * EPS, what="loss")
    assert_close(grads[key], staged_grads[key], rtol=ROUNDINGS_ALLOWED * EPS, what=f"d{key}")


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_a_cache_can_be_used_for_two_backward_passes(name: str, data: st.DataObject) -> None:
    call = data.draw(loss_calls(name, off_kinks=False), label="call")
    _, cache = call.forward()
    key = call.loss.input_name
    first = call.loss.backward(cache, 2.0)[key].copy()
    second = call.loss.backward(cache, 2.0)[key]
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("call", option_grid(), ids=call_id)
def test_every_option_combination_matches_the_loop_reference(call: LossCall) -> None:
    assert_matches_reference(call, *call.one_shot())

    # staged, with an upstream gradient: a scalar, and for "none" also one per example
    expected_loss, expected_grads = call.naive()
    key = call.loss.input_name
    dlosses: list[float | np.ndarray] = [0.5]
    if call.options["reduction"] == "none":
        dlosses.append(np.linspace(-1.0, 2.0, len(call.x)))
    for dloss in dlosses:
        loss, cache = call.forward()
        grads = call.loss.backward(cache, dloss)
        assert_close(loss, expected_loss, rtol=REFERENCE_RTOL, what="staged loss")
        expected = np.reshape(dloss, (-1, 1)) * expected_grads[key]
        assert_close(grads[key], expected, rtol=REFERENCE_RTOL, what=f"staged d{key}")
