import numpy as np


def _logsumexp(a):
    m = np.max(a, axis=1, keepdims=True)
    return m + np.log(np.sum(np.exp(a - m), axis=1, keepdims=True))


def softmax_loss_vectorized(W, X, y, reg):
    n = X.shape[0]
    rows = np.arange(n)
    S = X @ W
    log_p = S - _logsumexp(S)
    loss = -log_p[rows, y].mean() + reg * np.sum(W ** 2)
    G = np.exp(log_p)
    G[rows, y] -= 1
    dW = X.T @ G / n + 2 * reg * W
    return loss, dW
