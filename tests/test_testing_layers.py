"""What CS231n assigns: layer pairs checked together, and class-based nets.

The pairs here are CS231n's contracts written by hand: the textbook's, and each of the
classic slips (dx not reshaped, a relu_backward that writes into dout, a backward pass
that writes into its cache, a wrong mask).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop.nets import TwoLayerNet
from flatprop.testing import (
    CheckFailedError,
    _layers,
    check_layer_pair,
    check_two_layer_loss,
    net_loss,
)
from flatprop.testing._draws import Common

FEW_EXAMPLES = 30


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, _ = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    return dx, dw, dout.sum(axis=0)


def affine_backward_flat_dx(dout, cache):
    x, w, _ = cache
    return dout @ w.T, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def relu_backward_in_place(dout, cache):
    dout[cache <= 0] = 0
    return dout


def relu_backward_from_dout(dout, cache):
    return np.where(dout > 0, dout, 0)


class ReluCache:
    """A cache that is an object of the student's, with an array attribute."""

    def __init__(self, x):
        self.mask = x > 0


def relu_forward_object(x):
    return np.maximum(0, x), ReluCache(x)


def relu_backward_object(dout, cache):
    return dout * cache.mask


def relu_backward_clears_its_cache(dout, cache):
    dx = dout * cache.mask
    cache.mask[...] = False  # "free" the cache: a write into it
    return dx


def affine_forward_copying(x, w, b):
    return x.reshape(len(x), -1) @ w + b, [x.copy(), w, b]


