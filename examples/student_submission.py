"""A sample submission for a CS231n-style assignment, as a learner might hand it in.

Every function but ``svm_loss_vectorized`` carries one bug that learners really make
(named in its docstring); ``grade_submission.py`` grades them all with flatprop.testing.

Contracts:

- loss layers ``fn(scores, y) -> (loss, dscores)``;
- linear classifiers ``fn(W, X, y, reg) -> (loss, dW)``, regularization ``reg * sum(W**2)``;
- two-layer nets ``fn(params, X, y, reg) -> (loss, grads)``, regularization
  ``0.5 * reg * (sum(W1**2) + sum(W2**2))``, as some years of the course have it.
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
