"""One JSON shape for every error: {"code", "message", "description"[, "errors"]}.

Never a stack trace, never HTML, never the request's text.
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

from server.services import NotReady

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the client can act on; raised anywhere under a view."""

    def __init__(self, code: int, description: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.errors = errors


def error_response(code: int, description: str, errors: dict[str, str] | None = None
                   ) -> Response:
    """The one error shape, with the standard reason phrase as message."""
    body: dict[str, object] = {
        "code": code,
        "message": _phrase(code),
        "description": description,
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = code
    return response


def register_error_handlers(app: Flask) -> None:
    """Route every error, ours and Werkzeug's, through the one JSON shape."""

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> Response:
        return error_response(error.code, error.description, error.errors)

    @app.errorhandler(NotReady)
    def not_ready(error: NotReady) -> Response:
        response = error_response(503, str(error))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        code = error.code or 500
        response = error_response(code, _describe(error))
        for name, value in error.get_headers():
            if name in ("Allow", "Retry-After"):
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # The type only: a message may quote contract text.
        log.error("unhandled %s", type(error).__name__)
        return error_response(500, InternalServerError.description or "internal error")


def _describe(error: HTTPException) -> str:
    plain = {
        404: "No such route. The API lives under /api/v1/.",
        405: "This route does not accept that method.",
        413: "The request is too large.",
    }
    return plain.get(error.code or 500, error.description or "error")


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"
