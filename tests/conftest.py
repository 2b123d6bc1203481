"""Shared fixtures: the app from the factory with a fake embedder, and its test client."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.adapters.embedding import SentenceTransformerEmbedder
from server.core.engine import SuggestionEngine
from server.settings import Settings
from tests.fakes import HashingEmbedder

FIXTURES = Path(__file__).parent / "fixtures"
# Bank embeddings (vectors only, no contract text) are shared by every process the tests
# start, so the built-in bank is embedded once per checkout rather than once per server.
SHARED_VECTOR_CACHE = Path(__file__).parents[1] / ".pytest_cache" / "bank-vectors"
os.environ.setdefault("REDLINE_CACHE_DIR", str(SHARED_VECTOR_CACHE))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on the small fixture bank, caching into a temporary directory."""
    return Settings(bank_dir=FIXTURES / "bank", cache_dir=tmp_path / "cache")


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The app with the fake embedder, loaded before the first request."""
    yield create_app(settings, embedder=HashingEmbedder(), load="now")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole test session."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def real_app(real_embedder: SentenceTransformerEmbedder) -> Flask:
    """The app on the built-in clause bank and the real model."""
    settings = Settings(cache_dir=Path(os.environ["REDLINE_CACHE_DIR"]))
    return create_app(settings, embedder=real_embedder, load="now")


@pytest.fixture(scope="session")
def real_client(real_app: Flask) -> FlaskClient:
    """A test client for the real app."""
    return real_app.test_client()


@pytest.fixture(scope="session")
def real_engine(real_app: Flask) -> SuggestionEngine:
    """The real app's engine."""
    engine = real_app.extensions["clausewise"].engine
    assert engine is not None
    return engine