def affine_backward_scaling_its_cache(dout, cache):
    x, w, _ = cache
    x *= 1.0  # in place: no change of value, but look again:
    cache[0] = x * 2  # the list itself rebound, a write into the cache
    return (dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout / 2, dout.sum(axis=0)


@pytest.mark.parametrize(
    ("forward", "backward", "layer"),
    [
        (affine_forward, affine_backward, "affine"),
        (relu_forward, relu_backward, "relu"),
        (relu_forward_object, relu_backward_object, "relu"),
    ],
)
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_a_right_pair_passes_whatever_the_inputs_drawn(forward, backward, layer, seed):
    report = check_layer_pair(forward, backward, layer, max_examples=FEW_EXAMPLES, seed=seed)
    assert report.quantities[0] == "out"


@pytest.mark.parametrize("layer", ["affine", "relu"])
@given(data=st.data())
def test_the_drawn_inputs_of_a_pair_are_admissible_and_of_chained_shapes(layer, data):
    common = Common.checked(
        "check_layer_pair",
        max_examples=1,
        seed=None,
        dtype=np.float64,
        rtol=None,
        atol=None,
        min_value=-5.0,
        max_value=5.0,
        include_kinks=True,
        sizes={},
    )
    problem = data.draw(
        _layers._pair_problems(
            layer,
            num_examples=(1, 4),
            num_dims=(1, 3),
            num_outputs=(1, 4),
            dtype=np.dtype(np.float64),
            min_value=-5.0,
            max_value=5.0,
            grid=data.draw(st.sampled_from([None, 0.5])),
        )
    )
    x, dout = problem.x, problem.dout
    assert 2 <= x.ndim <= 4
    if layer == "affine":
        assert problem.w.shape == (np.prod(x.shape[1:]), problem.b.shape[0])
        assert dout.shape == (len(x), problem.b.shape[0])
    else:
        assert dout.shape == x.shape
    assert _layers._admissible(layer, common)(problem._asdict())


def test_a_relu_backward_that_writes_into_dout_is_caught():
    with pytest.raises(CheckFailedError) as caught:
        check_layer_pair(relu_forward, relu_backward_in_place, "relu", max_examples=FEW_EXAMPLES)
    error = caught.value
    assert (error.kind, error.quantity, error.diagnosis) == ("mutation", "dout", "writes_input")
    assert "wrote into its input dout" in str(error)


def test_an_affine_backward_that_forgets_to_reshape_dx_is_caught():
    with pytest.raises(CheckFailedError) as caught:
        check_layer_pair(
            affine_forward, affine_backward_flat_dx, "affine", max_examples=FEW_EXAMPLES
        )
    error = caught.value
    assert (error.kind, error.quantity, error.diagnosis) == ("return", "dx", "dx_not_reshaped")
    assert error.inputs["x"].ndim > 2  # the smallest failing input needs more than 2 axes


def test_a_backward_pass_that_writes_into_its_cache_is_caught():
    for forward, backward, layer in [
        (relu_forward_object, relu_backward_clears_its_cache, "relu"),
        (affine_forward_copying, affine_backward_scaling_its_cache, "affine"),
    ]:
        with pytest.raises(CheckFailedError) as caught:
            check_layer_pair(forward, backward, layer, max_examples=FEW_EXAMPLES)
        error = caught.value
        assert (error.kind, error.quantity, error.diagnosis) == (
            "mutation",
            "cache",
            "writes_input",
        )
        assert "wrote into the cache of" in str(error)


def test_a_relu_mask_taken_from_dout_is_relu_mask_wrong():
    with pytest.raises(CheckFailedError) as caught:
        check_layer_pair(relu_forward, relu_backward_from_dout, "relu", max_examples=FEW_EXAMPLES)
    assert (caught.value.quantity, caught.value.diagnosis) == ("dx", "relu_mask_wrong")


def test_a_forward_that_returns_no_cache_is_a_return_failure():
    with pytest.raises(CheckFailedError) as caught:
        check_layer_pair(lambda x: np.maximum(0, x), relu_backward, "relu", max_examples=5)
    assert (caught.value.kind, caught.value.quantity) == ("return", "out")
    assert "must return a pair (out, cache)" in str(caught.value)


def test_the_pair_message_shows_both_calls():
    with pytest.raises(CheckFailedError) as caught:
        check_layer_pair(relu_forward, relu_backward_from_dout, "relu", max_examples=FEW_EXAMPLES)
    text = str(caught.value)
    assert (
        "    out, cache = relu_forward(x)\n    dx = relu_backward_from_dout(dout, cache)\n" in text
    )


def write_layers(folder, backward_body):
    path = folder / "layers.py"
    path.write_text(
        "import numpy as np\n\n"
        "def relu_forward(x):\n"
        "    return np.maximum(0, x), (lambda: x)  # a cache that cannot leave its process\n\n"
        "def relu_backward(dout, cache):\n"
        f"    x = cache()\n{backward_body}"
    )
    return path


def test_a_pair_of_targets_runs_in_one_worker_which_keeps_the_cache(tmp_path):
    path = write_layers(tmp_path, "    return dout * (x > 0)\n")
    report = check_layer_pair(
        f"{path}:relu_forward", f"{path}:relu_backward", "relu", max_examples=FEW_EXAMPLES
    )
    assert report.candidate == "relu_forward and relu_backward"


def test_a_pair_of_targets_that_writes_into_dout_is_caught_in_its_worker(tmp_path):
    path = write_layers(tmp_path, "    dout[x <= 0] = 0\n    return dout\n")
    with pytest.raises(CheckFailedError) as caught:
        check_layer_pair(f"{path}:relu_forward", f"{path}:relu_backward", "relu", max_examples=10)
    assert (caught.value.kind, caught.value.diagnosis) == ("mutation", "writes_input")


def test_a_pair_of_targets_names_a_missing_function(tmp_path):
    path = write_layers(tmp_path, "    return dout * (x > 0)\n")
    with pytest.raises(CheckFailedError) as caught:
        check_layer_pair(f"{path}:relu_forward", f"{path}:relu_backwards", "relu")
    assert caught.value.kind == "missing"
    assert "no function relu_backwards" in str(caught.value)


@pytest.mark.parametrize(
    ("forward", "backward", "layer", "error", "words"),
    [
        (relu_forward, relu_backward, "conv", ValueError, "layer must be one of 'affine', 'relu'"),
        ("a.py:relu_forward", relu_backward, "relu", TypeError, "both be functions or both"),
        ("a.py:relu_forward", "b.py:relu_backward", "relu", ValueError, "in the same file"),
        ("a.py:relu forward", "a.py:relu_backward", "relu", ValueError, "a target must be"),
        (relu_forward, None, "relu", TypeError, "backward must be a function"),
    ],
)
def test_a_pair_given_wrong_says_what_was_expected(forward, backward, layer, error, words):
    with pytest.raises(error, match=words):
        check_layer_pair(forward, backward, layer)


def test_timeout_and_memory_are_for_targets_only():
    with pytest.raises(TypeError, match="timeout and memory limit a target"):
        check_layer_pair(relu_forward, relu_backward, "relu", timeout=1)


# Class-based nets, through the adapter


class AssignmentOneNet:
    """CS231n assignment 1's TwoLayerNet, written by hand: reg an argument of loss."""

    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        rng = np.random.default_rng(0)
        self.params = {
            "W1": std * rng.standard_normal((input_size, hidden_size)),
            "b1": np.zeros(hidden_size),
            "W2": std * rng.standard_normal((hidden_size, output_size)),
            "b2": np.zeros(output_size),
        }

    def loss(self, X, y=None, reg=0.0):
        W1, b1, W2, b2 = (self.params[name] for name in ("W1", "b1", "W2", "b2"))
        n = X.shape[0]
        z1 = X.dot(W1) + b1
        h1 = np.maximum(0, z1)
        scores = h1.dot(W2) + b2
        scores = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(n), y]).mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = probs.copy()
        dscores[np.arange(n), y] -= 1
        dscores /= n
        grads = {"W2": h1.T.dot(dscores) + 2 * reg * W2, "b2": dscores.sum(axis=0)}
        dz1 = dscores.dot(W2.T) * (z1 > 0)
        grads["W1"] = X.T.dot(dz1) + 2 * reg * W1
        grads["b1"] = dz1.sum(axis=0)
        return loss, grads


