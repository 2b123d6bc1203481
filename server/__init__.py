"""Clausewise: live redlining of AI contracts against the firm's playbook."""

from __future__ import annotations

import logging
import threading

from flask import Flask, Response

from server.api.errors import ApiError, register_error_handlers
from server.core.embedding import Embedder
from server.services import EXTENSION, Services
from server.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None,
               load: str = "background") -> Flask:
    """Wire the service: settings, blueprints, error handling, and the engine's loading.

    `load` is "background" (serve: answer /healthz while the model loads), "now" (gunicorn
    preload, tests) or "never" (the caller loads `Services` itself).
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    state = Services(settings)
    app.extensions[EXTENSION] = state

    from server.api import (
        clauses,
        health,
        metrics,
        openapi,
        review,
        search,
        security,
        suggest,
        taskpane,
    )

    app.register_blueprint(health.bp)
    app.register_blueprint(suggest.bp)
    app.register_blueprint(search.bp)  # /clauses/search, before /clauses/<id>
    app.register_blueprint(clauses.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(taskpane.bp)
    register_error_handlers(app)
    metrics.install(app)  # first, so its clock covers the other hooks
    security.install(app, settings)
    app.register_blueprint(openapi.bp)

    @app.after_request
    def no_store(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        return response

    if load == "now":
        state.load(embedder)
    elif load == "background":
        threading.Thread(target=_load_quietly, args=(state, embedder), daemon=True).start()
    return app


def _load_quietly(state: Services, embedder: Embedder | None) -> None:
    try:
        state.load(embedder)
    except Exception:
        log.error("engine failed to load: %s", state.failure)


__all__ = ["ApiError", "create_app"]
