import numpy as np


def svm_loss_vectorized(W, X, y, reg):
    n = X.shape[0]
    S = X @ W
    Y = np.zeros(S.shape)
    Y[np.arange(n), y] = 1
    s_true = np.take_along_axis(S, np.asarray(y).reshape(-1, 1), axis=1)
    M = np.maximum(S - s_true + 1, 0) * (1 - Y)
    loss = M.sum() / n + reg * np.sum(W ** 2)
    G = (M > 0) * 1.0
    G -= Y * G.sum(axis=1, keepdims=True)
    dW = X.T @ G / n + 2 * reg * W
    return loss, dW
