"""Buggy implementations written by hand, each from a known mistake's description alone.

Each function is the code a learner writes for a CS231n-style contract, with one of the
mistakes of flatprop's catalogue (the table of ``flatprop.testing.mistakes``), written
from that table's words and the contract, not from flatprop's variants of the mistakes.
They cover the ids that no student of the independent class (tests/diagnosis_class)
makes, and the other forms a mistake takes (the reverse of a missing mean, a loop where
the class wrote vectorized code, a net where it wrote a loss layer).

``CASES`` maps each function's name to (checker, reference, options, expected id).
"""

import numpy as np

# Loss layers: fn(scores, y) -> (loss, dscores)


def squared_hinge_without_its_2(scores, y):
    """The squared hinge's gradient written as the margins, forgetting d(m**2)/dm = 2m."""
    n = scores.shape[0]
    rows = np.arange(n)
    margins = np.maximum(0.0, scores - scores[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    loss = np.sum(margins**2) / n
    dscores = margins.copy()  # should be 2 * margins
    dscores[rows, y] = -np.sum(margins, axis=1)
    return loss, dscores / n


def smoothed_softmax_spread_over_the_others(scores, y):
    """Label smoothing 0.1 with the other classes sharing 0.1 / (C - 1), the label 0.9."""
    n, c = scores.shape
    eps = 0.1
    targets = np.full((n, c), eps / (c - 1))
    targets[np.arange(n), y] = 1 - eps
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.sum(targets * log_probs) / n
    return loss, (np.exp(log_probs) - targets) / n


def softmax_summed_loss_averaged_gradient(scores, y):
    """The loss summed over the batch (no / N); the gradient divided by N."""
    n = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(n), y]))
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1
    return loss, dscores / n


def softmax_without_the_onehot(scores, y):
    """dscores = probs / N: the -1 at each example's true class left out."""
    n = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = np.mean(-np.log(probs[np.arange(n), y]))
    return loss, probs / n


def softmax_global_max(scores, y):
    """The scores shifted by their largest entry, over the whole batch."""
    n = scores.shape[0]
    exps = np.exp(scores - scores.max())
    probs = exps / exps.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(n), y]).mean()
    dscores = probs
    dscores[np.arange(n), y] -= 1
    return loss, dscores / n


def svm_loop_over_every_class(scores, y):
    """The hinge sum over every class j, j = y_i too, in a loop (its gradient cancels)."""
    n, c = scores.shape
    loss = 0.0
    dscores = np.zeros_like(scores)
    for i in range(n):
        for j in range(c):
            margin = scores[i, j] - scores[i, y[i]] + 1
            if margin > 0:
                loss += margin
                dscores[i, j] += 1
                dscores[i, y[i]] -= 1
    return loss / n, dscores / n


def svm_divided_by_classes(scores, y):
    """np.mean of the margins matrix: the sum divided by N * C instead of N."""
    n = scores.shape[0]
    margins = np.maximum(0, scores - scores[np.arange(n), y][:, None] + 1)
    margins[np.arange(n), y] = 0
    loss = np.mean(margins)
    active = (margins > 0).astype(float)
    active[np.arange(n), y] = -active.sum(axis=1)
    return loss, active / margins.size


def svm_worst_class_only(scores, y):
    """Only the most violating class counts (Crammer and Singer's multiclass hinge)."""
    n = scores.shape[0]
    dscores = np.zeros_like(scores)
    loss = 0.0
    for i in range(n):
        margins = scores[i] - scores[i, y[i]] + 1
        margins[y[i]] = 0
        j = int(np.argmax(margins))
        if margins[j] > 0:
            loss += margins[j]
            dscores[i, j] += 1
            dscores[i, y[i]] -= 1
    return loss / n, dscores / n


def svm_shifting_the_scores_in_place(scores, y):
    """Subtracts the true class's score from the caller's own scores array."""
    n = scores.shape[0]
    scores -= scores[np.arange(n), y][:, None]
    margins = np.maximum(0, scores + 1)
    margins[np.arange(n), y] = 0
    active = (margins > 0).astype(float)
    active[np.arange(n), y] = -active.sum(axis=1)
    return margins.sum() / n, active / n


def l2_mean_over_entries(pred, target):
    """np.mean of the squared errors: divided by N * K instead of N."""
    diff = pred - target
    return np.mean(diff**2), 2 * diff / diff.size


# Linear classifiers: fn(W, X, y, reg) -> (loss, dW), with reg * sum(W**2)


def softmax_linear_no_max_shift(W, X, y, reg):
    """exp of the raw scores: no maximum subtracted at all."""
    n = X.shape[0]
    exps = np.exp(X @ W)
    probs = exps / exps.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(n), y])) + reg * np.sum(W * W)
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1
    return loss, X.T @ dscores / n + 2 * reg * W


