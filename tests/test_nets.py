"""flatprop.nets: LinearClassifier and TwoLayerNet against numerical gradients, hand
derivations, loop references and training on a spiral."""

import math
from fractions import Fraction

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from flatprop import naive
from flatprop._model import add_reg_gradient
from flatprop.gradcheck import numerical_gradient
from flatprop.nets import HEADS, LinearClassifier, ModelOverflowError, TwoLayerNet
from helpers import (
    FLOAT32_RTOL,
    KINK_DISTANCE,
    NET_GRADIENT_ATOL,
    NET_GRADIENT_RTOL,
    REORDERED_RTOL,
    hinge_margins,
    read_only,
    two_layer_forward,
)

DESCENT_STEP = 1e-3  # a "small" step against the gradient
MODELS = ["linear", "two_layer"]


# helpers


def build(kind, input_size, output_size, *, hidden_size=5, **kwargs):
    if kind == "linear":
        return LinearClassifier(input_size, output_size, **kwargs)
    return TwoLayerNet(input_size, hidden_size, output_size, **kwargs)


def batch(head, num_examples, input_size, output_size, *, seed=0):
    """X (N, D) and a y that the head accepts: labels, or (N, C) targets for "l2"."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((num_examples, input_size))
    if head == "l2":
        return X, rng.standard_normal((num_examples, output_size))
    return X, rng.integers(output_size, size=num_examples)


def spiral(n_per_class, n_classes, seed):
    """The CS231n toy spiral: each class an arm from the origin, 4 radians long, noisy."""
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.0, 1.0, n_per_class), n_classes)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    along_arm = np.tile(np.linspace(0.0, 4.0, n_per_class), n_classes)
    angle = 4.0 * labels + along_arm + 0.2 * rng.standard_normal(n_per_class * n_classes)
    return np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]), labels


# strategies


@st.composite
def problems(draw, kind, head, *, options=None, bias=True):
    """A model of random small shapes with generic parameter values, and a batch.

    Shapes and labels are drawn by Hypothesis (labels after C); the values come from a
    drawn seed, so that no sum of simple values lands exactly on a kink.
    """
    num_examples = draw(st.integers(1, 5), label="N")
    input_size = draw(st.integers(1, 4), label="D")
    hidden_size = draw(st.integers(1, 5), label="H")
    output_size = draw(st.integers(1 if head == "l2" else 2, 4), label="C")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    options = options or {}
    if kind == "two_layer":
        model = TwoLayerNet(input_size, hidden_size, output_size, head=head, **options)
        model.params = {
            "W1": rng.uniform(-1, 1, (input_size, hidden_size)),
            "b1": rng.uniform(-1, 1, hidden_size),
            "W2": rng.uniform(-1, 1, (hidden_size, output_size)),
            "b2": rng.uniform(-1, 1, output_size),
        }
    else:
        model = LinearClassifier(input_size, output_size, head=head, bias=bias, **options)
        model.params = {"W": rng.uniform(-1, 1, (input_size, output_size))}
        if bias:
            model.params["b"] = rng.uniform(-1, 1, output_size)
    X = rng.uniform(-2, 2, (num_examples, input_size))
    if head == "l2":
        y = draw(st.none() | st.just(rng.uniform(-2, 2, (num_examples, output_size))))
    else:
        y = draw(hnp.arrays(np.intp, num_examples, elements=st.integers(0, output_size - 1)))
    return model, X, y


def assume_off_the_kinks(model, X, y, margin):
    """Discard a problem where a ReLU or a hinge sits within KINK_DISTANCE of its kink."""
    if "W1" in model.params:
        z1, scores = two_layer_forward(model.params, X)
        assume(np.all(np.abs(z1) > KINK_DISTANCE))
    else:
        scores = X @ model.params["W"] + model.params.get("b", 0.0)
    if model.head in ("svm", "squared_hinge"):
        assume(np.all(np.abs(hinge_margins(scores, y, margin)) > KINK_DISTANCE))


# gradients


HEAD_CASES = [
    ("softmax", {}),
    ("softmax", {"label_smoothing": 0.2, "reduction": "sum"}),
    ("svm", {}),
    ("svm", {"margin": 0.5, "reduction": "sum"}),
    ("squared_hinge", {}),
    ("l2", {}),
    ("l2", {"reduction": "sum"}),
]
HEAD_CASE_IDS = [head + "".join(f"-{key}" for key in options) for head, options in HEAD_CASES]


def assert_gradients_match_numerical(model, X, y, reg):
    assume_off_the_kinks(model, X, y, model.head_options.get("margin", 1.0))
    _, grads = model.loss(X, y, reg=reg)
    assert set(grads) == set(model.params)
    for name, param in model.params.items():
        expected = numerical_gradient(lambda _: model.loss(X, y, reg=reg)[0], param)
        np.testing.assert_allclose(
            grads[name], expected, rtol=NET_GRADIENT_RTOL, atol=NET_GRADIENT_ATOL, err_msg=name
        )


REGS = st.sampled_from([0.0, 0.3])  # without and with regularization


@pytest.mark.parametrize(("head", "options"), HEAD_CASES, ids=HEAD_CASE_IDS)
@given(data=st.data())
def test_two_layer_net_gradients_match_numerical_gradients_off_the_kinks(
    head, options, data
) -> None:
    model, X, y = data.draw(problems("two_layer", head, options=options))
    assert_gradients_match_numerical(model, X, y, data.draw(REGS, label="reg"))


@pytest.mark.parametrize("head", HEADS)
@given(data=st.data())
def test_linear_classifier_gradients_match_numerical_gradients_off_the_kinks(head, data) -> None:
    model, X, y = data.draw(problems("linear", head, bias=data.draw(st.booleans(), label="bias")))
    assert_gradients_match_numerical(model, X, y, data.draw(REGS, label="reg"))


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("head", HEADS)
def test_grads_have_exactly_the_keys_shapes_and_dtypes_of_params(kind, head) -> None:
    model = build(kind, 4, 3, head=head, seed=0)
    X, y = batch(head, 6, 4, 3)
    _, grads = model.loss(X, y, reg=0.1)
    assert list(grads) == list(model.params)
    for name, grad in grads.items():
        assert grad.shape == model.params[name].shape
        assert grad.dtype == model.params[name].dtype


def test_linear_classifier_without_bias_has_only_w() -> None:
    model = LinearClassifier(4, 3, bias=False, seed=0)
    assert list(model.params) == ["W"]
    assert list(model.loss(*batch("svm", 5, 4, 3))[1]) == ["W"]


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("head", HEADS)
def test_a_small_step_against_the_gradient_lowers_the_loss(kind, head) -> None:
    model = build(kind, 4, 3, head=head, std=0.5, seed=1)
    X, y = batch(head, 8, 4, 3, seed=2)
    loss, grads = model.loss(X, y, reg=0.1)
    for name, grad in grads.items():
        model.params[name] = model.params[name] - DESCENT_STEP * grad
    assert model.loss(X, y, reg=0.1)[0] < loss


# the problem set's examples, derived by hand


@given(
    st.integers(1, 4), st.integers(1, 4), st.integers(1, 5), st.integers(1, 3), st.integers(0, 99)
)
def test_matrix_example_gradients_equal_the_hand_derivation(N, D, H, C, seed) -> None:
    # z1 = X W1, h1 = ReLU(z1), yhat = h1 W2, L = ||yhat||^2 (squared Frobenius norm over
    # the batch): the "l2" head with no target, reduction="sum", and zero biases.
    rng = np.random.default_rng(seed)
    X, W1, W2 = (
        rng.standard_normal((N, D)),
        rng.standard_normal((D, H)),
        rng.standard_normal((H, C)),
    )
    net = TwoLayerNet(D, H, C, head="l2", reduction="sum")
    net.params.update(W1=W1, W2=W2)

    z1 = X @ W1
    h1 = np.maximum(z1, 0)
    yhat = h1 @ W2
    dyhat = 2 * yhat
    dz1 = (dyhat @ W2.T) * (z1 > 0)
    expected = {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": h1.T @ dyhat, "b2": dyhat.sum(axis=0)}

    loss, grads = net.loss(X)
    np.testing.assert_allclose(loss, np.sum(yhat**2), rtol=REORDERED_RTOL)
    for name, value in expected.items():
        np.testing.assert_allclose(grads[name], value, rtol=REORDERED_RTOL, atol=REORDERED_RTOL)
    # The default reduction, "mean", is the same divided by N.
    net_mean = TwoLayerNet(D, H, C, head="l2")
    net_mean.params.update(W1=W1, W2=W2)
    mean_loss, mean_grads = net_mean.loss(X)
    np.testing.assert_allclose(mean_loss, np.sum(yhat**2) / N, rtol=REORDERED_RTOL)
    np.testing.assert_allclose(mean_grads["W2"], expected["W2"] / N, rtol=REORDERED_RTOL)


def test_matrix_example_with_the_problem_sets_w1_gives_the_numbers_worked_by_hand() -> None:
    # The problem set's x = [0.2, 0.4] and its (commented-out) W1 = [[0.1, -0.3], [0.5, 0.8]], with
    # W2 = [1, 2]^T: z1 = [0.22, 0.26] (both active), yhat = 0.22 + 0.52 = 0.74,
    # L = 0.74^2 = 0.5476, dL/dyhat = 1.48, dW2 = 1.48 h1^T = [0.3256, 0.3848]^T,
    # dW1 = x^T (1.48 W2^T) = [[0.296, 0.592], [0.592, 1.184]].
    net = TwoLayerNet(2, 2, 1, head="l2")
    net.params.update(W1=np.array([[0.1, -0.3], [0.5, 0.8]]), W2=np.array([[1.0], [2.0]]))
    loss, grads = net.loss(np.array([[0.2, 0.4]]))
    np.testing.assert_allclose(loss, 0.5476, rtol=REORDERED_RTOL)
    np.testing.assert_allclose(grads["W2"], [[0.3256], [0.3848]], rtol=REORDERED_RTOL)
    np.testing.assert_allclose(grads["W1"], [[0.296, 0.592], [0.592, 1.184]], rtol=REORDERED_RTOL)
    np.testing.assert_allclose(grads["b1"], [1.48, 2.96], rtol=REORDERED_RTOL)
    np.testing.assert_allclose(grads["b2"], [1.48], rtol=REORDERED_RTOL)


def seed_svm_loss(W, X, y, reg):
    """The problem set's linear svm_loss, as a loop: mean hinge over examples + reg sum(W^2)."""
    num_train, num_classes = X.shape[0], W.shape[1]
    loss, dW = 0.0, np.zeros(W.shape)
    for i in range(num_train):
        scores = [sum(X[i, d] * W[d, j] for d in range(W.shape[0])) for j in range(num_classes)]
        for j in range(num_classes):
            margin = scores[j] - scores[y[i]] + 1.0
            if j != y[i] and margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss, dW = loss / num_train, dW / num_train
    return loss + reg * np.sum(W * W), dW + 2 * reg * W


