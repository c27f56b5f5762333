import numpy as np


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax loss function, vectorized version."""
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)  # numeric stability
    exp_scores = np.exp(scores)
    sum_exp = np.sum(exp_scores, axis=1, keepdims=True)
    probs = exp_scores / sum_exp
    log_probs = scores - np.log(sum_exp)
    loss = -np.sum(log_probs[np.arange(num_train), y]) / num_train
    loss += reg * np.sum(W * W)

    dscores = probs
    dscores[np.arange(num_train), y] -= 1
    dscores /= num_train
    dW = X.T.dot(dscores)
    W *= 2 * reg  # reuse W's buffer for the reg gradient
    dW += W
    return loss, dW
