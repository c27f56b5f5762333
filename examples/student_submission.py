"""A sample submission for a CS231n-style assignment, as a learner might hand it in.

Every function but ``svm_loss_vectorized``, ``affine_forward`` and ``relu_forward``
carries one bug that learners really make, named in its docstring: one per known
mistake of flatprop's catalogue (``flatprop.testing.mistakes``), and one that is in no
catalogue (``svm_loss_labels_ignored``). ``grade_submission.py`` grades them all with
flatprop.testing and shows each diagnosis.

Contracts:

- loss layers ``fn(scores, y) -> (loss, dscores)`` (CS231n's ``svm_loss(x, y)``);
- linear classifiers ``fn(W, X, y, reg) -> (loss, dW)``, regularization ``reg * sum(W**2)``;
- two-layer nets ``fn(params, X, y, reg) -> (loss, grads)``, regularization
  ``0.5 * reg * (sum(W1**2) + sum(W2**2))``, as some years of the course have it;
- layer pairs ``affine_forward(x, w, b) -> (out, cache)``, ``affine_backward(dout,
  cache) -> (dx, dw, db)``, ``relu_forward(x) -> (out, cache)``, ``relu_backward(dout,
  cache) -> dx``.
"""

import numpy as np

# Loss layers: fn(scores, y) -> (loss, dscores)


def softmax_loss_global_max(scores, y):
    """Bug: subtracts the max of all the scores, not each row's max."""
    num_train = scores.shape[0]
    shifted = scores - np.max(scores)
    exp_scores = np.exp(shifted)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train
    dscores = probs.copy()
    dscores[np.arange(num_train), y] -= 1
    return loss, dscores / num_train


def softmax_loss_sign_error(scores, y):
    """Bug: dscores is one_hot(y) - probs, the negative of the gradient."""
    num_train = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(num_train), y]))
    one_hot = np.zeros_like(probs)
    one_hot[np.arange(num_train), y] = 1
    dscores = (one_hot - probs) / num_train
    return loss, dscores


def softmax_loss_in_place(scores, y):
    """Bug: shifts the caller's scores in place (the loss and gradient are right)."""
    num_train = scores.shape[0]
    scores -= np.max(scores, axis=1, keepdims=True)
    log_probs = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(num_train), y]) / num_train
    dscores = np.exp(log_probs)
    dscores[np.arange(num_train), y] -= 1
    return loss, dscores / num_train


def svm_loss_labels_ignored(scores, y):
    """Bug: takes class 0 as the correct class of every example, whatever y says."""
    num_train = scores.shape[0]
    correct_scores = scores[:, 0]
    margins = np.maximum(0, scores - correct_scores[:, np.newaxis] + 1)
    margins[:, 0] = 0
    loss = np.sum(margins) / num_train
    dscores = (margins > 0).astype(scores.dtype)
    dscores[:, 0] = -np.sum(dscores, axis=1)
    return loss, dscores / num_train


def softmax_loss_no_shift(scores, y):
    """Bug: exp of the raw scores, no maximum subtracted: overflows on large scores."""
    num_train = scores.shape[0]
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(num_train), y]))
    dscores = probs.copy()
    dscores[np.arange(num_train), y] -= 1
    return loss, dscores / num_train


def softmax_loss_probs_gradient(scores, y):
    """Bug: dscores is probs / N, without the -1 at each example's true class."""
    num_train = scores.shape[0]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(num_train), y]))
    return loss, probs / num_train


def softmax_loss_smoothed_over_others(scores, y):
    """Bug: label smoothing 0.1 spread as 0.1 / (C - 1) over the other classes."""
    num_train, num_classes = scores.shape
    targets = np.full(scores.shape, 0.1 / (num_classes - 1))
    targets[np.arange(num_train), y] = 0.9
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(targets * log_probs) / num_train
    return loss, (np.exp(log_probs) - targets) / num_train


def svm_loss_mean_of_margins(scores, y):
    """Bug: np.mean over the whole margins matrix divides by N * C, not N."""
    num_train = scores.shape[0]
    margins = np.maximum(0, scores - scores[np.arange(num_train), y][:, np.newaxis] + 1)
    margins[np.arange(num_train), y] = 0
    dscores = (margins > 0).astype(scores.dtype)
    dscores[np.arange(num_train), y] = -np.sum(dscores, axis=1)
    return np.mean(margins), dscores / margins.size


