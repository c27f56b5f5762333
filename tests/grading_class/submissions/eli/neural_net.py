import numpy as np


def two_layer_loss(params, X, y, reg):
    """Affine - ReLU - affine - softmax, with 0.5 * reg * (sum(W1**2) + sum(W2**2))."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = X.shape[0]
    hidden_in = X.dot(W1) + b1
    hidden = np.maximum(0, hidden_in)
    scores = hidden_in.dot(W2) + b2
    scores = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(n), y]))
    loss += 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1
    dscores /= n
    grads = {"W2": hidden_in.T.dot(dscores) + reg * W2, "b2": dscores.sum(axis=0)}
    dhidden = dscores.dot(W2.T)
    grads["W1"] = X.T.dot(dhidden) + reg * W1
    grads["b1"] = dhidden.sum(axis=0)
    return loss, grads
