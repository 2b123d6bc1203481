"""Microsoft Entra ID bearer tokens from the add-in's single sign-on, verified offline.

A token is accepted when its RS256 signature verifies against the tenant's published keys
(JWKS), and its issuer, audience, expiry and delegated scope (`scp`) are the configured ones.
The keys are cached; an unknown key id triggers a refresh, at most once per `min_refresh`
seconds, so a flood of forged tokens cannot turn into a flood of requests to Microsoft.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from server.security.principal import AuthFailure, Principal

log = logging.getLogger(__name__)

Jwks = Mapping[str, Any]
JwksFetcher = Callable[[], Jwks]
LEEWAY_SECONDS = 60  # clock skew between Entra and this host


def default_jwks_url(tenant: str) -> str:
    """Where a tenant publishes its signing keys."""
    return f"https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys"


def issuers(tenant: str) -> tuple[str, ...]:
    """The issuers of v2.0 and v1.0 access tokens for the tenant."""
    return (f"https://login.microsoftonline.com/{tenant}/v2.0", f"https://sts.windows.net/{tenant}/")


def url_fetcher(url: str, timeout: float = 5.0) -> JwksFetcher:
    """Fetch a JWKS document over HTTPS (public keys only; no request data leaves)."""

    def fetch() -> Jwks:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            document: Jwks = json.loads(response.read())
        return document

    return fetch


class JwksCache:
    """Signing keys by key id, refreshed when stale or when a token names an unknown key."""

    def __init__(self, fetch: JwksFetcher, *, min_refresh: float = 300.0,
                 max_age: float = 24 * 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._min_refresh = min_refresh
        self._max_age = max_age
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> jwt.PyJWK:
        """The key with this id, refreshing the set when allowed; AuthFailure when unknown."""
        with self._lock:
            now = self._clock()
            if self._due(now, kid):
                self._refresh(now)
            found = self._keys.get(kid)
        if found is None:
            raise AuthFailure(401, "The token was signed with a key this tenant does not publish.")
        return found

    def _due(self, now: float, kid: str) -> bool:
        if self._fetched_at is None:
            return True
        age = now - self._fetched_at
        return age >= self._max_age or (kid not in self._keys and age >= self._min_refresh)

    def _refresh(self, now: float) -> None:
        self._fetched_at = now  # also on failure: retry only after min_refresh
        self.fetches += 1
        try:
            document = self._fetch()
        except Exception as error:  # keep the old keys; tokens signed with them still verify
            log.warning("JWKS refresh failed: %s", type(error).__name__)
            return
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []):
            if not isinstance(entry, Mapping) or entry.get("kty") != "RSA" or "kid" not in entry:
                continue
            if entry.get("use", "sig") != "sig":
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(dict(entry), algorithm="RS256")
            except jwt.PyJWKError:
                log.warning("JWKS entry skipped: not a usable RSA key")
        if keys:
            self._keys = keys


class EntraVerifier:
    """Checks Entra ID access tokens for one tenant, audience and scope."""

    def __init__(self, tenant: str, audiences: tuple[str, ...], scope: str,
                 keys: JwksCache) -> None:
        if not audiences:
            raise ValueError("REDLINE_ENTRA_AUDIENCE is required with REDLINE_ENTRA_TENANT")
        self._tenant = tenant
        self._audiences = list(audiences)
        self._issuers = issuers(tenant)
        self._scope = scope
        self._keys = keys

    def principal(self, token: str) -> Principal:
        """The signed-in user behind a valid token; AuthFailure (401/403) otherwise."""
        claims = self._claims(token)
        granted = str(claims.get("scp", "")).split()
        if self._scope not in granted:
            raise AuthFailure(403, f"The token does not grant the '{self._scope}' scope.")
        subject = claims.get("oid") or claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthFailure(401, "The token names no user.")
        return Principal("entra", f"entra:{subject}")

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthFailure(401, "The bearer token is not a valid JWT.") from None
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise AuthFailure(401, "The token must be signed with RS256 and name its key.")
        key = self._keys.key(header["kid"])
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=["RS256"], audience=self._audiences,
                issuer=self._issuers, leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthFailure(401, "The token has expired.") from None
        except jwt.InvalidAudienceError:
            raise AuthFailure(401, "The token was issued for another application.") from None
        except jwt.InvalidIssuerError:
            raise AuthFailure(401, "The token was not issued by the configured tenant.") from None
        except jwt.InvalidSignatureError:
            raise AuthFailure(401, "The token's signature does not verify.") from None
        except jwt.InvalidTokenError:
            raise AuthFailure(401, "The bearer token is not valid.") from None
        return claims