class AssignmentTwoNet(AssignmentOneNet):
    """Assignment 2's: reg an attribute, 0.5 * reg * sum(W**2)."""

    def __init__(self, input_dim=3072, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        super().__init__(input_dim, hidden_dim, num_classes, std=weight_scale)
        self.reg = reg

    def loss(self, X, y=None):
        return super().loss(X, y, reg=self.reg / 2)


class BiasRegularizedNet(AssignmentOneNet):
    def loss(self, X, y=None, reg=0.0):
        loss, grads = super().loss(X, y, reg=reg)
        for name in ("b1", "b2"):
            loss += reg * np.sum(self.params[name] ** 2)
            grads[name] = grads[name] + 2 * reg * self.params[name]
        return loss, grads


def test_class_based_nets_of_both_assignments_pass_through_the_adapter():
    check_two_layer_loss(net_loss(AssignmentOneNet), "softmax", max_examples=FEW_EXAMPLES)
    check_two_layer_loss(
        net_loss(AssignmentTwoNet), "softmax", reg_scale=0.5, max_examples=FEW_EXAMPLES
    )
    check_two_layer_loss(net_loss(TwoLayerNet), "softmax", max_examples=FEW_EXAMPLES)


def test_a_class_based_net_is_diagnosed_like_a_function():
    with pytest.raises(CheckFailedError) as caught:
        check_two_layer_loss(net_loss(BiasRegularizedNet), "softmax", max_examples=FEW_EXAMPLES)
    assert caught.value.diagnosis == "bias_regularized"
    assert str(caught.value).startswith(
        "check_two_layer_loss: BiasRegularizedNet.loss(params, X, y, reg) returned a wrong"
    )


NET_FILE = """
import numpy as np

class TwoLayerNet:
    def __init__(self, input_dim, hidden_dim, num_classes, reg=0.0):
        self.reg = reg
        self.params = {}

    def loss(self, X, y=None):
        p = self.params
        n = X.shape[0]
        z1 = X @ p["W1"] + p["b1"]
        h1 = np.maximum(0, z1)
        s = h1 @ p["W2"] + p["b2"]
        s = s - s.max(axis=1, keepdims=True)
        log_probs = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        loss = -log_probs[np.arange(n), y].mean()
        loss += 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        ds = np.exp(log_probs)
        ds[np.arange(n), y] -= 1
        ds /= n
        dz1 = (ds @ p["W2"].T) * (z1 > 0)
        grads = {"W1": X.T @ dz1 + self.reg * p["W1"], "b1": dz1.sum(axis=0)}
        grads["W2"] = h1.T @ ds + self.reg * p["W2"]
        grads["b2"] = ds.sum(axis=0)
        return loss, grads
"""


def test_a_class_based_net_in_a_file_is_a_target_class_dot_loss(tmp_path):
    path = tmp_path / "fc_net.py"
    path.write_text(NET_FILE)
    report = check_two_layer_loss(
        f"{path}:TwoLayerNet.loss", "softmax", reg_scale=0.5, max_examples=FEW_EXAMPLES
    )
    assert report.candidate == "TwoLayerNet.loss"
    with pytest.raises(CheckFailedError) as caught:
        check_two_layer_loss(f"{path}:ThreeLayerNet.loss", "softmax")
    assert caught.value.kind == "missing"
    assert "has no class ThreeLayerNet" in str(caught.value)
