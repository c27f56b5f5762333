"""Backward passes equal numerical gradients off the kinks; the kink convention is pinned.

The numerical gradient (central differences, :func:`flatprop.gradcheck.numerical_gradient`)
shares no code with the backward passes. Its error is the truncation error, O(h^2),
plus the rounding error of the loss divided by the step, about eps * |f| / h.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop import losses, naive
from loss_cases import (
    ALL_LOSSES,
    LossCall,
    assert_matches_numerical_gradient,
    call_id,
    loss_calls,
    option_grid,
)


def assert_backward_matches_numerical_gradient(call: LossCall, dloss: float | np.ndarray) -> None:
    _, cache = call.forward()
    analytic = call.loss.backward(cache, dloss)[call.loss.input_name]
    assert_matches_numerical_gradient(call, analytic, dloss=dloss)


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_backward_pass_equals_the_numerical_gradient_off_the_kinks(
    name: str, data: st.DataObject
) -> None:
    call = data.draw(loss_calls(name), label="call")
    if call.options["reduction"] == "none" and data.draw(st.booleans(), label="per-example dloss"):
        num_examples = len(call.x)
        dloss: float | np.ndarray = np.array(
            data.draw(st.lists(st.floats(-3, 3), min_size=num_examples, max_size=num_examples))
        )
    else:
        dloss = data.draw(st.floats(-3, 3), label="dloss")
    assert_backward_matches_numerical_gradient(call, dloss)


@pytest.mark.parametrize("call", option_grid(), ids=call_id)
def test_every_option_combination_has_the_numerical_gradient(call: LossCall) -> None:
    dloss = np.linspace(-1.0, 2.0, len(call.x)) if call.options["reduction"] == "none" else 0.7
    assert_backward_matches_numerical_gradient(call, dloss)


# The kinks: where a margin s_j - s_y + margin is exactly 0, the subgradient is 0.

AT_THE_KINK = np.array([[1.0, 0.0, 2.0]])  # label 0, margin 1: class 1 at the kink, class 2 active


@pytest.mark.parametrize("svm", [losses.multiclass_svm, naive.multiclass_svm])
def test_svm_subgradient_is_zero_for_a_margin_exactly_at_the_kink(svm: object) -> None:
    loss, grads = svm(AT_THE_KINK, [0], reduction="sum")  # type: ignore[operator]
    assert loss == 2.0  # max(0, 0 - 1 + 1) + max(0, 2 - 1 + 1)
    np.testing.assert_array_equal(grads["scores"], [[-1.0, 0.0, 1.0]])


@pytest.mark.parametrize("squared_hinge", [losses.squared_hinge, naive.squared_hinge])
def test_squared_hinge_gradient_is_zero_for_a_margin_exactly_at_the_kink(
    squared_hinge: object,
) -> None:
    loss, grads = squared_hinge(AT_THE_KINK, [0], reduction="sum")  # type: ignore[operator]
    assert loss == 4.0  # 0**2 + 2**2
    np.testing.assert_array_equal(grads["scores"], [[-4.0, 0.0, 4.0]])


@pytest.mark.parametrize("loss_function", [losses.multiclass_svm, losses.squared_hinge])
def test_hinge_gradient_is_zero_when_every_margin_sits_at_the_kink(loss_function: object) -> None:
    scores = np.array([[2.0, 1.0, 1.0], [-1.5, -1.5, -0.5]])  # every s_j - s_y + 1 == 0
    loss, grads = loss_function(scores, [0, 2], margin=1.0)  # type: ignore[operator]
    assert loss == 0.0
    np.testing.assert_array_equal(grads["scores"], np.zeros_like(scores))


def test_svm_subgradient_at_the_kink_is_the_one_sided_derivative_from_below() -> None:
    # Moving s_1 down keeps the term at 0 (slope 0); moving it up activates it (slope 1).
    # The chosen subgradient 0 is the slope from below, as in PyTorch.
    def loss_of_s1(value: float) -> float:
        scores = AT_THE_KINK.copy()
        scores[0, 1] = value
        return float(losses.multiclass_svm(scores, [0], reduction="sum")[0])

    step = 1e-3
    slope_below = (loss_of_s1(0.0) - loss_of_s1(-step)) / step
    slope_above = (loss_of_s1(step) - loss_of_s1(0.0)) / step
    assert slope_below == 0.0
    assert slope_above == pytest.approx(1.0)
    assert losses.multiclass_svm(AT_THE_KINK, [0])[1]["scores"][0, 1] == slope_below
