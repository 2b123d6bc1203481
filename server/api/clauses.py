"""GET /api/v1/clauses and /api/v1/clauses/<id>: the playbook's positions, for clause search."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from server.api.errors import ApiError
from server.api.suggest import perspective_of
from server.core.bank import position_record
from server.core.topics import TOPICS
from server.services import services

bp = Blueprint("clauses", __name__, url_prefix="/api/v1")


def topic_of(value: str | None) -> str | None:
    """The requested topic id, None when absent; 400 for an id outside the fixed list."""
    if not value:
        return None
    if value not in TOPICS:
        raise ApiError(400, f"'topic' must be one of the topic ids; got {value[:40]!r}.",
                       {"topic": "one of: " + ", ".join(TOPICS)})
    return value


@bp.get("/clauses")
def clauses() -> Response:
    """The bank's positions in playbook order, optionally of one topic and one side."""
    topic = topic_of(request.args.get("topic"))
    side = request.args.get("perspective")
    perspective = perspective_of(side) if side else None
    bank = services().ready_engine().bank
    return jsonify(clauses=[position_record(p) for p in bank.positions(topic, perspective)])


@bp.get("/clauses/<position_id>")
def clause(position_id: str) -> Response:
    """One position by id."""
    position = services().ready_engine().bank.position(position_id)
    if position is None:
        raise ApiError(404, f"No clause with id {position_id[:80]!r}.",
                       {"id": "unknown clause id"})
    return jsonify(position_record(position))
