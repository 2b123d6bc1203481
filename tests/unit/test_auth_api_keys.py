"""API keys (stored as sha256 digests), anonymous access, and the startup exposure rule."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask.testing import FlaskClient

from server import create_app
from server.security.api_keys import ApiKeys, key_digest
from server.security.exposure import Exposed, bind_host, check_exposure
from server.settings import Settings
from tests.fakes import HashingEmbedder

KEY = "cw_live_4f0c6a1e9b7d42c8a3e5"
OTHER_KEY = "cw_live_0000000000000000000"
TEXT = {"text": "The provider may use customer data to train its models."}


@pytest.fixture
def keyed(settings: Settings) -> FlaskClient:
    """An app that accepts one API key."""
    configured = replace(settings, api_keys=(key_digest(KEY), key_digest("second-key")))
    return create_app(configured, embedder=HashingEmbedder(), load="now").test_client()


def test_settings_hold_only_digests() -> None:
    settings = Settings.from_env({"REDLINE_API_KEY_HASHES": f" {key_digest(KEY)} ,"})
    assert settings.api_keys == (key_digest(KEY),)
    assert ApiKeys(settings.api_keys).principal(KEY) is not None


def test_malformed_digests_are_rejected_at_start() -> None:
    with pytest.raises(ValueError, match="sha256 hex"):
        ApiKeys([KEY])  # the key itself, not its digest


def test_principal_names_the_key_by_digest_prefix_not_the_key() -> None:
    found = ApiKeys([key_digest(KEY)]).principal(KEY)
    assert found is not None
    assert found.subject == f"key:{key_digest(KEY)[:16]}" and KEY not in found.subject
    assert ApiKeys([key_digest(KEY)]).principal(OTHER_KEY) is None


@pytest.mark.parametrize("headers", [{"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"},
                                     {"Authorization": "bearer second-key"}])
def test_valid_key_is_served(keyed: FlaskClient, headers: dict[str, str]) -> None:
    assert keyed.post("/api/v1/suggest", json=TEXT, headers=headers).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": OTHER_KEY},
                                     {"Authorization": f"Bearer {OTHER_KEY}"},
                                     {"Authorization": f"Basic {KEY}"},
                                     {"Authorization": "Bearer "},
                                     {"X-API-Key": key_digest(KEY)}])
def test_missing_or_wrong_key_is_401(keyed: FlaskClient, headers: dict[str, str]) -> None:
    response = keyed.post("/api/v1/suggest", json=TEXT, headers=headers)
    assert response.status_code == 401
    body = response.get_json()
    assert body["code"] == 401 and body["description"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert KEY not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"])
def test_probes_and_documents_need_no_credential(keyed: FlaskClient, path: str) -> None:
    assert keyed.get(path).status_code == 200


def test_unknown_api_route_still_needs_a_credential(keyed: FlaskClient) -> None:
    assert keyed.get("/api/v1/nope").status_code == 401


def test_anonymous_service_answers_local_clients(client: FlaskClient) -> None:
    assert client.post("/api/v1/suggest", json=TEXT).status_code == 200


def test_anonymous_service_refuses_remote_and_proxied_clients(client: FlaskClient) -> None:
    remote = client.post("/api/v1/suggest", json=TEXT,
                         environ_base={"REMOTE_ADDR": "203.0.113.9"})
    proxied = client.post("/api/v1/suggest", json=TEXT,
                          headers={"X-Forwarded-For": "203.0.113.9"})
    for response in (remote, proxied):
        assert response.status_code == 403
        assert "authentication" in response.get_json()["description"]


def test_explicitly_anonymous_service_answers_anyone(settings: Settings) -> None:
    app = create_app(replace(settings, allow_anonymous=True), embedder=HashingEmbedder(),
                     load="now")
    response = app.test_client().post("/api/v1/suggest", json=TEXT,
                                      environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("bind", "host"),
    [("127.0.0.1:8000", "127.0.0.1"), ("[::1]:8000", "::1"), ("0.0.0.0:80", "0.0.0.0"),
     ("unix:/run/clausewise.sock", None), (":8000", "0.0.0.0"), ("localhost", "localhost")],
)
def test_bind_host(bind: str, host: str | None) -> None:
    assert bind_host(bind) == host


@pytest.mark.parametrize("bind", ["127.0.0.1:8000", "localhost:8000", "[::1]:8443",
                                  "unix:/run/clausewise.sock", "127.9.9.9:1"])
def test_loopback_may_run_without_authentication(bind: str) -> None:
    check_exposure([bind], Settings())


@pytest.mark.parametrize("bind", ["0.0.0.0:8000", "[::]:8000", "10.0.0.5:8000",
                                  "clausewise.internal:8000", ":8000"])
def test_network_address_without_authentication_refuses_to_start(bind: str) -> None:
    with pytest.raises(Exposed, match="REDLINE_ALLOW_ANONYMOUS"):
        check_exposure(["127.0.0.1:9000", bind], Settings())


@pytest.mark.parametrize(
    "env",
    [{"REDLINE_ALLOW_ANONYMOUS": "1"}, {"REDLINE_API_KEY_HASHES": key_digest(KEY)},
     {"REDLINE_ENTRA_TENANT": "t", "REDLINE_ENTRA_AUDIENCE": "api://x"}],
)
def test_network_address_is_fine_when_authenticated_or_told(env: dict[str, str]) -> None:
    check_exposure(["0.0.0.0:8000"], Settings.from_env(env))


def test_anonymous_is_off_unless_explicitly_on() -> None:
    assert Settings().allow_anonymous is False
    assert Settings.from_env({}).allow_anonymous is False
    assert Settings.from_env({"REDLINE_ALLOW_ANONYMOUS": "0"}).allow_anonymous is False
    assert Settings.from_env({"REDLINE_ALLOW_ANONYMOUS": "1"}).allow_anonymous is True
