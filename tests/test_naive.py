"""flatprop.naive, the oracle of the other tests, checked against hand computations and
numerical gradients (the problem set's table and the decimal references check it too)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop import naive
from flatprop.losses import LOSSES
from helpers import HAND_RTOL
from loss_cases import ALL_LOSSES, REDUCTIONS, assert_matches_numerical_gradient, loss_calls


def test_naive_svm_with_class_and_sample_weights_by_hand() -> None:
    scores = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]])  # both labels 0
    # L_1 = max(0, 2 - 1 + 1) + max(0, 0 - 1 + 1) = 2 + 0 (the second term at the kink)
    # L_2 = max(0, 0 - 0 + 1) + max(0, 3 - 0 + 1) = 1 + 4
    weight, sample_weight = np.array([2.0, 1.0, 1.0]), np.array([0.5, 3.0])
    omega = [0.5 * 2.0, 3.0 * 2.0]  # sample weight times the label's class weight
    loss, grads = naive.multiclass_svm(
        scores, [0, 0], margin=1.0, weight=weight, sample_weight=sample_weight
    )
    assert loss == pytest.approx((omega[0] * 2 + omega[1] * 5) / sum(omega), rel=HAND_RTOL)
    expected = np.array([[-1.0, 1.0, 0.0], [-2.0, 1.0, 1.0]])
    expected *= np.array(omega)[:, np.newaxis] / sum(omega)
    np.testing.assert_allclose(grads["scores"], expected, rtol=HAND_RTOL)


def test_naive_softmax_with_label_smoothing_by_hand() -> None:
    # scores (0, log 3): p = (1/4, 3/4); label 0 smoothed by 0.5: a = (0.75, 0.25)
    scores = np.array([[0.0, math.log(3)]])
    loss, grads = naive.softmax_cross_entropy(scores, [0], label_smoothing=0.5)
    expected = -(0.75 * math.log(1 / 4) + 0.25 * math.log(3 / 4))
    assert loss == pytest.approx(expected, rel=HAND_RTOL)
    np.testing.assert_allclose(grads["scores"], [[0.25 - 0.75, 0.75 - 0.25]], rtol=HAND_RTOL)


def test_naive_softmax_with_class_weights_divides_the_mean_by_the_label_weights() -> None:
    # PyTorch's weighted mean: sum_i w_{y_i} (-log p_{i y_i}) / sum_i w_{y_i}
    scores = np.zeros((2, 2))
    loss, _ = naive.softmax_cross_entropy(scores, [0, 1], weight=[3.0, 1.0])
    assert loss == pytest.approx((3 * math.log(2) + 1 * math.log(2)) / 4, rel=HAND_RTOL)


def test_naive_softmax_with_probability_targets_by_hand() -> None:
    scores = np.array([[0.0, math.log(3)]])  # p = (1/4, 3/4)
    loss, grads = naive.softmax_cross_entropy(scores, np.array([[0.5, 0.5]]))
    assert loss == pytest.approx(-(0.5 * math.log(1 / 4) + 0.5 * math.log(3 / 4)), rel=HAND_RTOL)
    np.testing.assert_allclose(grads["scores"], [[0.25 - 0.5, 0.75 - 0.5]], rtol=HAND_RTOL)


def test_naive_l2_by_hand() -> None:
    loss, grads = naive.l2(np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 4.0], [1.0, 0.0]]))
    assert loss == pytest.approx((1 + 4 + 1) / 2, rel=HAND_RTOL)  # mean over examples
    np.testing.assert_allclose(grads["pred"], [[1.0, -2.0], [-1.0, 0.0]], rtol=HAND_RTOL)


def test_naive_l2_without_target_is_the_squared_norm_of_the_seed() -> None:
    pred = np.array([[3.0, 4.0]])
    loss, grads = naive.l2(pred, reduction="sum")
    assert loss == 25.0
    np.testing.assert_array_equal(grads["pred"], [[6.0, 8.0]])


@pytest.mark.parametrize("name", ALL_LOSSES)
@given(data=st.data())
def test_naive_gradients_equal_numerical_gradients(name: str, data: st.DataObject) -> None:
    call = data.draw(loss_calls(name), label="call")
    analytic = call.naive()[1][call.loss.input_name]  # "none" has the gradient of the sum
    assert_matches_numerical_gradient(call, analytic, loops=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ALL_LOSSES)
def test_naive_returns_the_dtype_of_its_input(name: str, dtype: type) -> None:
    scores = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, 1.0]], dtype=dtype)
    second = np.array([0, 2]) if LOSSES[name].classification else None
    for reduction in REDUCTIONS:
        loss, grads = LOSSES[name].naive(scores, second, reduction=reduction)
        assert loss.dtype == dtype
        assert next(iter(grads.values())).dtype == dtype
