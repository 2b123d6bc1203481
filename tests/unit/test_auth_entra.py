"""Entra ID access tokens: signature against the tenant's keys, issuer, audience, expiry, scope.

Keys are generated here and the JWKS is served by a local function or a file: no network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from jwt.algorithms import RSAAlgorithm

from server import create_app
from server.security.entra import EntraVerifier, JwksCache, issuers
from server.security.principal import AuthFailure
from server.settings import Settings
from tests.fakes import HashingEmbedder

TENANT = "11111111-2222-3333-4444-555555555555"
AUDIENCE = "api://localhost:8443/66666666-7777-8888-9999-000000000000"
SCOPE = "access_as_user"
TEXT = {"text": "The provider may use customer data to train its models."}


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    """The tenant's signing key."""
    return _private_key()


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    """A key the tenant never published."""
    return _private_key()


def jwks(*keys: tuple[str, rsa.RSAPrivateKey]) -> dict[str, Any]:
    """A JWKS document with the public halves of the keys."""
    entries = []
    for kid, key in keys:
        entry = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        entries.append({**entry, "kid": kid, "use": "sig", "alg": "RS256"})
    return {"keys": entries}


def token(key: rsa.RSAPrivateKey, kid: str = "k1", **overrides: Any) -> str:
    """A signed access token; overrides replace claims (None removes one)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuers(TENANT)[0], "aud": AUDIENCE, "tid": TENANT, "oid": "user-oid-1",
        "sub": "user-sub-1", "scp": f"openid {SCOPE}", "iat": now, "nbf": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting(document: Callable[[], dict[str, Any]]) -> tuple[list[int], Callable[[], Any]]:
    """A fetcher that records its calls."""
    calls: list[int] = []

    def fetch() -> dict[str, Any]:
        calls.append(1)
        return document()

    return calls, fetch


def verifier(fetch: Callable[[], Any], clock: Clock | None = None) -> EntraVerifier:
    cache = JwksCache(fetch, min_refresh=60.0, clock=clock or Clock())
    return EntraVerifier(TENANT, (AUDIENCE,), SCOPE, cache)


def test_valid_token_names_the_user(signing_key: rsa.RSAPrivateKey) -> None:
    check = verifier(lambda: jwks(("k1", signing_key)))
    found = check.principal(token(signing_key))
    assert (found.scheme, found.subject) == ("entra", "entra:user-oid-1")


def test_v1_issuer_is_accepted_too(signing_key: rsa.RSAPrivateKey) -> None:
    check = verifier(lambda: jwks(("k1", signing_key)))
    assert check.principal(token(signing_key, iss=issuers(TENANT)[1])).scheme == "entra"


@pytest.mark.parametrize(
    ("overrides", "status", "words"),
    [
        ({"exp": int(time.time()) - 3600}, 401, "expired"),
        ({"aud": "api://someone-else"}, 401, "another application"),
        ({"iss": "https://login.microsoftonline.com/another-tenant/v2.0"}, 401, "tenant"),
        ({"scp": "openid profile"}, 403, SCOPE),
        ({"scp": None}, 403, SCOPE),
        ({"exp": None}, 401, "not valid"),
    ],
)
def test_bad_claims_are_refused(signing_key: rsa.RSAPrivateKey, overrides: dict[str, Any],
                                status: int, words: str) -> None:
    check = verifier(lambda: jwks(("k1", signing_key)))
    with pytest.raises(AuthFailure) as caught:
        check.principal(token(signing_key, **overrides))
    assert caught.value.status == status and words in caught.value.description


def test_signature_by_another_key_under_a_known_kid_is_refused(
        signing_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> None:
    check = verifier(lambda: jwks(("k1", signing_key)))
    with pytest.raises(AuthFailure, match="signature"):
        check.principal(token(other_key, kid="k1"))


def test_tampered_claims_break_the_signature(signing_key: rsa.RSAPrivateKey) -> None:
    header, _, signature = token(signing_key).split(".")
    forged_claims = jwt.utils.base64url_encode(json.dumps(
        {"iss": issuers(TENANT)[0], "aud": AUDIENCE, "oid": "admin", "scp": SCOPE,
         "exp": int(time.time()) + 600}).encode()).decode()
    check = verifier(lambda: jwks(("k1", signing_key)))
    with pytest.raises(AuthFailure) as caught:
        check.principal(f"{header}.{forged_claims}.{signature}")
    assert caught.value.status == 401


def test_unsigned_and_hmac_tokens_are_refused(signing_key: rsa.RSAPrivateKey) -> None:
    check = verifier(lambda: jwks(("k1", signing_key)))
    claims = {"iss": issuers(TENANT)[0], "aud": AUDIENCE, "scp": SCOPE, "oid": "x",
              "exp": int(time.time()) + 600}
    for forged in (jwt.encode(claims, None, algorithm="none", headers={"kid": "k1"}),
                   jwt.encode(claims, "secret-at-least-32-bytes-long-xxxx", algorithm="HS256",
                              headers={"kid": "k1"})):
        with pytest.raises(AuthFailure, match="RS256"):
            check.principal(forged)


def test_garbage_is_refused() -> None:
    check = verifier(lambda: {"keys": []})
    with pytest.raises(AuthFailure, match="not a valid JWT"):
        check.principal("not.a.token")


def test_keys_are_cached(signing_key: rsa.RSAPrivateKey) -> None:
    calls, fetch = counting(lambda: jwks(("k1", signing_key)))
    check = verifier(fetch)
    for _ in range(5):
        check.principal(token(signing_key))
    assert len(calls) == 1


def test_unknown_kid_refreshes_the_keys_once_per_interval(
        signing_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey) -> None:
    published = [("k1", signing_key)]
    calls, fetch = counting(lambda: jwks(*published))
    clock = Clock()
    check = verifier(fetch, clock)
    check.principal(token(signing_key))
    published.append(("k2", other_key))  # the tenant rolls a new key
    clock.now += 61
    assert check.principal(token(other_key, kid="k2")).scheme == "entra"
    assert len(calls) == 2
    for _ in range(3):  # a flood of unknown kids within the interval fetches nothing
        with pytest.raises(AuthFailure, match="does not publish"):
            check.principal(token(other_key, kid="k9"))
    assert len(calls) == 2
    clock.now += 61
    with pytest.raises(AuthFailure):
        check.principal(token(other_key, kid="k9"))
    assert len(calls) == 3


def test_a_failed_refresh_keeps_the_old_keys(signing_key: rsa.RSAPrivateKey) -> None:
    answers: list[Any] = [jwks(("k1", signing_key))]

    def fetch() -> Any:
        if not answers:
            raise OSError("unreachable")
        return answers.pop()

    clock = Clock()
    check = verifier(fetch, clock)
    check.principal(token(signing_key))
    clock.now += 2 * 24 * 3600  # stale: refresh, which fails
    assert check.principal(token(signing_key)).subject == "entra:user-oid-1"


# Through HTTP: the JWKS comes from a file URL, so the real fetch code runs without network.

@pytest.fixture
def entra_client(settings: Settings, tmp_path: Path,
                 signing_key: rsa.RSAPrivateKey) -> FlaskClient:
    """An app that accepts Entra tokens for the test tenant."""
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks(("k1", signing_key))))
    configured = replace(settings, entra_tenant=TENANT, entra_audience=(AUDIENCE,),
                         entra_jwks_url=keys.as_uri())
    return create_app(configured, embedder=HashingEmbedder(), load="now").test_client()


def test_http_valid_token_is_served(entra_client: FlaskClient,
                                    signing_key: rsa.RSAPrivateKey) -> None:
    response = entra_client.post("/api/v1/suggest", json=TEXT,
                                 headers={"Authorization": f"Bearer {token(signing_key)}"})
    assert response.status_code == 200
    assert response.get_json()["suggestions"]


@pytest.mark.parametrize(
    ("overrides", "status"),
    [({"exp": int(time.time()) - 3600}, 401), ({"aud": "api://other"}, 401),
     ({"iss": "https://sts.windows.net/other/"}, 401), ({"scp": "openid"}, 403)],
)
def test_http_bad_tokens_get_the_error_shape(entra_client: FlaskClient,
                                             signing_key: rsa.RSAPrivateKey,
                                             overrides: dict[str, Any], status: int) -> None:
    response = entra_client.post(
        "/api/v1/suggest", json=TEXT,
        headers={"Authorization": f"Bearer {token(signing_key, **overrides)}"})
    assert response.status_code == status
    body = response.get_json()
    assert body["code"] == status and body["message"] and body["description"]
    assert set(body) <= {"code", "message", "description", "errors"}


def test_http_bad_signature_is_401(entra_client: FlaskClient,
                                   other_key: rsa.RSAPrivateKey) -> None:
    response = entra_client.post("/api/v1/suggest", json=TEXT,
                                 headers={"Authorization": f"Bearer {token(other_key)}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_http_no_credential_is_401(entra_client: FlaskClient) -> None:
    response = entra_client.post("/api/v1/suggest", json=TEXT)
    assert response.status_code == 401
    assert "Entra" in response.get_json()["description"]