def svm_loss_worst_class(scores, y):
    """Bug: only the largest margin of each example counts (Crammer-Singer's hinge)."""
    num_train = scores.shape[0]
    rows = np.arange(num_train)
    margins = np.maximum(0, scores - scores[rows, y][:, np.newaxis] + 1)
    margins[rows, y] = 0
    worst = np.argmax(margins, axis=1)
    active = margins[rows, worst] > 0
    dscores = np.zeros_like(scores)
    dscores[rows[active], worst[active]] = 1
    dscores[rows[active], y[active]] = -1
    return np.sum(margins[rows, worst]) / num_train, dscores / num_train


def squared_hinge_loss_without_its_2(scores, y):
    """Bug: the squared hinge's gradient written as the margins, not 2 * margins."""
    num_train = scores.shape[0]
    margins = np.maximum(0, scores - scores[np.arange(num_train), y][:, np.newaxis] + 1)
    margins[np.arange(num_train), y] = 0
    dscores = margins.copy()
    dscores[np.arange(num_train), y] = -np.sum(margins, axis=1)
    return np.sum(margins**2) / num_train, dscores / num_train


# Linear classifiers: fn(W, X, y, reg) -> (loss, dW)


def svm_loss_vectorized(W, X, y, reg):
    """Correct: the vectorized multiclass SVM loss with reg * sum(W**2)."""
    num_train = X.shape[0]
    scores = X.dot(W)
    correct_scores = scores[np.arange(num_train), y]
    margins = np.maximum(0, scores - correct_scores[:, np.newaxis] + 1)
    margins[np.arange(num_train), y] = 0
    loss = np.sum(margins) / num_train + reg * np.sum(W * W)
    dscores = (margins > 0).astype(W.dtype)
    dscores[np.arange(num_train), y] = -np.sum(dscores, axis=1)
    dW = X.T.dot(dscores) / num_train + 2 * reg * W
    return loss, dW


def svm_loss_naive_all_classes(W, X, y, reg):
    """Bug: the sum over classes includes j = y_i (each example adds the margin 1)."""
    dW = np.zeros(W.shape)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW


def svm_loss_naive_at_the_kink(W, X, y, reg):
    """Bug: ``margin >= 0`` counts a margin of exactly 0 as active in the gradient."""
    dW = np.zeros(W.shape)
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin >= 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss = loss / num_train + reg * np.sum(W * W)
    dW = dW / num_train + 2 * reg * W
    return loss, dW


def svm_loss_vectorized_no_mean(W, X, y, reg):
    """Bug: sums the data loss and its gradient over the batch, never dividing by N."""
    num_train = X.shape[0]
    scores = X.dot(W)
    correct_scores = scores[np.arange(num_train), y]
    margins = np.maximum(0, scores - correct_scores[:, np.newaxis] + 1)
    margins[np.arange(num_train), y] = 0
    loss = np.sum(margins) + reg * np.sum(W * W)
    dscores = (margins > 0).astype(W.dtype)
    dscores[np.arange(num_train), y] = -np.sum(dscores, axis=1)
    dW = X.T.dot(dscores) + 2 * reg * W
    return loss, dW


def softmax_loss_vectorized_reg_gradient(W, X, y, reg):
    """Bug: the loss has reg * sum(W**2), but the gradient adds reg * W, not 2 * reg * W."""
    num_train = X.shape[0]
    scores = X.dot(W)
    scores = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train
    loss += reg * np.sum(W * W)
    dscores = probs
    dscores[np.arange(num_train), y] -= 1
    dW = X.T.dot(dscores) / num_train + reg * W
    return loss, dW


def softmax_loss_vectorized_gradient_summed(W, X, y, reg):
    """Bug: the loss is averaged over the batch, but its gradient is summed."""
    num_train = X.shape[0]
    scores = X.dot(W)
    scores = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(num_train), y])) + reg * np.sum(W * W)
    dscores = probs
    dscores[np.arange(num_train), y] -= 1
    return loss, X.T.dot(dscores) + 2 * reg * W


def svm_loss_vectorized_half_reg(W, X, y, reg):
    """Bug: 0.5 * reg * sum(W**2) (and reg * W) where the assignment has reg * sum(W**2)."""
    loss, dW = svm_loss_vectorized(W, X, y, reg)
    return loss - 0.5 * reg * np.sum(W * W), dW - reg * W


