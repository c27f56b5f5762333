"""The staged checkers: a learner's flat backprop, stage by stage.

The staged implementations here are the problem set's flat backprop written by hand
(loops-free NumPy, each stage one line), independent of flatprop's code; each wrong one
differs from its right one in the stage the test names.
"""

import numpy as np
import pytest

from flatprop.testing import (
    CheckFailedError,
    check_linear_loss,
    check_staged_linear_loss,
    check_staged_two_layer_loss,
)

FEW_EXAMPLES = 30


def svm_stages(W, X, y, reg):
    """The problem set's SVM: six forward lines, three backward ones."""
    n = X.shape[0]
    rows = np.arange(n)
    scores = X.dot(W)
    margins = np.maximum(0, scores - scores[rows, y][:, None] + 1)
    margins[rows, y] = 0
    data_loss = np.sum(margins) / n
    reg_loss = reg * np.sum(W * W)
    loss = data_loss + reg_loss
    dmargins = (margins > 0) / n
    dscores = dmargins.copy()
    dscores[rows, y] = -np.sum(dmargins, axis=1)
    dW = X.T.dot(dscores) + 2 * reg * W
    return {
        "scores": scores,
        "margins": margins,
        "data_loss": data_loss,
        "reg_loss": reg_loss,
        "loss": loss,
        "dmargins": dmargins,
        "dscores": dscores,
        "dW": dW,
    }


def svm_stages_dmargins_not_averaged(W, X, y, reg):
    """dmargins without its / N; dscores (computed right) is right."""
    stages = svm_stages(W, X, y, reg)
    return {**stages, "dmargins": stages["dmargins"] * X.shape[0]}


def svm_stages_summed(W, X, y, reg):
    """Every stage from data_loss on summed over the batch, never divided by N."""
    n = X.shape[0]
    rows = np.arange(n)
    scores = X.dot(W)
    margins = np.maximum(0, scores - scores[rows, y][:, None] + 1)
    margins[rows, y] = 0
    data_loss = np.sum(margins)
    reg_loss = reg * np.sum(W * W)
    dmargins = (margins > 0).astype(float)
    dscores = dmargins.copy()
    dscores[rows, y] = -np.sum(dmargins, axis=1)
    return {
        "scores": scores,
        "margins": margins,
        "data_loss": data_loss,
        "reg_loss": reg_loss,
        "loss": data_loss + reg_loss,
        "dmargins": dmargins,
        "dscores": dscores,
        "dW": X.T.dot(dscores) + 2 * reg * W,
    }


def softmax_stages(W, X, y, reg, *, global_max=False):
    n = X.shape[0]
    scores = X @ W
    shifted = scores - (scores.max() if global_max else scores.max(axis=1, keepdims=True))
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    data_loss = -np.mean(log_probs[np.arange(n), y])
    reg_loss = reg * np.sum(W**2)
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1
    dscores /= n
    return {
        "scores": scores,
        "shifted": shifted,
        "log_probs": log_probs,
        "data_loss": data_loss,
        "reg_loss": reg_loss,
        "loss": data_loss + reg_loss,
        "dscores": dscores,
        "dW": X.T @ dscores + 2 * reg * W,
    }


def net_stages(params, X, y, reg, *, mask_from_dh1=False):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = X.shape[0]
    z1 = X @ W1 + b1
    h1 = np.maximum(0, z1)
    scores = h1 @ W2 + b2
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    data_loss = -log_probs[np.arange(n), y].mean()
    reg_loss = reg * (np.sum(W1**2) + np.sum(W2**2))
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1
    dscores /= n
    dh1 = dscores @ W2.T
    dz1 = dh1 * ((dh1 if mask_from_dh1 else z1) > 0)
    return {
        "z1": z1,
        "h1": h1,
        "scores": scores,
        "shifted": shifted,
        "log_probs": log_probs,
        "data_loss": data_loss,
        "reg_loss": reg_loss,
        "loss": data_loss + reg_loss,
        "dscores": dscores,
        "dh1": dh1,
        "dW2": h1.T @ dscores + 2 * reg * W2,
        "db2": dscores.sum(axis=0),
        "dz1": dz1,
        "dW1": X.T @ dz1 + 2 * reg * W1,
        "db1": dz1.sum(axis=0),
    }


def test_a_right_flat_backprop_passes_with_every_stage_compared():
    report = check_staged_linear_loss(svm_stages, "svm", max_examples=FEW_EXAMPLES)
    assert report.quantities == tuple(svm_stages(np.eye(2), np.eye(2), np.array([0, 1]), 0.0))
    report = check_staged_linear_loss(softmax_stages, "softmax", max_examples=FEW_EXAMPLES)
    assert "shifted" in report.quantities
    report = check_staged_two_layer_loss(net_stages, "softmax", max_examples=FEW_EXAMPLES)
    assert report.quantities[-1] == "db1"


