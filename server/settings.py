"""Every setting, read from the environment in one place (documented in README.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from server.adapters.bank_yaml import BUILT_IN_BANK
from server.adapters.embedding import DEFAULT_MODEL, check_backend


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None


def _backend(env: Mapping[str, str], default: str) -> str:
    try:
        return check_backend(env.get("REDLINE_BACKEND") or default)
    except ValueError as error:
        raise ValueError(f"REDLINE_BACKEND: {error}") from None


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """The service's configuration; `from_env` is the only reader of REDLINE_* variables."""

    bank_dir: Path = BUILT_IN_BANK
    bank_overlay: Path | None = None
    model: str = DEFAULT_MODEL
    backend: str = "torch"  # what runs the model: torch, onnx (int8) or onnx-fp32
    cache_dir: Path = Path.home() / ".cache" / "clausewise"
    max_text_chars: int = 20_000
    max_upload_bytes: int = 20 * 1024 * 1024
    log_level: str = "INFO"
    public_url: str = "https://localhost:8443"
    api_keys: tuple[str, ...] = field(default_factory=tuple)  # sha256 hex digests, never keys
    # Without configured authentication the service only serves loopback clients, unless this
    # is set explicitly (server/security/exposure.py has the rule).
    allow_anonymous: bool = False
    entra_tenant: str | None = None
    entra_audience: tuple[str, ...] = field(default_factory=tuple)
    entra_scope: str = "access_as_user"
    entra_jwks_url: str | None = None
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    rate_limit_per_minute: int = 600  # per client; 0 switches rate limiting off
    rate_limit_burst: int = 60
    redis_url: str | None = None
    max_json_bytes: int = 1024 * 1024
    trusted_proxies: int = 0  # reverse proxies in front that set X-Forwarded-For
    frame_ancestors: tuple[str, ...] = field(default_factory=tuple)  # empty: Office's hosts
    precedents: Path | None = None
    search_model: str | None = None  # a model directory for clause search only (fine-tuned)
    search_reranker: str | None = None  # a cross-encoder directory that re-ranks search's top

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from REDLINE_* environment variables, defaults for the rest."""
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            bank_dir=_path(env.get("REDLINE_BANK")) or defaults.bank_dir,
            bank_overlay=_path(env.get("REDLINE_BANK_OVERLAY")),
            model=env.get("REDLINE_MODEL") or defaults.model,
            backend=_backend(env, defaults.backend),
            cache_dir=_path(env.get("REDLINE_CACHE_DIR")) or defaults.cache_dir,
            max_text_chars=_int(env, "REDLINE_MAX_TEXT_CHARS", defaults.max_text_chars),
            max_upload_bytes=_int(env, "REDLINE_MAX_UPLOAD_BYTES", defaults.max_upload_bytes),
            log_level=env.get("REDLINE_LOG_LEVEL", defaults.log_level).upper(),
            public_url=env.get("REDLINE_PUBLIC_URL", defaults.public_url).rstrip("/"),
            api_keys=_list(env, "REDLINE_API_KEY_HASHES"),
            allow_anonymous=env.get("REDLINE_ALLOW_ANONYMOUS", "0").lower() in ("1", "true", "yes"),
            entra_tenant=env.get("REDLINE_ENTRA_TENANT") or None,
            entra_audience=_list(env, "REDLINE_ENTRA_AUDIENCE"),
            entra_scope=env.get("REDLINE_ENTRA_SCOPE") or defaults.entra_scope,
            entra_jwks_url=env.get("REDLINE_ENTRA_JWKS_URL") or None,
            cors_origins=_list(env, "REDLINE_CORS_ORIGINS"),
            rate_limit_per_minute=_int(env, "REDLINE_RATE_LIMIT", defaults.rate_limit_per_minute),
            rate_limit_burst=_int(env, "REDLINE_RATE_LIMIT_BURST", defaults.rate_limit_burst),
            redis_url=env.get("REDLINE_REDIS_URL") or None,
            max_json_bytes=_int(env, "REDLINE_MAX_JSON_BYTES", defaults.max_json_bytes),
            trusted_proxies=_int(env, "REDLINE_TRUSTED_PROXIES", defaults.trusted_proxies),
            frame_ancestors=_list(env, "REDLINE_FRAME_ANCESTORS"),
            precedents=_path(env.get("REDLINE_PRECEDENTS")),
            search_model=env.get("REDLINE_SEARCH_MODEL") or None,
            search_reranker=env.get("REDLINE_SEARCH_RERANKER") or None,
        )
