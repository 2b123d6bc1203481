"""The API's protections, wired into Flask: request ids, authentication, rate limits,
request size limits, CORS for configured origins, and security headers.

Public without credentials: /healthz, /readyz, /metrics (restrict it at the proxy), the
OpenAPI document, the task pane's static files and the manifest. Everything else under /api/
needs a credential when authentication is configured (server/security/authenticator.py).
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from server.api.errors import ApiError
from server.security.api_keys import ApiKeys
from server.security.authenticator import Authenticator
from server.security.entra import EntraVerifier, JwksCache, default_jwks_url, url_fetcher
from server.security.principal import AuthFailure, Principal
from server.security.rate_limit import Buckets, buckets_for
from server.settings import Settings

EXTENSION = "clausewise.security"
API_PREFIX = "/api/"
PUBLIC_API = frozenset({"/api/v1/openapi.json"})
OFFICE_JS = "https://appsforoffice.microsoft.com"
# Word on the web shows the task pane in an iframe on these hosts; desktop Word uses a webview,
# where frame-ancestors does not apply. REDLINE_FRAME_ANCESTORS replaces the list.
OFFICE_FRAME_ANCESTORS = (
    "'self'", "https://*.officeapps.live.com", "https://*.office.com",
    "https://*.office365.com", "https://*.microsoft365.com", "https://*.cloud.microsoft",
    "https://*.sharepoint.com", "https://*.officeppe.com",
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
CORS_HEADERS = "Authorization, Content-Type, X-API-Key, X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def taskpane_csp(frame_ancestors: tuple[str, ...]) -> str:
    """The pane's policy: its own files, Office.js from Microsoft's CDN, nothing inline."""
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {OFFICE_JS}",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors " + " ".join(frame_ancestors or OFFICE_FRAME_ANCESTORS),
    ])


@dataclass
class Guard:
    """The protections one app runs with, built once from its settings."""

    settings: Settings
    authenticator: Authenticator
    buckets: Buckets | None
    pane_csp: str


def build_guard(settings: Settings) -> Guard:
    """The authenticator and rate limiter the settings describe."""
    entra = None
    if settings.entra_tenant:
        url = settings.entra_jwks_url or default_jwks_url(settings.entra_tenant)
        entra = EntraVerifier(settings.entra_tenant, settings.entra_audience,
                              settings.entra_scope, JwksCache(url_fetcher(url)))
    authenticator = Authenticator(ApiKeys(settings.api_keys), entra, settings.allow_anonymous)
    buckets = buckets_for(settings.rate_limit_per_minute, settings.rate_limit_burst,
                          settings.redis_url)
    return Guard(settings, authenticator, buckets, taskpane_csp(settings.frame_ancestors))


def install(app: Flask, settings: Settings) -> None:
    """Register the protections on the app."""
    guard = build_guard(settings)
    app.extensions[EXTENSION] = guard
    if settings.trusted_proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    app.before_request(lambda: _admit(guard))
    app.after_request(lambda response: _decorate(guard, response))


def request_id() -> str:
    """This request's id: the caller's X-Request-ID when well-formed, else a new one."""
    found: str | None = g.get("request_id")
    if found is None:
        offered = request.headers.get("X-Request-ID", "")
        found = offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        g.request_id = found
    return found


def principal() -> Principal | None:
    """Who is calling, once authenticated."""
    found: Principal | None = g.get("principal")
    return found


def _admit(guard: Guard) -> None:
    """Before the view: size limit, then credentials, then the caller's rate limit."""
    request_id()
    limit = guard.settings.max_upload_bytes
    if request.is_json:
        limit = min(limit, guard.settings.max_json_bytes)
    request.max_content_length = limit  # enforced while reading a body of unknown length
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"The request body is {request.content_length} bytes; "
                            f"the limit is {limit}.")
    if not _protected() or request.method == "OPTIONS":
        return
    try:
        g.principal = guard.authenticator.principal(
            request.headers.get("Authorization"), request.headers.get("X-API-Key"),
            request.remote_addr or "", _proxied())
    except AuthFailure as failure:
        raise ApiError(failure.status, failure.description) from None
    if guard.buckets is None:
        return
    decision = guard.buckets.take(g.principal.subject)
    if not decision.allowed:
        g.retry_after = max(1, math.ceil(decision.retry_after))
        raise ApiError(429, f"Too many requests from this client; retry in {g.retry_after} s.")


def _protected() -> bool:
    return request.path.startswith(API_PREFIX) and request.path not in PUBLIC_API


def _proxied() -> bool:
    return "X-Forwarded-For" in request.headers or "Forwarded" in request.headers


def _decorate(guard: Guard, response: Response) -> Response:
    """After the view: request id, security headers, CORS, and the 401/429 hints."""
    headers = response.headers
    headers["X-Request-ID"] = request_id()
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    if response.mimetype == "text/html":
        headers["Content-Security-Policy"] = guard.pane_csp  # framed by Office: no XFO here
    else:
        headers["Content-Security-Policy"] = API_CSP
        headers["X-Frame-Options"] = "DENY"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    if response.status_code == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="clausewise"'
    if response.status_code == 429 and g.get("retry_after"):
        headers["Retry-After"] = str(g.retry_after)
    _cors(guard, response)
    return response


def _cors(guard: Guard, response: Response) -> None:
    """Allow configured origins only; the task pane itself is same-origin and needs none."""
    origin = request.headers.get("Origin")
    if not request.path.startswith(API_PREFIX):
        return
    response.vary.add("Origin")
    if not origin or origin not in guard.settings.cors_origins:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = "X-Request-ID, Retry-After"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
