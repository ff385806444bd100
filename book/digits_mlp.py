"""A small fully connected network with dropout, trained on scikit-learn's digits.

Used by the chapter on regularisation. The data set ships inside scikit-learn, so
nothing is downloaded.
"""

import numpy as np
from sklearn.datasets import load_digits


def digits_split(n_train, seed=0):
    """Pixels scaled to [0, 1], split at random into n_train training and the rest validation."""
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(y))
    train, val = order[:n_train], order[n_train:]
    return (X[train] / 16, y[train]), (X[val] / 16, y[val])


def _softmax(scores):
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


class Network:
    """{affine - relu - dropout} x len(hidden) - affine - softmax, trained with SGD and momentum."""

    def __init__(self, n_in, hidden, n_out, keep, seed):
        rng = np.random.default_rng(seed)
        dims = [n_in, *hidden, n_out]
        self.weights = [rng.standard_normal((a, b)) * np.sqrt(2 / a) for a, b in zip(dims[:-1], dims[1:])]
        self.biases = [np.zeros(b) for b in dims[1:]]
        self.keep = keep
        self.dropout_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])

    def _forward(self, X, train):
        activations, scales = [X], []
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            h = np.maximum(activations[-1] @ W + b, 0)
            if train and self.keep < 1:
                scale = (self.dropout_rng.random(h.shape) < self.keep) / self.keep
                h = h * scale
                scales.append(scale)
            activations.append(h)
        return activations[-1] @ self.weights[-1] + self.biases[-1], activations, scales

    def evaluate(self, X, y):
        """(accuracy, mean cross-entropy) with dropout off."""
        probs = _softmax(self._forward(X, train=False)[0])
        return float(np.mean(probs.argmax(axis=1) == y)), float(-np.mean(np.log(probs[np.arange(len(y)), y])))

    def step(self, X, y, velocity, lr, momentum):
        scores, activations, scales = self._forward(X, train=True)
        d = _softmax(scores)
        d[np.arange(len(y)), y] -= 1
        d /= len(y)
        for layer in reversed(range(len(self.weights))):
            grad_W, grad_b = activations[layer].T @ d, d.sum(axis=0)
            if layer:
                d = d @ self.weights[layer].T * (activations[layer] > 0)
                if scales:
                    d = d * scales[layer - 1]
            for params, grad, key in ((self.weights, grad_W, ("W", layer)), (self.biases, grad_b, ("b", layer))):
                velocity[key] = momentum * velocity.get(key, 0) - lr * grad
                params[layer] += velocity[key]


def train(keep, data, hidden=(256, 256), epochs=100, batch=64, lr=0.05, momentum=0.9, seed=0):
    """Train one network; return an (epochs, 4) array of train acc, train loss, val acc, val loss."""
    (X, y), (X_val, y_val) = data
    net = Network(X.shape[1], hidden, 10, keep, seed)
    order_rng = np.random.default_rng([seed, 1])
    velocity, history = {}, []
    for _ in range(epochs):
        order = order_rng.permutation(len(y))
        for start in range(0, len(y), batch):
            rows = order[start:start + batch]
            net.step(X[rows], y[rows], velocity, lr, momentum)
        history.append([*net.evaluate(X, y), *net.evaluate(X_val, y_val)])
    return np.array(history)
