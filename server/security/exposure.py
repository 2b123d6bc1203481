"""The startup rule: no anonymous service on a network address unless explicitly allowed.

`make run` binds 127.0.0.1 and may run without authentication. Binding anything else (0.0.0.0,
a LAN address, a host name) without API keys or Entra ID configured refuses to start, unless
REDLINE_ALLOW_ANONYMOUS=1. Unix sockets count as local.
"""

from __future__ import annotations

from collections.abc import Iterable

from server.security.authenticator import is_loopback
from server.settings import Settings


class Exposed(Exception):
    """Starting would expose an unauthenticated API to the network."""


def authentication_configured(settings: Settings) -> bool:
    """Whether API keys or Entra ID are configured."""
    return bool(settings.api_keys) or settings.entra_tenant is not None


def bind_host(bind: str) -> str | None:
    """The host part of a gunicorn-style bind ('host:port', '[v6]:port', 'unix:path')."""
    if bind.startswith(("unix:", "fd://")):
        return None
    if bind.startswith("["):
        return bind[1:].partition("]")[0]
    host, sep, _ = bind.rpartition(":")
    return (host if sep else bind) or "0.0.0.0"


def check_exposure(binds: Iterable[str], settings: Settings) -> None:
    """Raise Exposed when an address is reachable from the network without authentication."""
    if authentication_configured(settings) or settings.allow_anonymous:
        return
    for bind in binds:
        host = bind_host(bind)
        if host is not None and not is_loopback(host):
            raise Exposed(
                f"refusing to serve on {bind} without authentication: set REDLINE_API_KEY_HASHES "
                "or REDLINE_ENTRA_TENANT (with REDLINE_ENTRA_AUDIENCE), bind 127.0.0.1, or set "
                "REDLINE_ALLOW_ANONYMOUS=1 if a gateway in front authenticates callers")