def test_only_the_stages_returned_are_compared_and_reported():
    def three_stages(W, X, y, reg):
        stages = svm_stages(W, X, y, reg)
        return {name: stages[name] for name in ("loss", "scores", "dW")}

    report = check_staged_linear_loss(three_stages, "svm", max_examples=FEW_EXAMPLES)
    assert report.quantities == ("scores", "loss", "dW")  # in the contract's order


def test_the_first_wrong_stage_is_named_with_what_matched_before_it():
    with pytest.raises(CheckFailedError) as caught:
        check_staged_linear_loss(svm_stages_dmargins_not_averaged, "svm", max_examples=FEW_EXAMPLES)
    error = caught.value
    assert (error.kind, error.stage, error.quantity) == ("mismatch", "dmargins", "dmargins")
    text = " ".join(str(error).split())
    assert (
        "scores, margins, data_loss, reg_loss and loss match; dmargins is the first wrong stage"
        in text
    )
    assert "the later stages (dscores and dW) were not compared" in text
    assert "dmargins is N times the reference's" in text


def test_a_flat_backprop_that_never_averages_is_no_mean_from_its_data_loss_on():
    with pytest.raises(CheckFailedError) as caught:
        check_staged_linear_loss(svm_stages_summed, "svm", max_examples=FEW_EXAMPLES)
    error = caught.value
    assert (error.stage, error.diagnosis) == ("data_loss", "no_mean")
    assert "data_loss is N times the reference's" in " ".join(str(error).split())


def test_a_global_max_is_caught_at_the_shifted_stage():
    def global_max(W, X, y, reg):
        return softmax_stages(W, X, y, reg, global_max=True)

    with pytest.raises(CheckFailedError) as caught:
        check_staged_linear_loss(global_max, "softmax", max_examples=FEW_EXAMPLES)
    assert (caught.value.stage, caught.value.diagnosis) == ("shifted", "global_max")


def test_a_wrong_relu_mask_is_caught_at_dz1_in_a_staged_net():
    def mask_from_dh1(params, X, y, reg):
        return net_stages(params, X, y, reg, mask_from_dh1=True)

    with pytest.raises(CheckFailedError) as caught:
        check_staged_two_layer_loss(mask_from_dh1, "softmax", max_examples=FEW_EXAMPLES)
    assert (caught.value.stage, caught.value.diagnosis) == ("dz1", "relu_mask_wrong")


def test_an_unknown_stage_name_fails_and_lists_the_known_ones():
    def misnamed(W, X, y, reg):
        stages = svm_stages(W, X, y, reg)
        return {"scores": stages["scores"], "grad_W": stages["dW"]}

    with pytest.raises(CheckFailedError) as caught:
        check_staged_linear_loss(misnamed, "svm", max_examples=5)
    text = " ".join(str(caught.value).split())
    assert caught.value.kind == "return"
    assert "a stage of no known name, 'grad_W'" in text
    known = "scores, margins, data_loss, reg_loss, loss, dmargins, dscores and dW"
    assert f"the stages it may return are {known}" in text


@pytest.mark.parametrize("returned", [{}, [1.0], None])
def test_a_staged_function_must_return_a_dict_of_at_least_one_stage(returned):
    with pytest.raises(CheckFailedError) as caught:
        check_staged_linear_loss(lambda W, X, y, reg: returned, "svm", max_examples=5)
    assert (caught.value.kind, caught.value.stage) == ("return", None)


def test_a_stage_of_the_wrong_shape_is_that_stages_failure():
    def scores_transposed(W, X, y, reg):
        return {"scores": (X @ W).T}

    with pytest.raises(CheckFailedError) as caught:
        check_staged_linear_loss(
            scores_transposed, "svm", max_examples=10, num_examples=3, num_classes=2
        )
    assert (caught.value.kind, caught.value.stage) == ("return", "scores")


def test_the_unstaged_checkers_name_no_stage():
    def summed(W, X, y, reg):
        stages = svm_stages_summed(W, X, y, reg)
        return stages["loss"], stages["dW"]

    with pytest.raises(CheckFailedError) as caught:
        check_linear_loss(summed, "svm", max_examples=FEW_EXAMPLES)
    assert (caught.value.stage, caught.value.diagnosis) == (None, "no_mean")


def test_a_staged_target_is_checked_in_a_worker_with_the_same_verdict(tmp_path):
    source = (
        "import numpy as np\n\n"
        "def stages(W, X, y, reg):\n"
        "    n = X.shape[0]\n"
        "    scores = X @ W\n"
        "    margins = np.maximum(0, scores - scores[np.arange(n), y][:, None] + 1)\n"
        "    margins[np.arange(n), y] = 0\n"
        "    return {'scores': scores, 'margins': margins, 'data_loss': margins.sum()}\n"
    )
    (tmp_path / "flat.py").write_text(source)
    with pytest.raises(CheckFailedError) as caught:
        check_staged_linear_loss(f"{tmp_path / 'flat.py'}:stages", "svm", max_examples=10)
    assert (caught.value.stage, caught.value.kind) == ("data_loss", "mismatch")
