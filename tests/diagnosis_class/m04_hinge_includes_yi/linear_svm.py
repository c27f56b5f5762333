import numpy as np


def svm_loss_vectorized(W, X, y, reg):
    """Structured SVM loss function, vectorized implementation."""
    num_train = X.shape[0]
    scores = X.dot(W)
    correct_class_scores = scores[np.arange(num_train), y].reshape(-1, 1)
    margins = np.maximum(0, scores - correct_class_scores + 1)
    loss = np.sum(margins) / num_train
    loss += reg * np.sum(W * W)

    binary = (margins > 0).astype(float)
    binary[np.arange(num_train), y] = -np.sum(binary, axis=1)
    dW = X.T.dot(binary) / num_train
    dW += 2 * reg * W
    return loss, dW
