"""The OpenAPI document, schemathesis against it, and hypothesis on /api/v1/suggest parsing:
no input makes the service answer 5xx, and answers match the document."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from server import create_app
from server.api.openapi import NOT_BLANK, OPERATIONS, document, path_shape
from server.security.api_keys import key_digest
from server.settings import Settings
from tests.fakes import HashingEmbedder

KEY = "fuzz-test-key"
FAST = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@pytest.fixture
def keyed_app(settings: Settings) -> Flask:
    """An app that requires an API key, with rate limiting off for the fuzzer's bursts."""
    configured = replace(settings, api_keys=(key_digest(KEY),), rate_limit_per_minute=0)
    return create_app(configured, embedder=HashingEmbedder(), load="now")


def test_api_matches_its_document(keyed_app: Flask) -> None:
    # schemathesis generates requests for every operation in the served document, valid and
    # invalid, and checks status codes, content types, response schemas, auth and no 5xx.
    # (Its pytest plugin does not run on this pytest, so each operation runs as a hypothesis
    # test here.)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", keyed_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/suggest", "/healthz", "/readyz"}
    for operation in operations:
        # An arbitrary upload is not a .docx: review rightly refuses random "valid" bytes.
        excluded = [positive_data_acceptance] if operation.path == "/api/v1/review" else []

        fuzz(operation, excluded)


def fuzz(operation: Any, excluded: list[Any]) -> None:
    """Run schemathesis' generated cases for one operation."""

    @given(case=operation.as_strategy())
    @FAST
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"X-API-Key": KEY}, excluded_checks=excluded)

    check()


def test_document_is_served_without_credentials(keyed_app: Flask) -> None:
    response = keyed_app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    body = response.get_json()
    assert body["openapi"].startswith("3.1")
    assert "/api/v1/suggest" in body["paths"]


def test_every_served_route_is_documented(keyed_app: Flask) -> None:
    documented = {path_shape(path) for path in OPERATIONS}
    served = {path_shape(rule.rule) for rule in keyed_app.url_map.iter_rules()
              if rule.rule.startswith(("/api/", "/healthz", "/readyz", "/metrics"))}
    assert served - documented == set()


def test_document_lists_only_served_routes(keyed_app: Flask) -> None:
    body = keyed_app.test_client().get("/api/v1/openapi.json").get_json()
    served = {path_shape(rule.rule) for rule in keyed_app.url_map.iter_rules()}
    assert {path_shape(path) for path in body["paths"]} <= served
    assert set(document()["paths"]) == set(OPERATIONS)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
BODIES = st.one_of(
    st.fixed_dictionaries({"text": JSON}, optional={"perspective": JSON}),
    st.fixed_dictionaries({"text": st.text(min_size=1, max_size=300)},
                          optional={"perspective": st.sampled_from(["customer", "vendor"])
                                    | st.text(max_size=10)}),
    JSON,
)


def assert_error_shape_or_success(response_status: int, body: object) -> None:
    assert response_status < 500
    if response_status >= 400:
        assert isinstance(body, dict)
        assert body["code"] == response_status and body["message"] and body["description"]
    else:
        assert isinstance(body, dict) and isinstance(body["suggestions"], list)


@given(body=BODIES)
@FAST
def test_any_json_gets_an_answer_or_a_clear_error(client: FlaskClient, body: object) -> None:
    response = client.post("/api/v1/suggest", data=json.dumps(body),
                           content_type="application/json")
    assert_error_shape_or_success(response.status_code, response.get_json(silent=True))


@given(raw=st.binary(max_size=300),
       content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-"
                                     "urlencoded", "multipart/form-data", "", "application/json;"
                                     " charset=latin-1", "application/json; charset=utf-16"]))
@FAST
def test_any_bytes_get_an_answer_or_a_clear_error(client: FlaskClient, raw: bytes,
                                                  content_type: str) -> None:
    response = client.post("/api/v1/suggest", data=raw, content_type=content_type)
    assert_error_shape_or_success(response.status_code, response.get_json(silent=True))


def test_the_documented_blank_test_is_the_service_s() -> None:
    # The document's pattern and the service's str.strip() must agree on every character,
    # or a client validating against the document sends what the service refuses (U+0085).
    not_blank = re.compile(NOT_BLANK)
    disagree = [hex(c) for c in range(0x110000)
                if bool(not_blank.search(chr(c))) != bool(chr(c).strip())]
    assert disagree == []
