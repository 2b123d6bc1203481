"""A local cross-encoder behind the core's Reranker protocol (trained by
`python -m server search-train-reranker`, loaded with the Hugging Face hub switched off).

By default its linear layers run in int8 (torch dynamic quantization, done at load time): on
this 2-core machine that re-reads 10 passages in about a third of the fp32 time, and the
ACORD figures move by a few tenths (BENCHMARKS.md), so the re-ranker fits an interactive
search; `int8=False` keeps fp32.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from server.core.search import Scores


class CrossEncoderReranker:
    """Scores (query, passage) pairs with a sentence-transformers CrossEncoder on the CPU."""

    def __init__(self, path: str | Path, batch_size: int = 32, int8: bool = True) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import CrossEncoder

        folder = Path(path)
        if not folder.is_dir():
            raise FileNotFoundError(f"re-ranker directory not found: {path}")
        # max_length comes from the saved config: the pair length the model was trained on
        self._model = CrossEncoder(str(folder), device="cpu", local_files_only=True)
        if int8:
            _quantize(self._model)
        self._name = folder.name + (":int8" if int8 else "")
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


def _quantize(model: object) -> None:
    """Linear layers to dynamic int8, in place."""
    import torch

    # torch warns that this API moves to torchao (not installed here); it works in this torch
    # and the result is measured, so the notice is not the user's concern
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
            model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