@st.composite
def linear_svm_problems(draw):
    """W, X, y, reg with simple values, so that margins of exactly 0 (kinks) occur."""
    N, D, C = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(2, 4))
    values = st.integers(-8, 8).map(lambda k: k / 4)  # exact in binary: kinks are exact
    W = draw(hnp.arrays(np.float64, (D, C), elements=values))
    X = draw(hnp.arrays(np.float64, (N, D), elements=values))
    y = draw(hnp.arrays(np.intp, N, elements=st.integers(0, C - 1)))
    return W, X, y, draw(st.sampled_from([0.0, 5e-6, 0.5]))


@given(linear_svm_problems())
def test_linear_classifier_without_bias_is_the_problem_sets_svm_loss(problem) -> None:
    W, X, y, reg = problem
    model = LinearClassifier(*W.shape, head="svm", bias=False)
    model.params["W"] = W
    loss, grads = model.loss(X, y, reg=reg)
    expected_loss, expected_dW = seed_svm_loss(W, X, y, reg)
    np.testing.assert_allclose(loss, expected_loss, rtol=REORDERED_RTOL, atol=REORDERED_RTOL)
    np.testing.assert_allclose(grads["W"], expected_dW, rtol=REORDERED_RTOL, atol=REORDERED_RTOL)