def svm_loss_vectorized_no_reg(W, X, y, reg):
    """Bug: the regularization is left out of the loss and of the gradient."""
    return svm_loss_vectorized(W, X, y, 0.0)


# Two-layer nets: fn(params, X, y, reg) -> (loss, grads), with 0.5 * reg * sum(W**2)


def two_layer_loss_pre_relu(params, X, y, reg):
    """Bug: the second layer gets the pre-activations z1, not the ReLU's output."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    num_train = X.shape[0]
    z1 = X.dot(W1) + b1
    hidden = np.maximum(0, z1)
    scores = z1.dot(W2) + b2
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dscores = probs
    dscores[np.arange(num_train), y] -= 1
    dscores /= num_train
    grads = {"W2": hidden.T.dot(dscores) + reg * W2, "b2": np.sum(dscores, axis=0)}
    dhidden = dscores.dot(W2.T)
    dhidden[hidden <= 0] = 0
    grads["W1"] = X.T.dot(dhidden) + reg * W1
    grads["b1"] = np.sum(dhidden, axis=0)
    return loss, grads


def two_layer_loss_bias_regularized(params, X, y, reg):
    """Bug: regularizes the biases b1 and b2 along with the weights."""
    num_train = X.shape[0]
    hidden = np.maximum(0, X.dot(params["W1"]) + params["b1"])
    scores = hidden.dot(params["W2"]) + params["b2"]
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train
    loss += 0.5 * reg * sum(np.sum(param * param) for param in params.values())
    dscores = probs
    dscores[np.arange(num_train), y] -= 1
    dscores /= num_train
    grads = {"W2": hidden.T.dot(dscores), "b2": np.sum(dscores, axis=0)}
    dhidden = dscores.dot(params["W2"].T)
    dhidden[hidden <= 0] = 0
    grads["W1"] = X.T.dot(dhidden)
    grads["b1"] = np.sum(dhidden, axis=0)
    for name in grads:
        grads[name] += reg * params[name]
    return loss, grads


def two_layer_loss_full_reg(params, X, y, reg):
    """Bug: reg * sum(W**2) (and 2 * reg * W) where the assignment has 0.5 * reg * sum(W**2)."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    num_train = X.shape[0]
    hidden = np.maximum(0, X.dot(W1) + b1)
    scores = hidden.dot(W2) + b2
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    probs = np.exp(shifted) / np.sum(np.exp(shifted), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dscores = probs
    dscores[np.arange(num_train), y] -= 1
    dscores /= num_train
    grads = {"W2": hidden.T.dot(dscores) + 2 * reg * W2, "b2": np.sum(dscores, axis=0)}
    dhidden = dscores.dot(W2.T)
    dhidden[hidden <= 0] = 0
    grads["W1"] = X.T.dot(dhidden) + 2 * reg * W1
    grads["b1"] = np.sum(dhidden, axis=0)
    return loss, grads


# Layer pairs: CS231n's forward and backward passes


def affine_forward(x, w, b):
    """Correct: x of shape (N, d1, ..., dk) flattened to (N, D), then x w + b."""
    out = x.reshape(x.shape[0], -1).dot(w) + b
    return out, (x, w, b)


def affine_backward_flat_dx(dout, cache):
    """Bug: dx is left as (N, D), not reshaped to x's shape (N, d1, ..., dk)."""
    x, w, _ = cache
    dx = dout.dot(w.T)
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    return dx, dw, np.sum(dout, axis=0)


def relu_forward(x):
    """Correct: max(0, x), the cache x itself."""
    return np.maximum(0, x), x


def relu_backward_mask_from_dout(dout, cache):
    """Bug: masks the upstream gradient by its own sign, not by the cached x."""
    return dout * (dout > 0)


def _main(argv=None):
    """List the submission's functions and the bug each one carries."""
    import argparse
    import inspect
    import sys

    parser = argparse.ArgumentParser(
        description="A sample submission with planted bugs; grade it with grade_submission.py."
    )
    parser.parse_args(argv)
    module = sys.modules[__name__]
    for name, function in inspect.getmembers(module, inspect.isfunction):
        if function.__module__ == module.__name__ and not name.startswith("_"):
            print(f"{name}: {inspect.getdoc(function).splitlines()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