def svm_linear_gradient_negated(W, X, y, reg):
    """Right up to the last line, which returns minus the gradient (for descent)."""
    n = X.shape[0]
    scores = X @ W
    margins = np.maximum(0, scores - scores[np.arange(n), y][:, None] + 1)
    margins[np.arange(n), y] = 0
    active = (margins > 0).astype(float)
    active[np.arange(n), y] = -active.sum(axis=1)
    dW = X.T @ active / n + 2 * reg * W
    return margins.sum() / n + reg * np.sum(W * W), -dW


def svm_linear_reg_only_in_the_gradient(W, X, y, reg):
    """The loss without its regularization term; the gradient with 2 * reg * W."""
    n = X.shape[0]
    scores = X @ W
    margins = np.maximum(0, scores - scores[np.arange(n), y][:, None] + 1)
    margins[np.arange(n), y] = 0
    active = (margins > 0).astype(float)
    active[np.arange(n), y] = -active.sum(axis=1)
    return margins.sum() / n, X.T @ active / n + 2 * reg * W


def svm_linear_full_reg(W, X, y, reg):
    """reg * sum(W**2), with its gradient 2 * reg * W, where 0.5 * reg * sum(W**2) is
    expected (checked with reg_scale=0.5)."""
    data_loss, dW = svm_linear_reg_only_in_the_gradient(W, X, y, reg)
    return data_loss + reg * np.sum(W**2), dW


def softmax_linear_half_reg(W, X, y, reg):
    """0.5 * reg * sum(W**2), with its gradient reg * W (the other convention)."""
    n = X.shape[0]
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean() + 0.5 * reg * np.sum(W**2)
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1
    return loss, X.T @ dscores / n + reg * W


# Two-layer nets: fn(params, X, y, reg) -> (loss, grads), with reg * sum(W**2)


def _net_forward(params, X):
    z1 = X @ params["W1"] + params["b1"]
    return z1, np.maximum(0, z1)


def _softmax_head(scores, y):
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1
    return -log_probs[np.arange(n), y].mean(), dscores / n


def net_without_relu_backward(params, X, y, reg):
    """The ReLU in the forward pass, but its backward passes dh1 through unmasked."""
    W1, W2 = params["W1"], params["W2"]
    _, h1 = _net_forward(params, X)
    data_loss, dscores = _softmax_head(h1 @ W2 + params["b2"], y)
    dh1 = dscores @ W2.T
    grads = {"W2": h1.T @ dscores + 2 * reg * W2, "b2": dscores.sum(axis=0)}
    grads["W1"] = X.T @ dh1 + 2 * reg * W1  # the mask forgotten
    grads["b1"] = dh1.sum(axis=0)
    return data_loss + reg * (np.sum(W1**2) + np.sum(W2**2)), grads


def net_with_no_relu_at_all(params, X, y, reg):
    """z1 fed to the second layer, and nothing of the ReLU in the backward pass."""
    W1, W2 = params["W1"], params["W2"]
    z1 = X @ W1 + params["b1"]
    data_loss, dscores = _softmax_head(z1 @ W2 + params["b2"], y)
    dz1 = dscores @ W2.T
    grads = {
        "W1": X.T @ dz1 + 2 * reg * W1,
        "b1": dz1.sum(axis=0),
        "W2": z1.T @ dscores + 2 * reg * W2,
        "b2": dscores.sum(axis=0),
    }
    return data_loss + reg * (np.sum(W1**2) + np.sum(W2**2)), grads


def net_relu_mask_at_zero(params, X, y, reg):
    """The ReLU's backward passes the gradient where z1 >= 0: at exactly 0 too."""
    W1, W2 = params["W1"], params["W2"]
    z1, h1 = _net_forward(params, X)
    data_loss, dscores = _softmax_head(h1 @ W2 + params["b2"], y)
    dz1 = (dscores @ W2.T) * (z1 >= 0)
    grads = {
        "W1": X.T @ dz1 + 2 * reg * W1,
        "b1": dz1.sum(axis=0),
        "W2": h1.T @ dscores + 2 * reg * W2,
        "b2": dscores.sum(axis=0),
    }
    return data_loss + reg * (np.sum(W1**2) + np.sum(W2**2)), grads


