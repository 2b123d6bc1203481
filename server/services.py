"""The composition root: builds the engine from settings, once, and hands it to the views.

Loading takes seconds (the model), so `serve` loads in a background thread while /healthz
answers and the API returns 503; gunicorn preloads synchronously so workers share memory.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from flask import current_app

from server.core.embedding import Embedder, Vectors
from server.core.engine import SuggestionEngine
from server.settings import Settings

if TYPE_CHECKING:
    from server.adapters.embedding import SentenceTransformerEmbedder

log = logging.getLogger(__name__)
EXTENSION = "clausewise"


class NotReady(Exception):
    """The engine is still loading (or failed to load)."""


@dataclass
class Services:
    """What the views need: the settings and, once loaded, the engine."""

    settings: Settings
    engine: SuggestionEngine | None = None
    failure: str | None = None

    def ready_engine(self) -> SuggestionEngine:
        """The engine, or NotReady while it loads."""
        if self.engine is None:
            raise NotReady(self.failure or "the model and clause bank are still loading")
        return self.engine

    def load(self, embedder: Embedder | None = None) -> None:
        """Build the engine from the settings; remembers a failure instead of half-starting."""
        try:
            self.engine = build_engine(self.settings, embedder)
        except Exception as error:  # reported by /readyz and the CLI, then re-raised
            self.failure = f"{type(error).__name__}: {error}"
            raise


class FileVectorCache:
    """Bank embeddings as .npy files in the cache directory (no contract text is stored)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def load(self, key: str) -> Vectors | None:
        """The saved vectors, or None when absent or unreadable."""
        path = self.directory / f"{key}.npy"
        try:
            return np.asarray(np.load(path, allow_pickle=False), dtype=np.float32)
        except (OSError, ValueError):
            return None

    def save(self, key: str, vectors: Vectors) -> None:
        """Save atomically, so a crash never leaves a torn file."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary = self.directory / f".{key}.{threading.get_ident()}.tmp.npy"
            np.save(temporary, vectors, allow_pickle=False)
            temporary.replace(self.directory / f"{key}.npy")
        except OSError as error:
            log.warning("bank embedding cache not written: %s", type(error).__name__)


def build_engine(settings: Settings, embedder: Embedder | None = None) -> SuggestionEngine:
    """Load the bank (strictly) and the model, and index the bank."""
    from server.adapters.background import read_background
    from server.adapters.bank_yaml import load_bank

    bank = load_bank(settings.bank_dir, settings.bank_overlay)
    if embedder is None:
        embedder = build_embedder(settings)
    return SuggestionEngine(bank, embedder, FileVectorCache(settings.cache_dir),
                            background=read_background())


def build_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The model the settings name, on the backend they name."""
    from server.adapters.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.model, backend=settings.backend,
                                       cache_dir=settings.cache_dir)


def services() -> Services:
    """The current app's services."""
    found: Services = current_app.extensions[EXTENSION]
    return found
