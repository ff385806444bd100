"""A small fully connected network with dropout, trained on scikit-learn's digits.

Used by the chapter on regularisation. The data set ships inside scikit-learn, so
nothing is downloaded.
"""

import numpy as np
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits  # installed with scikit-learn


def digits_split(n_train, seed=0):
    """Pixels scaled to [0, 1], split at random into n_train training and the rest validation."""
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(y))
    train, val = order[:n_train], order[n_train:]
    return (X[train] / 16, y[train]), (X[val] / 16, y[val])


def expected_calibration_error(probs, y, bins=15):
    """ECE: the gap between confidence and accuracy, averaged over equal-width confidence bins
    weighted by how many examples fall in each (Guo et al., 2017)."""
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == y
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    gaps = [np.mean(which == b) * abs(correct[which == b].mean() - confidence[which == b].mean())
            for b in range(bins) if np.any(which == b)]
    return float(np.sum(gaps))


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
        """(accuracy, mean cross-entropy = NLL, expected calibration error) with dropout off."""
        probs = _softmax(self._forward(X, train=False)[0])
        accuracy = float(np.mean(probs.argmax(axis=1) == y))
        return accuracy, float(-np.mean(np.log(probs[np.arange(len(y)), y]))), expected_calibration_error(probs, y)

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
    """Train one network; return an (epochs, 6) array: accuracy, loss and ECE on the training set,
    then the same on the validation set, after each epoch."""
    (X, y), (X_val, y_val) = data
    net = Network(X.shape[1], hidden, 10, keep, seed)
    order_rng = np.random.default_rng([seed, 1])
    velocity, history = {}, []
    # One BLAS thread: for matrices this small, more threads only wait for each other (on a
    # busy two-core machine, training ran 18 times slower with OpenBLAS's default threads).
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(epochs):
            order = order_rng.permutation(len(y))
            for start in range(0, len(y), batch):
                rows = order[start:start + batch]
                net.step(X[rows], y[rows], velocity, lr, momentum)
            history.append([*net.evaluate(X, y), *net.evaluate(X_val, y_val)])
    return np.array(history)
