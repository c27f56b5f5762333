"""flatprop.demo.recipes: every head's defaults train to a sane accuracy on both data sets,
and settings are checked when they are made."""

from __future__ import annotations

import numpy as np
import pytest

from flatprop.demo import recipes
from helpers import HEAD_DEFAULTS_FLOOR


@pytest.fixture(scope="module")
def prepared() -> dict[str, recipes.PreparedData]:
    return {data: recipes.prepare_data(data) for data in recipes.DATA_NAMES}


@pytest.mark.parametrize("head", recipes.HEAD_NAMES)
@pytest.mark.parametrize("model", recipes.MODEL_NAMES)
@pytest.mark.parametrize("data", recipes.DATA_NAMES)
def test_each_heads_defaults_train_to_a_sane_accuracy(data, model, head, prepared) -> None:
    settings = recipes.default_settings(data, model, head=head)
    result = recipes.train(settings, prepared=prepared[data])
    assert result.test_accuracy >= HEAD_DEFAULTS_FLOOR[data, model], settings


def test_the_squared_hinge_takes_a_smaller_learning_rate_than_the_softmax() -> None:
    for data in recipes.DATA_NAMES:
        softmax = recipes.default_settings(data).learning_rate
        assert recipes.default_settings(data, head="squared_hinge").learning_rate < softmax


def test_label_smoothing_is_off_for_heads_that_do_not_take_it() -> None:
    assert recipes.default_settings("digits", head="svm").label_smoothing == 0.0
    assert recipes.default_settings("digits").label_smoothing == 0.1


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"num_iters": -1}, ValueError, "num_iters must be an integer >= 0"),
        ({"learning_rate": "0.1"}, TypeError, "learning_rate must be a real number"),
        ({"seed": 1.5}, TypeError, "seed must be None, an integer >= 0"),
        ({"test_size": 1.0}, ValueError, "test_size must be a fraction strictly between 0 and 1"),
        ({"head": "l2"}, ValueError, "head must be one of"),
        ({"hidden": 10}, TypeError, "'hidden' is not a setting"),
        ({"head": "svm", "label_smoothing": 0.1}, ValueError, "label_smoothing does not apply"),
    ],
)
def test_bad_settings_are_refused_by_name(changes, error, message) -> None:
    with pytest.raises(error, match=message):
        recipes.default_settings("digits", **changes)


def test_hidden_size_does_not_apply_to_the_linear_model() -> None:
    with pytest.raises(ValueError, match="hidden_size does not apply to the linear model"):
        recipes.default_settings("spiral", "linear", hidden_size=10)


def test_a_two_layer_net_from_all_zero_weights_has_only_a_b2_gradient() -> None:
    # Why std=0 is refused for training the two-layer net: h1 = ReLU(X 0 + 0) = 0, so
    # dW2 = h1^T dscores = 0, dh1 = dscores W2^T = 0, and dW1 = db1 = 0 (by hand); the
    # penalty's gradient 2 reg W is 0 too. Only b2 moves, and W2 stays 0 after it.
    from flatprop.nets import TwoLayerNet

    net = TwoLayerNet(4, 5, 3, std=0.0, seed=0)
    X = np.arange(8.0).reshape(2, 4) - 3
    _, grads = net.loss(X, np.array([0, 2]), reg=0.1)
    for name in ("W1", "b1", "W2"):
        assert not grads[name].any(), name
    assert grads["b2"].any()


def test_std_0_is_refused_for_the_two_layer_net_and_taken_for_the_linear_model() -> None:
    with pytest.raises(ValueError, match="std must be > 0 for the two-layer net, got 0"):
        recipes.default_settings("digits", "two-layer", std=0.0)
    assert recipes.default_settings("digits", "linear", std=0.0).std == 0.0  # convex