def net_global_max(params, X, y, reg):
    """The net's softmax shifted by the largest score of the batch."""
    W1, W2 = params["W1"], params["W2"]
    z1, h1 = _net_forward(params, X)
    scores = h1 @ W2 + params["b2"]
    n = scores.shape[0]
    exps = np.exp(scores - np.max(scores))
    probs = exps / np.sum(exps, axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(n), y])) + reg * (np.sum(W1**2) + np.sum(W2**2))
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1
    dscores /= n
    dz1 = (dscores @ W2.T) * (z1 > 0)
    grads = {
        "W1": X.T @ dz1 + 2 * reg * W1,
        "b1": dz1.sum(axis=0),
        "W2": h1.T @ dscores + 2 * reg * W2,
        "b2": dscores.sum(axis=0),
    }
    return loss, grads


def svm_net_kink_counted(params, X, y, reg):
    """An SVM head whose gradient counts a margin of exactly 0 (>= 0) as active."""
    W1, W2 = params["W1"], params["W2"]
    z1, h1 = _net_forward(params, X)
    scores = h1 @ W2 + params["b2"]
    n = scores.shape[0]
    rows = np.arange(n)
    raw = scores - scores[rows, y][:, None] + 1
    margins = np.maximum(0, raw)
    margins[rows, y] = 0
    active = (raw >= 0).astype(float)
    active[rows, y] = 0
    active[rows, y] = -active.sum(axis=1)
    dscores = active / n
    dz1 = (dscores @ W2.T) * (z1 > 0)
    grads = {
        "W1": X.T @ dz1 + 2 * reg * W1,
        "b1": dz1.sum(axis=0),
        "W2": h1.T @ dscores + 2 * reg * W2,
        "b2": dscores.sum(axis=0),
    }
    return margins.sum() / n + reg * (np.sum(W1**2) + np.sum(W2**2)), grads


def net_no_mean(params, X, y, reg):
    """The data loss and every gradient summed over the batch, never divided by N."""
    W1, W2 = params["W1"], params["W2"]
    z1, h1 = _net_forward(params, X)
    scores = h1 @ W2 + params["b2"]
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1
    dz1 = (dscores @ W2.T) * (z1 > 0)
    grads = {
        "W1": X.T @ dz1 + 2 * reg * W1,
        "b1": dz1.sum(axis=0),
        "W2": h1.T @ dscores + 2 * reg * W2,
        "b2": dscores.sum(axis=0),
    }
    loss = -log_probs[np.arange(n), y].sum() + reg * (np.sum(W1**2) + np.sum(W2**2))
    return loss, grads


CASES = {
    "squared_hinge_without_its_2": (
        "check_loss_layer",
        "squared_hinge",
        {},
        "squared_hinge_gradient_missing_2",
    ),
    "smoothed_softmax_spread_over_the_others": (
        "check_loss_layer",
        "softmax",
        {"label_smoothing": 0.1},
        "smoothing_over_others",
    ),
    "softmax_summed_loss_averaged_gradient": (
        "check_loss_layer",
        "softmax",
        {},
        "gradient_not_averaged",
    ),
    "softmax_without_the_onehot": ("check_loss_layer", "softmax", {}, "target_not_subtracted"),
    "softmax_global_max": ("check_loss_layer", "softmax", {}, "global_max"),
    "svm_loop_over_every_class": ("check_loss_layer", "svm", {}, "target_in_hinge_sum"),
    "svm_divided_by_classes": ("check_loss_layer", "svm", {}, "mean_over_classes"),
    "svm_worst_class_only": ("check_loss_layer", "svm", {}, "crammer_singer"),
    "svm_shifting_the_scores_in_place": ("check_loss_layer", "svm", {}, "writes_input"),
    "l2_mean_over_entries": ("check_loss_layer", "l2", {}, "mean_over_classes"),
    "softmax_linear_no_max_shift": ("check_linear_loss", "softmax", {}, "no_max_shift"),
    "svm_linear_gradient_negated": ("check_linear_loss", "svm", {}, "gradient_sign"),
    "svm_linear_reg_only_in_the_gradient": ("check_linear_loss", "svm", {}, "reg_missing"),
    "softmax_linear_half_reg": ("check_linear_loss", "softmax", {}, "half_reg"),
    "svm_linear_full_reg": ("check_linear_loss", "svm", {"reg_scale": 0.5}, "full_reg"),
    "net_without_relu_backward": ("check_two_layer_loss", "softmax", {}, "relu_mask_wrong"),
    "net_with_no_relu_at_all": ("check_two_layer_loss", "softmax", {}, "pre_relu_forward"),
    "net_relu_mask_at_zero": ("check_two_layer_loss", "softmax", {}, "relu_mask_wrong"),
    "net_global_max": ("check_two_layer_loss", "softmax", {}, "global_max"),
    "svm_net_kink_counted": ("check_two_layer_loss", "svm", {}, "kink_counted"),
    "net_no_mean": ("check_two_layer_loss", "softmax", {}, "no_mean"),
}
