"""GET /api/v1/openapi.json: the API described in OpenAPI 3.1.

The document lists only the routes this app actually serves (other features register theirs),
so a client generator or a fuzzer never meets a path that answers 404.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from server.core.topics import TOPICS, Kind, Perspective, Stance, Verdict

# A character that is not whitespace as Python's str.strip() sees it (the service's test for a
# blank paragraph), spelt out because JSON Schema's \s (ECMAScript) differs: it omits U+0085
# and U+001C-U+001F and includes U+FEFF.
NOT_BLANK = r"[^\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")
Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _enum(values: Iterable[object]) -> Schema:
    return {"type": "string", "enum": [str(getattr(v, "value", v)) for v in values]}


def _error(description: str) -> Schema:
    return {"description": description,
            "content": {"application/json": {"schema": _ref("Error")}}}


def _json(schema: Schema, description: str = "OK") -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _error("Bad input: the message says which field and why."),
    "401": _error("Missing or invalid credential."),
    "403": _error("The credential lacks the required scope, or anonymous access is refused."),
    "413": _error("The request or a text in it is too large."),
    "415": _error("Wrong content type."),
    "429": _error("Rate limit reached; see Retry-After."),
    "503": _error("The model and clause bank are still loading."),
}

SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object", "required": ["code", "message", "description"],
        "properties": {
            "code": {"type": "integer"}, "message": {"type": "string"},
            "description": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "Perspective": _enum(Perspective),
    "Topic": _enum(TOPICS),
    "Verdict": _enum(Verdict),
    "Op": {
        "type": "object", "required": ["op", "text"],
        "properties": {"op": {"type": "string", "enum": ["equal", "delete", "insert"]},
                       "text": {"type": "string"}},
    },
    "Redline": {
        "type": "object", "required": ["ops", "text"],
        "properties": {"ops": {"type": "array", "items": _ref("Op")},
                       "text": {"type": "string"}, "strategy": {"type": "string"}},
    },
    "Fallback": {
        "type": "object", "required": ["id", "label", "text", "reason"],
        "properties": {"id": {"type": "string"}, "label": {"type": "string"},
                       "text": {"type": "string"}, "reason": {"type": "string"},
                       "redline": {"oneOf": [_ref("Redline"), {"type": "null"}]}},
    },
    "Suggestion": {
        "type": "object", "required": ["topic", "score", "verdict", "reason", "redline",
                                       "fallbacks"],
        "properties": {
            "topic": _ref("Topic"), "score": {"type": "number", "minimum": 0, "maximum": 1},
            "verdict": _ref("Verdict"), "stance": _enum(Stance), "position": {},
            "reason": {"type": "string"},
            "redline": {"oneOf": [_ref("Redline"), {"type": "null"}]},
            "fallbacks": {"type": "array", "items": _ref("Fallback")},
        },
    },
    "SuggestRequest": {
        "type": "object", "required": ["text"],
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 20_000, "pattern": NOT_BLANK,
                     "description": "The paragraph as it stands, not blank; at most "
                                    "REDLINE_MAX_TEXT_CHARS characters (default 20,000)."},
            "perspective": _ref("Perspective"),
        },
    },
    "Position": {
        "type": "object", "required": ["id", "topic", "perspective", "kind", "label", "text",
                                       "reason"],
        "properties": {
            "id": {"type": "string"}, "topic": _ref("Topic"), "perspective": _ref("Perspective"),
            "kind": _enum(Kind), "stance": _enum(Stance), "rank": {"type": "integer"},
            "label": {"type": "string"}, "text": {"type": "string"},
            "reason": {"type": "string"},
            "exemplars": {"type": "array", "items": {"type": "string"}},
        },
    },
}

_QUERY = {"in": "query", "required": False}

OPERATIONS: dict[str, dict[str, Schema]] = {
    "/healthz": {"get": {
        "summary": "Liveness: the process answers.", "security": [], "tags": ["operations"],
        "responses": {"200": _json({"type": "object"})},
    }},
    "/readyz": {"get": {
        "summary": "Readiness: the model and clause bank are loaded.", "security": [],
        "tags": ["operations"],
        "responses": {"200": _json({"type": "object"}), "503": _json({"type": "object"},
                                                                      "Loading or failed.")},
    }},
    "/metrics": {"get": {
        "summary": "Counts and timings in the Prometheus text format.", "security": [],
        "tags": ["operations"],
        "responses": {"200": {"description": "OK",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}},
    }},
    "/api/v1/openapi.json": {"get": {
        "summary": "This document.", "security": [], "tags": ["operations"],
        "responses": {"200": _json({"type": "object"})},
    }},
    "/api/v1/suggest": {"post": {
        "summary": "The playbook's suggestions for one paragraph, most relevant first.",
        "tags": ["suggest"],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": _ref("SuggestRequest")}}},
        "responses": {
            "200": _json({"type": "object", "required": ["suggestions"], "properties": {
                "suggestions": {"type": "array", "items": _ref("Suggestion")}}}),
            **ERRORS,
        },
    }},
    "/api/v1/clauses": {"get": {
        "summary": "The clause bank's positions, optionally for one topic or perspective.",
        "tags": ["clauses"],
        "parameters": [
            {**_QUERY, "name": "topic", "schema": _ref("Topic")},
            {**_QUERY, "name": "perspective", "schema": _ref("Perspective")},
        ],
        "responses": {"200": _json({"type": "object", "required": ["clauses"], "properties": {
            "clauses": {"type": "array", "items": _ref("Position")}}}), **ERRORS},
    }},
    "/api/v1/clauses/search": {"get": {
        "summary": "Natural-language search over the clause bank and loaded precedents.",
        "tags": ["clauses"],
        "parameters": [
            {"in": "query", "name": "q", "required": True,
             "schema": {"type": "string", "minLength": 1}},
            {**_QUERY, "name": "topic", "schema": _ref("Topic")},
            {**_QUERY, "name": "perspective", "schema": _ref("Perspective")},
            {**_QUERY, "name": "limit", "schema": {"type": "integer", "minimum": 1}},
        ],
        "responses": {"200": _json({"type": "object"}), **ERRORS},
    }},
    "/api/v1/clauses/{id}": {"get": {
        "summary": "One position by id.", "tags": ["clauses"],
        "parameters": [{"in": "path", "name": "id", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {"200": _json(_ref("Position")), "404": _error("No such position."),
                      **ERRORS},
    }},
    "/api/v1/review": {"post": {
        "summary": "Review a whole .docx: the marked-up .docx, or the issues as JSON.",
        "tags": ["review"],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"},
                           "perspective": _ref("Perspective"),
                           "author": {"type": "string"}}}}}},
        "responses": {
            "200": {"description": "The reviewed document (or, with Accept: application/json,"
                                   " the issues).",
                    "content": {
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
                            {"schema": {"type": "string", "format": "binary"}},
                        "application/json": {"schema": {"type": "object"}}}},
            **ERRORS,
        },
    }},
}


def path_shape(route: str) -> str:
    """A Flask rule or OpenAPI path with its parameters blanked: /clauses/<id> -> /clauses/{}."""
    return re.sub(r"<[^<>]+>|\{[^{}]+\}", "{}", route)


def document(served: set[str] | None = None) -> Schema:
    """The OpenAPI document, limited to the served path shapes when given."""
    paths = {path: operations for path, operations in OPERATIONS.items()
             if served is None or path_shape(path) in served}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Clausewise API", "version": "1",
                 "description": "Live redlining of AI contracts against the firm's playbook. "
                                "Contract text is processed in memory and never stored."},
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}, {"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An API key, or a Microsoft Entra ID access token."},
            },
        },
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI document for the routes this server has."""
    served = {path_shape(rule.rule) for rule in current_app.url_map.iter_rules()}
    return jsonify(document(served))