HEAD_REFERENCES = [
    ("softmax", {}, naive.softmax_cross_entropy),
    ("softmax", {"label_smoothing": 0.1, "weight": [1.0, 2.0, 0.5]}, naive.softmax_cross_entropy),
    ("svm", {"margin": 0.5}, naive.multiclass_svm),
    ("svm", {"weight": [0.0, 1.0, 3.0], "reduction": "sum"}, naive.multiclass_svm),
    ("squared_hinge", {"margin": 2.0}, naive.squared_hinge),
    ("l2", {"reduction": "sum"}, naive.l2),
]


@pytest.mark.parametrize(
    ("head", "options", "reference"),
    HEAD_REFERENCES,
    ids=[f"{head}-{options}" for head, options, _ in HEAD_REFERENCES],
)
def test_loss_is_the_heads_loss_of_the_scores_with_its_options_plus_the_penalty(
    head, options, reference
) -> None:
    net = TwoLayerNet(4, 5, 3, head=head, std=1.0, seed=0, **options)
    X, y = batch(head, 7, 4, 3)
    _, scores = two_layer_forward(net.params, X)
    penalty = np.sum(net.params["W1"] ** 2) + np.sum(net.params["W2"] ** 2)
    expected = reference(scores, y, **options)[0] + 0.2 * penalty
    np.testing.assert_allclose(net.loss(X, y, reg=0.2)[0], expected, rtol=REORDERED_RTOL)


def test_loss_uses_the_arrays_that_users_put_in_params() -> None:
    net = TwoLayerNet(3, 4, 2, seed=0)
    net.params["W2"] = np.zeros((4, 2))
    net.params["b2"] = np.array([0.0, math.log(3)])  # every row's probabilities: [1/4, 3/4]
    loss, _ = net.loss(np.ones((3, 3)), [1, 1, 0])
    np.testing.assert_allclose(loss, (2 * math.log(4 / 3) + math.log(4)) / 3, rtol=REORDERED_RTOL)


