"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from server.services import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers."""
    return jsonify(status="alive")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The model and the clause bank are loaded."""
    state = services()
    if state.engine is None:
        return jsonify(status="loading" if state.failure is None else "failed",
                       description=state.failure or "model and clause bank are loading"), 503
    return jsonify(status="ready", model=state.engine.embedder.name,
                   positions=len(state.engine.bank.positions())), 200
