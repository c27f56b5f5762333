import numpy as np


def two_layer_loss(params, X, y, reg):
    W1, b1 = params['W1'], params['b1']
    W2, b2 = params['W2'], params['b2']
    N = X.shape[0]

    hidden_pre = X.dot(W1) + b1
    hidden = np.maximum(0, hidden_pre)
    scores = hidden.dot(W2) + b2

    scores = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    dscores /= N

    grads = {}
    grads['W2'] = hidden.T.dot(dscores) + 2 * reg * W2
    grads['b2'] = np.sum(dscores, axis=0)
    dhidden = dscores.dot(W2.T)
    dhidden[hidden_pre <= 0] = 0
    grads['W1'] = X.T.dot(dhidden) + 2 * reg * W1
    grads['b1'] = np.sum(dhidden, axis=0)
    return loss, grads