def test_params_of_other_sizes_are_used_when_their_shapes_chain() -> None:
    net = TwoLayerNet(3, 4, 2)
    net.params = {"W1": np.eye(2), "b1": np.zeros(2), "W2": np.eye(2), "b2": np.zeros(2)}
    np.testing.assert_array_equal(net.scores([[1.0, -1.0]]), [[1.0, 0.0]])  # ReLU(x)


# training


def test_two_layer_net_fits_a_spiral_that_a_linear_classifier_cannot() -> None:
    X, y = spiral(100, 3, seed=0)
    settings = {"learning_rate": 2.0, "learning_rate_decay": 1.0, "reg": 1e-3, "seed": 0}
    net = TwoLayerNet(2, 100, 3, std=0.01, seed=0)
    net.train(X, y, num_iters=1000, batch_size=300, **settings)
    linear = LinearClassifier(2, 3, head="softmax", std=0.01, seed=0)
    linear.train(X, y, num_iters=300, batch_size=300, **settings)
    assert np.mean(net.predict(X) == y) >= 0.9
    assert np.mean(linear.predict(X) == y) <= 0.6


def test_train_records_a_loss_per_iteration_and_accuracies_once_per_epoch() -> None:
    X, y = batch("softmax", 50, 4, 3)
    X_val, y_val = batch("softmax", 9, 4, 3, seed=1)
    net = TwoLayerNet(4, 5, 3, seed=0)
    history = net.train(X, y, X_val, y_val, num_iters=7, batch_size=20, seed=0)  # 2 per epoch
    assert len(history["loss_history"]) == 7
    assert len(history["train_acc_history"]) == 3
    assert len(history["val_acc_history"]) == 3
    assert all(0.0 <= accuracy <= 1.0 for accuracy in history["val_acc_history"])


def test_train_samples_with_replacement_so_a_batch_may_exceed_the_data() -> None:
    X, y = batch("svm", 10, 4, 3)
    history = LinearClassifier(4, 3, seed=0).train(X, y, num_iters=5, batch_size=64, seed=0)
    assert len(history["train_acc_history"]) == 5  # every iteration is an epoch


def test_train_is_sgd_with_replacement_and_a_per_epoch_decay_as_documented() -> None:
    X, y = batch("softmax", 30, 4, 3)
    net = TwoLayerNet(4, 5, 3, std=0.1, seed=0)
    by_hand = TwoLayerNet(4, 5, 3, std=0.1, seed=0)
    net.train(X, y, learning_rate=0.5, learning_rate_decay=0.5, reg=0.01, num_iters=9,
              batch_size=10, seed=3)  # fmt: skip

    rng, rate = np.random.default_rng(3), 0.5
    for iteration in range(1, 10):
        rows = rng.integers(30, size=10)
        _, grads = by_hand.loss(X[rows], y[rows], reg=0.01)
        for name, grad in grads.items():
            by_hand.params[name] = by_hand.params[name] - rate * grad
        if iteration % 3 == 0:  # an epoch: 30 // 10 iterations
            rate *= 0.5
    for name, value in by_hand.params.items():
        np.testing.assert_array_equal(net.params[name], value)


def test_train_is_reproducible_from_its_seed_and_ignores_the_global_random_state() -> None:
    X, y = batch("svm", 40, 4, 3)
    histories = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)  # noqa: NPY002 (the global state that train must not use)
        net = TwoLayerNet(4, 5, 3, head="svm", std=0.1, seed=0)
        histories.append(net.train(X, y, num_iters=20, batch_size=8, seed=7)["loss_history"])
    assert histories[0] == histories[1]


def test_train_replaces_params_without_writing_into_the_given_arrays() -> None:
    net = TwoLayerNet(4, 5, 3, std=0.1, seed=0)
    net.params = {name: read_only(value) for name, value in net.params.items()}
    originals = {name: value.copy() for name, value in net.params.items()}
    given_arrays = dict(net.params)
    net.train(*batch("softmax", 20, 4, 3), learning_rate=0.1, num_iters=3, batch_size=5, seed=0)
    for name, value in given_arrays.items():
        np.testing.assert_array_equal(value, originals[name])
        assert net.params[name] is not value
    assert not np.array_equal(net.params["W2"], originals["W2"])


