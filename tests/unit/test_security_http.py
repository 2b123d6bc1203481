"""Security headers, CSP, CORS, request ids, size limits and rate limits through HTTP."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask, Response
from flask.testing import FlaskClient

from server import create_app
from server.api.security import OFFICE_JS
from server.serving import scrub
from server.settings import Settings
from tests.fakes import HashingEmbedder

TEXT = {"text": "The provider may use customer data to train its models."}
ORIGIN = "https://addin.firm.example"


def build(settings: Settings, **changes: object) -> Flask:
    app = create_app(replace(settings, **changes), embedder=HashingEmbedder(), load="now")

    @app.get("/pane-under-test.html")
    def pane() -> Response:
        return Response("<!doctype html><title>pane</title>", mimetype="text/html")

    return app


def test_api_responses_carry_security_headers(client: FlaskClient) -> None:
    response = client.post("/api/v1/suggest", json=TEXT)
    headers = response.headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in headers  # plain HTTP: the proxy sets it


def test_https_responses_carry_hsts(client: FlaskClient) -> None:
    response = client.get("/healthz", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_html_may_be_framed_by_office_but_loads_only_what_the_pane_needs(
        settings: Settings) -> None:
    response = build(settings).test_client().get("/pane-under-test.html")
    assert "X-Frame-Options" not in response.headers
    policy = dict(part.strip().split(" ", 1)
                  for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["script-src"] == f"'self' {OFFICE_JS}"
    assert policy["default-src"] == "'self'" and policy["connect-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    ancestors = policy["frame-ancestors"].split()
    assert "https://*.officeapps.live.com" in ancestors and "*" not in ancestors


def test_frame_ancestors_can_be_configured(settings: Settings) -> None:
    app = build(settings, frame_ancestors=("https://word.firm.example",))
    policy = app.test_client().get("/pane-under-test.html").headers["Content-Security-Policy"]
    assert "frame-ancestors https://word.firm.example" in policy


def test_request_id_is_echoed_or_made(client: FlaskClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert len(made.headers["X-Request-ID"]) == 32 and " " not in made.headers["X-Request-ID"]


def test_cors_only_for_configured_origins(settings: Settings) -> None:
    client = build(settings, cors_origins=(ORIGIN,)).test_client()
    allowed = client.post("/api/v1/suggest", json=TEXT, headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in allowed.headers["Vary"]
    other = client.post("/api/v1/suggest", json=TEXT, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_cors_preflight_needs_no_credential(settings: Settings) -> None:
    client = build(settings, cors_origins=(ORIGIN,), api_keys=("0" * 64,)).test_client()
    response = client.options("/api/v1/suggest", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_no_cors_by_default(client: FlaskClient) -> None:
    response = client.post("/api/v1/suggest", json=TEXT, headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_oversized_json_body_is_413_json(settings: Settings) -> None:
    client = build(settings, max_json_bytes=4096).test_client()
    response = client.post("/api/v1/suggest", json={"text": "word " * 2000})
    assert response.status_code == 413
    assert response.get_json()["code"] == 413
    small = client.post("/api/v1/suggest", json=TEXT)
    assert small.status_code == 200


def test_oversized_upload_is_413_json(settings: Settings) -> None:
    client = build(settings, max_upload_bytes=1024).test_client()
    response = client.post("/api/v1/suggest", data=b"x" * 4096,
                           content_type="application/octet-stream")
    assert response.status_code == 413
    assert response.get_json()["code"] == 413


def test_rate_limit_is_429_with_retry_after(settings: Settings) -> None:
    client = build(settings, rate_limit_per_minute=60, rate_limit_burst=3).test_client()
    statuses = [client.post("/api/v1/suggest", json=TEXT).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    refused = client.post("/api/v1/suggest", json=TEXT)
    assert refused.get_json()["code"] == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    assert client.get("/healthz").status_code == 200  # probes are never limited


def test_rate_limits_are_per_client(settings: Settings) -> None:
    client = build(settings, rate_limit_per_minute=60, rate_limit_burst=1,
                   allow_anonymous=True).test_client()

    def from_address(address: str) -> int:
        return client.post("/api/v1/suggest", json=TEXT,
                           environ_base={"REMOTE_ADDR": address}).status_code

    assert [from_address("192.0.2.1"), from_address("192.0.2.1")] == [200, 429]
    assert from_address("192.0.2.2") == 200


def test_trusted_proxy_gives_the_real_client_address(settings: Settings) -> None:
    client = build(settings, rate_limit_per_minute=60, rate_limit_burst=1, trusted_proxies=1,
                   allow_anonymous=True).test_client()

    def via_proxy(address: str) -> int:
        return client.post("/api/v1/suggest", json=TEXT,
                           headers={"X-Forwarded-For": address}).status_code

    assert [via_proxy("198.51.100.1"), via_proxy("198.51.100.1")] == [200, 429]
    assert via_proxy("198.51.100.2") == 200


@pytest.mark.parametrize("limit", [0, -1])
def test_rate_limit_zero_switches_it_off(settings: Settings, limit: int) -> None:
    client = build(settings, rate_limit_per_minute=limit, rate_limit_burst=1).test_client()
    assert {client.post("/api/v1/suggest", json=TEXT).status_code for _ in range(4)} == {200}


def test_server_log_scrubbing_removes_query_strings() -> None:
    line = "Invalid HTTP request line: 'GET /api/v1/clauses/search?q=secret%20clause HTTP/1.1'"
    assert scrub(line) == ("Invalid HTTP request line: 'GET /api/v1/clauses/search"
                           "?(query omitted) HTTP/1.1'")
    assert scrub("GET /healthz") == "GET /healthz"
