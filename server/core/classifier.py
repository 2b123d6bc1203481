"""The engine's two small classifiers, fitted on the clause bank when the engine starts.

- topic: one multinomial logistic regression over sentence embeddings, with the fourteen
  topics and a fifteenth "none" class learned from off-topic sentences;
- stance: per topic, a logistic regression over the embedding and the lexical cues
  (server/core/cues.py), because embeddings blur "shall not" and "may" and cues do not; beside
  it one shared model over all topics reads the embedding minus its topic's centroid, so what
  "shall not" or "at its sole discretion" does to a position is learnt from every topic.
Both train in about a second on the bank's exemplars; `make eval` shows what each buys over
nearest-neighbour voting (which did no better than chance on stance, left-one-position-out).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float32]
Labels = NDArray[np.intp]

# Embeddings are unit vectors with small coordinates; scaling them lets a lightly
# regularised model reach confident probabilities in few steps (chosen in make eval).
TOPIC_SCALE = 10.0
STANCE_SCALE = 3.0
SHARED_STANCE_SCALE = 6.0  # the shared model reads topic-centred vectors, which are shorter


@dataclass(frozen=True)
class SoftmaxRegression:
    """Multinomial logistic regression with class-balanced loss and L2 penalty."""

    weights: Matrix  # (features, classes)
    bias: Matrix  # (classes,)

    @classmethod
    def fit(cls, x: Matrix, labels: Labels, l2: float = 0.01, steps: int = 600,
            rate: float = 0.5, classes: int | None = None) -> SoftmaxRegression:
        """Fit by full-batch gradient descent (hundreds to a few thousand rows)."""
        n, f = x.shape
        k = classes or int(labels.max()) + 1
        weights = np.zeros((f, k), dtype=np.float32)
        bias = np.zeros(k, dtype=np.float32)
        target = np.eye(k, dtype=np.float32)[labels]
        # Each class weighs the same in total, so the one with most exemplars does not
        # win by numbers.
        counts = np.bincount(labels, minlength=k).astype(np.float32)
        sample_weight = (n / (k * np.maximum(counts, 1)))[labels][:, None]
        for _ in range(steps):
            error = (softmax(x @ weights + bias) - target) * sample_weight
            weights -= rate * (x.T @ error / n + l2 * weights)
            bias -= rate * error.mean(axis=0)
        return cls(weights, bias)

    def probabilities(self, x: Matrix) -> Matrix:
        """Probability of each class, one row per input row."""
        return softmax(x @ self.weights + self.bias)


def softmax(z: Matrix) -> Matrix:
    """Row-wise softmax, stable for large logits."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float32)


def topic_features(vectors: Matrix) -> Matrix:
    """Input of the topic classifier."""
    return np.asarray(vectors * TOPIC_SCALE, dtype=np.float32)


def stance_features(vectors: Matrix, cue_rows: Matrix, scale: float = STANCE_SCALE) -> Matrix:
    """Input of a stance classifier: the embedding beside the cues."""
    return np.hstack([vectors * scale, cue_rows]).astype(np.float32)