def test_train_prints_about_ten_progress_lines_when_verbose(capsys) -> None:
    X, y = batch("softmax", 40, 4, 3)
    net = TwoLayerNet(4, 5, 3, seed=0)
    net.train(X, y, X[:10], y[:10], num_iters=100, batch_size=10, seed=0, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert 10 <= len(lines) <= 12
    assert lines[0].startswith("iteration 1/100: loss ")
    assert lines[-1].startswith("iteration 100/100: loss ")
    assert "train acc" in lines[-1]
    assert "val acc" in lines[-1]
    net.train(X, y, num_iters=5, seed=0)
    assert capsys.readouterr().out == ""


def test_l2_head_trains_towards_its_targets_without_accuracies() -> None:
    X, _ = batch("l2", 30, 4, 2)
    targets = X @ np.array([[1.0, 0.0], [0.0, -1.0], [0.5, 0.5], [0.0, 0.0]])  # learnable
    net = TwoLayerNet(4, 16, 2, head="l2", std=0.3, seed=0)
    history = net.train(X, targets, learning_rate=0.05, num_iters=200, batch_size=30, seed=0)
    assert history["loss_history"][-1] < 0.5 * history["loss_history"][0]
    assert history["train_acc_history"] == []
    assert history["val_acc_history"] == []


# predict, dtypes, mutation


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("head", HEADS)
def test_predict_gives_the_argmax_labels_or_the_outputs_for_l2(kind, head) -> None:
    model = build(kind, 4, 3, head=head, std=1.0, seed=0)
    X, _ = batch(head, 6, 4, 3)
    scores = model.scores(X)
    if head == "l2":
        np.testing.assert_array_equal(model.predict(X), scores)
    else:
        assert model.predict(X).dtype.kind == "i"
        np.testing.assert_array_equal(model.predict(X), [np.argmax(row) for row in scores])


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("head", HEADS)
def test_a_float32_model_stays_float32_even_for_float64_data(kind, head) -> None:
    model = build(kind, 4, 3, head=head, std=0.5, seed=0, dtype=np.float32)
    reference = build(kind, 4, 3, head=head, std=0.5, seed=0)
    X, y = batch(head, 6, 4, 3)
    assert all(value.dtype == np.float32 for value in model.params.values())
    assert model.scores(X).dtype == np.float32
    loss, grads = model.loss(X, y, reg=0.1)
    assert loss.dtype == np.float32
    assert all(grad.dtype == np.float32 for grad in grads.values())
    np.testing.assert_allclose(loss, reference.loss(X, y, reg=0.1)[0], rtol=FLOAT32_RTOL)
    model.train(X, y, learning_rate=0.1, num_iters=3, batch_size=4, seed=0)
    assert all(value.dtype == np.float32 for value in model.params.values())


def test_a_float64_model_computes_in_float64_for_float32_or_integer_data() -> None:
    net = TwoLayerNet(4, 5, 3, seed=0)
    assert net.scores(np.ones((2, 4), np.float32)).dtype == np.float64
    loss, _ = net.loss(np.ones((2, 4), int), [0, 2])
    assert loss.dtype == np.float64


@pytest.mark.parametrize("kind", MODELS)
@pytest.mark.parametrize("head", HEADS)
def test_loss_never_writes_into_x_y_or_params_and_accepts_read_only_arrays(kind, head) -> None:
    model = build(kind, 4, 3, head=head, std=0.5, seed=0)
    model.params = {name: read_only(value) for name, value in model.params.items()}
    X, y = (read_only(array) for array in batch(head, 6, 4, 3))
    originals = [array.copy() for array in (X, y, *model.params.values())]
    model.loss(X, y, reg=0.1)
    model.predict(X)
    for array, original in zip((X, y, *model.params.values()), originals, strict=True):
        np.testing.assert_array_equal(array, original)


@pytest.mark.parametrize(
    ("scale", "message"),
    [(1e200, "the scores overflowed"), (1e160, r"reg_loss overflowed: sum\(W\*\*2\)")],
    ids=["scores", "reg_loss"],
)
def test_a_stage_that_overflows_raises_instead_of_returning_inf(scale, message) -> None:
    # W1 = scale: h1 ~ scale; W2 = scale or 1 / scale: scores ~ scale^2 or ~ 1;
    # reg_loss ~ scale^2. No RuntimeWarning escapes (pytest would fail on one).
    net = TwoLayerNet(2, 2, 2, seed=0)
    W2 = scale if message.startswith("the scores") else 1 / scale
    net.params.update(W1=np.full((2, 2), scale), W2=np.full((2, 2), W2))
    with pytest.raises(ModelOverflowError, match=message) as raised:
        net.loss(np.ones((1, 2)), [0], reg=1.0)
    assert raised.value.setting == "params"


# Overflow: the right value, or an error that says what overflowed and what to change
# (issue 10, item 7). pytest turns any RuntimeWarning into a failure.


def test_a_huge_reg_with_a_zero_weight_gives_a_finite_gradient() -> None:
    # 2 * reg = inf for reg = 1e308: (2 * reg) * W put NaN at W = 0 and +-inf elsewhere,
    # under a finite loss. The right gradient is the data's plus 2 * (reg * W).
    X, y = batch("svm", 5, 4, 3, seed=2)
    model = LinearClassifier(4, 3, bias=False, seed=0)
    model.params["W"][0, 0] = 0.0
    W, reg = model.params["W"].copy(), 1e308
    loss, grads = model.loss(X, y, reg=reg)
    data_loss, data_grads = naive.multiclass_svm(X @ W, y)
    assert float(loss) == pytest.approx(data_loss + reg * float(np.sum(W * W)), rel=REORDERED_RTOL)
    expected = X.T @ data_grads["scores"] + 2 * (reg * W)
    np.testing.assert_allclose(grads["W"], expected, rtol=REORDERED_RTOL)
    assert grads["W"][0, 0] == pytest.approx(expected[0, 0], abs=1e-12)  # not NaN


@given(reg=st.floats(0, 1.79e308), W=hnp.arrays(np.float64, (3, 2), elements=st.floats(-1, 1)))
@example(reg=1.3, W=np.full((3, 2), 1.11253693e-308))
def test_the_penalty_gradient_is_2_reg_w_for_every_reg(reg, W) -> None:
    grad = np.zeros_like(W)
    with np.errstate(over="ignore"):  # as inside a model's loss, which checks the result
        add_reg_gradient(grad, W, reg)
    # The exact 2 reg W, correctly rounded (inf beyond the float range). Not 2 * (reg * W):
    # where reg * W is subnormal it rounds, and doubling doubles that error (found by
    # Hypothesis: reg = 1.3, W = 1.11253693e-308).
    for index, weight in np.ndenumerate(W):
        exact = 2 * Fraction(reg) * Fraction(float(weight))
        try:
            rounded = float(exact)  # int / int in Python: correctly rounded
        except OverflowError:
            rounded = math.inf if exact > 0 else -math.inf
        assert grad[index] == rounded, (index, grad[index], rounded)
    assert not np.isnan(grad).any()


def test_a_penalty_gradient_beyond_the_float_range_names_reg() -> None:
    # reg_loss = 1e308 * 0.95**2 = 9e307 is finite; its gradient 2 * 1e308 * 0.95 is not.
    model = LinearClassifier(2, 2, bias=False)
    model.params["W"] = np.array([[0.95, 0.0], [0.0, 0.0]])
    with pytest.raises(
        ModelOverflowError, match=r"dW overflowed: .* reg = 1e\+308; lower reg"
    ) as raised:
        model.loss(np.array([[0.1, 0.2]]), [0], reg=1e308)
    assert raised.value.setting == "reg"


def test_a_reg_that_overflows_the_loss_names_reg_not_the_learning_rate() -> None:
    X, y = batch("softmax", 20, 4, 3)
    net = TwoLayerNet(4, 5, 3, std=1.0, seed=0)  # sum(W**2) ~ 35: 1e308 * 35 overflows
    with pytest.raises(ModelOverflowError, match="reg = 1e\\+308; lower reg") as raised:
        net.train(X, y, reg=1e308, learning_rate=0.1, num_iters=5, batch_size=4, seed=0)
    assert raised.value.setting == "reg"
    assert "learning_rate" not in str(raised.value)


def test_a_float32_model_with_a_reg_beyond_float32_names_reg() -> None:
    X, y = batch("svm", 5, 4, 3)
    model = LinearClassifier(4, 3, seed=0, dtype=np.float32)
    with pytest.raises(ModelOverflowError, match="reg = 1e\\+300; lower reg"):
        model.loss(X, y, reg=1e300)


def test_a_diverging_train_says_so_in_one_message_naming_the_learning_rate() -> None:
    # The squared hinge's gradient grows with the margin: too large a step feeds on itself.
    X, y = spiral(30, 3, seed=0)
    net = TwoLayerNet(2, 20, 3, head="squared_hinge", std=0.1, seed=0)
    with pytest.raises(ModelOverflowError, match="training diverged at iteration") as raised:
        net.train(X, y, learning_rate=1e12, reg=0.0, num_iters=500, batch_size=30, seed=0)
    assert raised.value.setting == "learning_rate"
    assert raised.value.value == 1e12
    assert "lower learning_rate (it is 1e+12)" in str(raised.value)


def test_a_penalty_that_makes_every_step_grow_the_weights_names_reg_too() -> None:
    X, y = spiral(30, 3, seed=0)
    net = LinearClassifier(2, 3, head="softmax", std=0.1, seed=0)
    with pytest.raises(ModelOverflowError, match=r"2 \* learning_rate \* reg = 2000 > 2") as raised:
        net.train(X, y, learning_rate=1.0, reg=1000.0, num_iters=2000, batch_size=30, seed=0)
    assert "lower learning_rate or reg" in str(raised.value)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@given(std=st.floats(1e30, 1e308))
def test_a_std_that_overflows_the_initial_weights_is_refused_by_name(dtype, std) -> None:
    rng = np.random.default_rng(0)  # the model's draws: W1 (D, H), then W2 (H, C)
    with np.errstate(over="ignore"):
        draws = [(std * rng.standard_normal(shape)).astype(dtype) for shape in [(4, 5), (5, 3)]]
    if all(np.isfinite(weights).all() for weights in draws):
        net = TwoLayerNet(4, 5, 3, std=std, seed=0, dtype=dtype)
        np.testing.assert_array_equal(net.params["W2"], draws[1])
    else:
        with pytest.raises(ValueError, match=r"std must keep the initial weights std \* N\(0, 1\)"):
            TwoLayerNet(4, 5, 3, std=std, seed=0, dtype=dtype)


def test_std_1e308_is_refused_naming_std() -> None:
    with pytest.raises(ValueError, match="got std = 1e\\+308; use a small scale"):
        TwoLayerNet(4, 5, 3, std=1e308, seed=0)


def test_the_model_reports_its_head_and_head_options() -> None:
    net = TwoLayerNet(4, 5, 3, head="svm", margin=0.5)
    assert net.head == "svm"
    assert net.head_options == {"margin": 0.5}
    assert HEADS == ("softmax", "svm", "squared_hinge", "l2")


# bad input


def net():
    return TwoLayerNet(4, 5, 3, seed=0)


def l2_net():
    return TwoLayerNet(4, 5, 3, head="l2", seed=0)


def net_with(**params):
    model = net()
    model.params.update(params)
    return model


def net_without_b2():
    model = net()
    del model.params["b2"]
    return model


X4 = np.ones((5, 4))
Y = np.array([0, 1, 2, 0, 1])

BAD_INPUTS = {
    "X not 2-D": (lambda: net().loss(np.ones(4), Y), ValueError, "X must be 2-D"),
    "X with the wrong number of features": (
        lambda: net().loss(np.ones((5, 3)), Y),
        ValueError,
        r"X must have D = 4 features \(columns\) .* params\['W1'\] of shape \(4, 5\), "
        r"got shape \(5, 3\)",
    ),
    "X with NaN": (lambda: net().scores(np.full((1, 4), np.nan)), ValueError, "X must be finite"),
    "y of the wrong length": (
        lambda: net().loss(X4, Y[:4]),
        ValueError,
        r"y must have shape \(5,\)",
    ),
    "y out of range": (
        lambda: net().loss(X4, [0, 1, 2, 3, 0]),
        ValueError,
        r"y must hold class labels in \[0, 3\)",
    ),
    "y of floats": (lambda: net().loss(X4, Y * 1.0), TypeError, "y must hold integer class labels"),
    "y missing for a classification head": (
        lambda: net().loss(X4),
        TypeError,
        r"y is required by the 'softmax' head: integer class labels of shape \(N,\) = \(5,\)",
    ),
    "y of the wrong shape for l2": (
        lambda: l2_net().loss(X4, Y),
        ValueError,
        r"y of the 'l2' head must be targets of shape \(N, C\) = \(5, 3\)",
    ),
    "negative reg": (lambda: net().loss(X4, Y, reg=-1.0), ValueError, "reg must be >= 0"),
    "unknown head": (lambda: TwoLayerNet(4, 5, 3, head="hinge"), ValueError, "head must be one of"),
    "zero hidden size": (
        lambda: TwoLayerNet(4, 0, 3),
        ValueError,
        "hidden_size must be a positive integer, got 0",
    ),
    "negative input size": (
        lambda: LinearClassifier(-1, 3),
        ValueError,
        "input_size must be a positive integer",
    ),
    "zero output size": (
        lambda: LinearClassifier(4, 0),
        ValueError,
        "output_size must be a positive integer",
    ),
    "fractional size": (
        lambda: TwoLayerNet(4, 2.5, 3),
        TypeError,
        "hidden_size must be an integer",
    ),
    "negative std": (lambda: TwoLayerNet(4, 5, 3, std=-1.0), ValueError, "std must be >= 0"),
    "integer dtype": (
        lambda: TwoLayerNet(4, 5, 3, dtype=int),
        TypeError,
        "dtype must be float32 or float64",
    ),
    "an option the head does not take": (
        lambda: TwoLayerNet(4, 5, 3, head="svm", label_smoothing=0.1),
        TypeError,
        "'label_smoothing' is not an option of the 'svm' head nor an argument of TwoLayerNet; "
        "the 'svm' head takes margin, weight, reduction",
    ),
    "a misspelt argument": (
        lambda: LinearClassifier(4, 3, sed=0),
        TypeError,
        "'sed' is not an option of the 'svm' head nor an argument of LinearClassifier",
    ),
    "class weights of the wrong length": (
        lambda: TwoLayerNet(4, 5, 3, weight=[1.0, 2.0]),
        ValueError,
        r"weight must have shape \(3,\)",
    ),
    "a margin that is not a number": (
        lambda: TwoLayerNet(4, 5, 3, head="svm", margin="1"),
        TypeError,
        "margin must be a real number",
    ),
    "reduction none": (
        lambda: TwoLayerNet(4, 5, 3, reduction="none"),
        ValueError,
        "reduction must be 'mean' or 'sum'",
    ),
    "params with a missing entry": (
        lambda: net_without_b2().loss(X4, Y),
        ValueError,
        "params of a TwoLayerNet must have exactly the entries W1, b1, W2, b2",
    ),
    "params that do not chain": (
        lambda: net_with(b1=np.zeros(7)).loss(X4, Y),
        ValueError,
        r"params\['b1'\] must have shape \(H\) with H = 5, as in params\['W1'\] of shape "
        r"\(4, 5\); got shape \(7,\)",
    ),
    "params of the wrong rank": (
        lambda: net_with(W2=np.zeros(5)).loss(X4, Y),
        ValueError,
        r"params\['W2'\] must be 2-D",
    ),
    "batch_size 0": (
        lambda: net().train(X4, Y, batch_size=0),
        ValueError,
        "batch_size must be a positive integer",
    ),
    "learning rate 0": (
        lambda: net().train(X4, Y, learning_rate=0.0),
        ValueError,
        "learning_rate must be > 0",
    ),
    "X_val without y_val": (
        lambda: net().train(X4, Y, X4),
        ValueError,
        "X_val and y_val must be given together, got y_val=None",
    ),
    "y_val of the wrong length": (
        lambda: net().train(X4, Y, X4, Y[:2]),
        ValueError,
        r"y_val must have shape \(5,\)",
    ),
    "X_val with the wrong number of features": (
        lambda: net().train(X4, Y, np.ones((2, 3)), Y[:2]),
        ValueError,
        "X_val must have D = 4 features",
    ),
    "validation data for the l2 head": (
        lambda: l2_net().train(X4, None, X4, None),
        ValueError,
        "the 'l2' head has none",
    ),
    "batch_size None": (
        lambda: net().train(X4, Y, batch_size=None),
        TypeError,
        "batch_size must be an integer, got None",
    ),
    "a seed of type str": (
        lambda: TwoLayerNet(4, 5, 3, seed="0"),
        TypeError,
        "seed must be None, an integer >= 0 or a numpy.random.Generator, got '0' of type str",
    ),
    "a float seed": (
        lambda: LinearClassifier(4, 3, seed=1.5),
        TypeError,
        "seed must be None, an integer >= 0 .* got 1.5 of type float",
    ),
    "a boolean seed": (lambda: net().train(X4, Y, seed=True), TypeError, "seed must be None"),
    "a bias that is not a bool": (
        lambda: LinearClassifier(4, 3, bias=1),
        TypeError,
        "bias must be True or False, got 1 of type int",
    ),
    "a negative seed for train": (
        lambda: net().train(X4, Y, seed=-1),
        ValueError,
        "seed must be an integer >= 0, got -1",
    ),
    "no examples to train on": (
        lambda: net().train(np.ones((0, 4)), np.zeros(0, int)),
        ValueError,
        "X must hold at least one example",
    ),
}


@pytest.mark.parametrize(("call", "error", "message"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_raises_an_error_naming_the_argument(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("head", ["softmax", "svm", "squared_hinge", "l2"])
@given(
    scale=st.floats(1e-3, 1e200),
    reg=st.floats(0, 1e308),
    seed=st.integers(0, 2**32 - 1),
)
def test_loss_is_finite_or_a_model_overflow_error_never_nan_or_a_warning(
    head, scale, reg, seed
) -> None:
    # Any size of weights and of reg: finite loss and gradients, or an error that names
    # what overflowed (pytest turns a RuntimeWarning into a failure).
    net = TwoLayerNet(3, 4, 2, head=head, std=scale, seed=seed)
    X, y = batch(head, 5, 3, 2, seed=seed % 1000)
    try:
        loss, grads = net.loss(X, y, reg=reg)
    except ModelOverflowError as error:
        refusal: ModelOverflowError | None = error
    else:
        refusal = None
    if refusal is not None:
        assert refusal.setting in ("reg", "params")
        assert "overflowed" in str(refusal)
        # Moderate weights and reg (scores near 1e7, reg * sum W**2 near 1e10) never overflow.
        assert scale > 1e3 or reg > 1e3, (scale, reg)
        return
    assert np.isfinite(loss)
    assert all(np.isfinite(grad).all() for grad in grads.values())
