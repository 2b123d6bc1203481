"""Small fakes for fast tests: an embedder that hashes words into a vector."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from server.core.embedding import Vectors

_WORD = re.compile(r"\w+")


class HashingEmbedder:
    """Bag-of-words hashed into 256 dimensions: similar wording gives similar vectors."""

    name = "hashing-fake"
    max_tokens = 64

    def __init__(self) -> None:
        self.calls: list[int] = []  # batch sizes, to check caching

    def count_tokens(self, text: str) -> int:
        """One token per word."""
        return len(_WORD.findall(text))

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors of hashed lower-cased words."""
        self.calls.append(len(texts))
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % 256] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)
