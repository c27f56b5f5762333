import numpy as np


def svm_loss_vectorized(W, X, y, reg):
    """Multiclass SVM loss, vectorized."""
    num_train = X.shape[0]
    idx = np.arange(num_train)
    scores = X.dot(W)
    margins = np.maximum(0, scores - scores[idx, y].reshape(-1, 1) + 1)
    margins[idx, y] = 0
    worst = np.argmax(margins, axis=1)        # most violating class
    worst_margin = margins[idx, worst]
    loss = np.sum(worst_margin) / num_train
    loss += reg * np.sum(W * W)

    active = worst_margin > 0
    coeff = np.zeros(scores.shape)
    coeff[idx[active], worst[active]] = 1
    coeff[idx[active], y[active]] = -1
    dW = X.T.dot(coeff) / num_train
    dW += 2 * reg * W
    return loss, dW
