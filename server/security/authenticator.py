"""Turns a request's credentials into a Principal, per the configured schemes.

With API keys or Entra ID configured, every API request must carry a valid credential
(`X-API-Key: <key>` or `Authorization: Bearer <key or token>`). With neither configured the
service is anonymous, and then only serves clients on this host that did not come through a
proxy, unless REDLINE_ALLOW_ANONYMOUS=1 says that is intended (e.g. an authenticating gateway).
"""

from __future__ import annotations

import ipaddress

from server.security.api_keys import ApiKeys
from server.security.entra import EntraVerifier
from server.security.principal import AuthFailure, Principal

ASK = "Send an API key (X-API-Key header or Authorization: Bearer) or an Entra ID access token."


def is_loopback(host: str) -> bool:
    """Whether an address (or 'localhost') is on this host only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Authenticator:
    """Checks credentials against the configured API keys and Entra ID tenant."""

    def __init__(self, api_keys: ApiKeys, entra: EntraVerifier | None,
                 allow_anonymous: bool) -> None:
        self._keys = api_keys
        self._entra = entra
        self._allow_anonymous = allow_anonymous

    @property
    def configured(self) -> bool:
        """Whether any credential scheme is configured."""
        return bool(self._keys) or self._entra is not None

    def principal(self, authorization: str | None, api_key: str | None, client: str,
                  proxied: bool) -> Principal:
        """The caller, or AuthFailure with what to do about it."""
        if api_key:
            return self._by_key(api_key)
        if authorization:
            scheme, _, credential = authorization.partition(" ")
            if scheme.lower() != "bearer" or not credential.strip():
                raise AuthFailure(401, "Use 'Authorization: Bearer <credential>'.")
            return self._by_bearer(credential.strip())
        if self.configured:
            raise AuthFailure(401, ASK)
        if self._allow_anonymous or (is_loopback(client) and not proxied):
            return Principal("anonymous", f"ip:{client}")
        raise AuthFailure(403, "No authentication is configured, so this service only answers "
                               "clients on its own host. Configure API keys or Entra ID.")

    def _by_bearer(self, credential: str) -> Principal:
        if self._entra is not None and credential.count(".") == 2:
            return self._entra.principal(credential)
        return self._by_key(credential)

    def _by_key(self, key: str) -> Principal:
        found = self._keys.principal(key) if self._keys else None
        if found is None:
            raise AuthFailure(401, "The credential is not valid. " + ASK)
        return found
