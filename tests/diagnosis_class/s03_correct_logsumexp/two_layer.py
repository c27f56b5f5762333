import numpy as np


def two_layer_loss(params, X, y, reg):
    W1, b1, W2, b2 = (params[k] for k in ('W1', 'b1', 'W2', 'b2'))
    n = X.shape[0]
    rows = np.arange(n)
    z1 = X @ W1 + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2 + b2
    m = z2.max(axis=1, keepdims=True)
    log_p = z2 - (m + np.log(np.exp(z2 - m).sum(axis=1, keepdims=True)))
    loss = -log_p[rows, y].mean() + reg * ((W1 ** 2).sum() + (W2 ** 2).sum())

    dz2 = np.exp(log_p)
    dz2[rows, y] -= 1
    dz2 /= n
    dz1 = (dz2 @ W2.T) * (z1 > 0)
    grads = {
        'W1': X.T @ dz1 + 2 * reg * W1,
        'b1': dz1.sum(axis=0),
        'W2': a1.T @ dz2 + 2 * reg * W2,
        'b2': dz2.sum(axis=0),
    }
    return loss, grads
