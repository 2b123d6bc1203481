"""POST /api/v1/suggest: the playbook's suggestions for one paragraph."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from server.api.errors import ApiError
from server.core.suggestion import suggestion_record
from server.core.topics import Perspective
from server.services import services

bp = Blueprint("suggest", __name__, url_prefix="/api/v1")


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 415/400 that says what is wrong."""
    if not request.is_json:
        raise ApiError(415, "Send the body as JSON with Content-Type: application/json.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "The body is not a JSON object.")
    return body


def paragraph_text(body: dict[str, Any], field: str = "text") -> str:
    """A required, non-empty text field within the size limit."""
    text = body.get(field)
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, f"'{field}' must be a non-empty string.",
                       {field: "required, non-empty string"})
    limit = services().settings.max_text_chars
    if len(text) > limit:
        raise ApiError(413, f"'{field}' is {len(text)} characters; the limit is {limit}.",
                       {field: f"at most {limit} characters"})
    return text


def perspective_of(value: object) -> Perspective:
    """The requested side; customer when absent."""
    if value is None:
        return Perspective.CUSTOMER
    try:
        return Perspective(str(value))
    except ValueError:
        raise ApiError(400, "'perspective' must be 'customer' or 'vendor'.",
                       {"perspective": "one of: customer, vendor"}) from None


@bp.post("/suggest")
def suggest() -> Response:
    """Suggestions for the paragraph, most relevant first."""
    body = json_body()
    text = paragraph_text(body)
    perspective = perspective_of(body.get("perspective"))
    engine = services().ready_engine()
    suggestions = engine.suggest(text, perspective)
    return jsonify(suggestions=[suggestion_record(s) for s in suggestions])
