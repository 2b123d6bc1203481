"""What the core needs from an embedding model, and how long paragraphs are windowed for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from server.core.sentences import sentences

Vectors = NDArray[np.float32]


class Embedder(Protocol):
    """A sentence-embedding model: unit-length rows, one per text."""

    @property
    def name(self) -> str:
        """Identifies the model and its version, for keying cached embeddings."""
        ...

    @property
    def max_tokens(self) -> int:
        """The longest input the model reads before it truncates."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many model tokens this text takes (without special tokens)."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """L2-normalised embeddings, shape (len(texts), dim)."""
        ...


def windows(text: str, embedder: Embedder, budget: int | None = None) -> list[str]:
    """Consecutive sentence groups that each fit the model's window.

    A paragraph over the window is not cut: it is read as several windows, and a sentence
    that alone overflows is split on word boundaries into window-sized pieces.
    """
    limit = budget or embedder.max_tokens - 2  # [CLS] and [SEP]
    if embedder.count_tokens(text) <= limit:
        return [text]
    groups: list[str] = []
    current: list[str] = []
    for sentence in sentences(text):
        for piece in _fit(sentence, embedder, limit):
            candidate = " ".join([*current, piece])
            if current and embedder.count_tokens(candidate) > limit:
                groups.append(" ".join(current))
                current = [piece]
            else:
                current.append(piece)
    if current:
        groups.append(" ".join(current))
    return groups


def _fit(sentence: str, embedder: Embedder, limit: int) -> list[str]:
    """The sentence, or word-boundary pieces of it when it alone overflows the window."""
    if embedder.count_tokens(sentence) <= limit:
        return [sentence]
    words = sentence.split()
    pieces: list[str] = []
    start = 0
    while start < len(words):
        end = len(words)
        while end > start + 1 and embedder.count_tokens(" ".join(words[start:end])) > limit:
            end = start + max(1, (end - start) * 3 // 4)
        pieces.append(" ".join(words[start:end]))
        start = end
    return pieces
