"""The global max is caught wherever a softmax is, and textbook softmax code still passes.

The checkers draw rows of scores far apart while each row stays moderate (the loss
layer's rows shifted, a model's through a large weight on its last feature). The
implementations here are written by hand the ways textbooks write a softmax: each
row's max subtracted and ``np.log`` of the probabilities; a log-sum-exp; NumPy's
``logaddexp``. Each passes; the global max and no max at all fail, diagnosed.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatprop.testing import (
    CheckFailedError,
    check_linear_loss,
    check_loss_layer,
    check_two_layer_loss,
)
from flatprop.testing._draws import FarRows
from flatprop.testing.strategies import linear_problems, two_layer_problems

FEW_EXAMPLES = 50


def log_softmax_by_probs(scores, shift):
    """exp of the shifted scores, normalized, then np.log of the probabilities."""
    exps = np.exp(scores - shift(scores))
    probs = exps / exps.sum(axis=1, keepdims=True)
    return np.log(probs), probs


def log_softmax_by_logsumexp(scores, shift):
    shifted = scores - shift(scores)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return log_probs, np.exp(log_probs)


def log_softmax_by_logaddexp(scores, shift):
    log_norm = np.logaddexp.reduce(scores, axis=1, keepdims=True)
    log_probs = scores - log_norm
    return log_probs, np.exp(log_probs)


def per_row(scores):
    return scores.max(axis=1, keepdims=True)


def global_max(scores):
    return scores.max()


WAYS = [log_softmax_by_probs, log_softmax_by_logsumexp, log_softmax_by_logaddexp]


def linear_softmax(log_softmax, shift):
    def softmax_loss(W, X, y, reg):
        n = X.shape[0]
        log_probs, probs = log_softmax(X @ W, shift)
        loss = -log_probs[np.arange(n), y].mean() + reg * np.sum(W * W)
        dscores = probs.copy()
        dscores[np.arange(n), y] -= 1
        return loss, X.T @ dscores / n + 2 * reg * W

    return softmax_loss


def net_softmax(log_softmax, shift):
    def two_layer_loss(params, X, y, reg):
        W1, b1, W2, b2 = (params[name] for name in ("W1", "b1", "W2", "b2"))
        n = X.shape[0]
        z1 = X @ W1 + b1
        h1 = np.maximum(0, z1)
        log_probs, probs = log_softmax(h1 @ W2 + b2, shift)
        loss = -log_probs[np.arange(n), y].mean() + reg * (np.sum(W1**2) + np.sum(W2**2))
        dscores = probs.copy()
        dscores[np.arange(n), y] -= 1
        dscores /= n
        dz1 = (dscores @ W2.T) * (z1 > 0)
        grads = {"W1": X.T @ dz1 + 2 * reg * W1, "b1": dz1.sum(axis=0)}
        grads["W2"] = h1.T @ dscores + 2 * reg * W2
        grads["b2"] = dscores.sum(axis=0)
        return loss, grads

    return two_layer_loss


def layer_softmax(log_softmax, shift):
    def softmax_loss(x, y):
        n = x.shape[0]
        log_probs, probs = log_softmax(x, shift)
        dx = probs.copy()
        dx[np.arange(n), y] -= 1
        return -log_probs[np.arange(n), y].mean(), dx / n

    return softmax_loss


@pytest.mark.parametrize("way", WAYS, ids=lambda way: way.__name__)
@pytest.mark.parametrize("seed", [None, 7])
def test_textbook_softmax_code_passes_every_checker_with_its_rows_far_apart(way, seed):
    check_loss_layer(layer_softmax(way, per_row), "softmax", max_examples=FEW_EXAMPLES, seed=seed)
    check_linear_loss(linear_softmax(way, per_row), "softmax", max_examples=FEW_EXAMPLES, seed=seed)
    check_two_layer_loss(net_softmax(way, per_row), "softmax", max_examples=FEW_EXAMPLES, seed=seed)


@pytest.mark.parametrize("way", WAYS[:2], ids=lambda way: way.__name__)
def test_textbook_softmax_code_passes_in_float32(way):
    check_linear_loss(linear_softmax(way, per_row), "softmax", dtype=np.float32)
    check_two_layer_loss(net_softmax(way, per_row), "softmax", dtype=np.float32)


@pytest.mark.parametrize("way", WAYS[:2], ids=lambda way: way.__name__)
@pytest.mark.parametrize(
    ("checker", "make"),
    [
        (check_loss_layer, layer_softmax),
        (check_linear_loss, linear_softmax),
        (check_two_layer_loss, net_softmax),
    ],
    ids=["loss layer", "linear", "two-layer"],
)
def test_the_global_max_is_caught_and_diagnosed_by_every_checker(way, checker, make):
    with pytest.raises(CheckFailedError) as caught:
        checker(make(way, global_max), "softmax", max_examples=FEW_EXAMPLES)
    assert caught.value.diagnosis == "global_max", str(caught.value)


def test_no_max_shift_is_caught_and_told_from_the_global_max():
    def no_shift(scores):
        return 0

    with pytest.raises(CheckFailedError) as caught:
        check_linear_loss(linear_softmax(log_softmax_by_probs, no_shift), "softmax")
    assert caught.value.diagnosis == "no_max_shift"


def test_without_rows_far_apart_a_models_global_max_goes_unseen():
    """Why the far rows are drawn: with max_row_shift=0 the global max is never wrong here."""
    fn = linear_softmax(log_softmax_by_probs, global_max)
    check_linear_loss(fn, "softmax", max_row_shift=0, max_examples=FEW_EXAMPLES)
    with pytest.raises(CheckFailedError):
        check_linear_loss(fn, "softmax", max_examples=FEW_EXAMPLES)


FAR = {
    "linear": (FarRows("linear", 1000, 1.0, 0.0), linear_problems()),
    "two_layer": (FarRows("two_layer", 1000, 1.0, 0.0), two_layer_problems()),
}


@pytest.mark.parametrize("contract", sorted(FAR))
@given(data=st.data())
def test_far_rows_offset_each_row_as_a_whole_and_keep_its_spread(contract, data):
    far_rows, problems = FAR[contract]
    moderate = data.draw(problems)
    far = far_rows.offset(moderate)
    assert far.reg == 0.0
    assert far_rows.moderate_part(far._asdict()) is not None
    if contract == "linear":
        scores = far.X @ far.W
        offsets = 1000 * far.X[:, -1]
        spread = np.abs(moderate.X[:, :-1]) @ np.abs(moderate.W[:-1])  # without the offsets
    else:
        params = far.params
        z1 = far.X @ params["W1"] + params["b1"]
        h1 = np.maximum(0, z1)
        scores = h1 @ params["W2"] + params["b2"]
        offsets = h1[:, 0] * params["W2"][0, 0]
        rest = h1[:, 1:] @ params["W2"][1:] + params["b2"]
        spread = np.abs(rest)
    # Each row is its offset (the same for every class) plus a moderate part.
    centred = scores - offsets[:, np.newaxis]
    assert np.all(np.abs(centred) <= spread + 1e-9 * (1 + np.abs(scores)))
