"""A local cross-encoder behind the core's Reranker protocol (trained by
`python -m server search-train-reranker`, loaded with the Hugging Face hub switched off)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from server.core.search import Scores


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a sentence-transformers CrossEncoder on the CPU."""

    def __init__(self, path: str | Path, batch_size: int = 32) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        folder = Path(path)
        if not folder.is_dir():
            raise FileNotFoundError(f"re-ranker directory not found: {path}")
        # max_length comes from the saved config: the pair length the model was trained on
        self._model = CrossEncoder(str(folder), device="cpu", local_files_only=True)
        self._name = folder.name
        self._batch_size = batch_size

    @property
    def name(self) -> str:
        """The re-ranker's directory name."""
        return self._name

    @property
    def max_tokens(self) -> int:
        """Word pieces of query and passage read together; the rest of a passage is cut."""
        return int(self._model.max_seq_length or 512)

    def relevance(self, query: str, passages: Sequence[str]) -> Scores:
        """The model's sigmoid relevance of each passage to the query."""
        if not passages:
            return np.zeros(0, dtype=np.float32)
        scores = self._model.predict([(query, p) for p in passages],
                                     batch_size=self._batch_size, show_progress_bar=False)
        return np.asarray(scores, dtype=np.float32)
