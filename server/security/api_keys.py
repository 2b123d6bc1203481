"""API keys, stored only as sha256 hex digests and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from server.security.principal import Principal

_HEX = frozenset("0123456789abcdef")


def key_digest(key: str) -> str:
    """The sha256 hex digest of a key: what REDLINE_API_KEY_HASHES holds."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeys:
    """The configured keys' digests."""

    def __init__(self, digests: Iterable[str]) -> None:
        cleaned = tuple(d.strip().lower() for d in digests)
        bad = [d for d in cleaned if len(d) != 64 or not set(d) <= _HEX]
        if bad:
            raise ValueError("REDLINE_API_KEY_HASHES must hold sha256 hex digests (64 hex digits);"
                             f" {len(bad)} entries are not")
        self._digests = cleaned

    def __bool__(self) -> bool:
        return bool(self._digests)

    def principal(self, key: str) -> Principal | None:
        """The caller holding this key, or None when the key is unknown."""
        digest = key_digest(key)
        # Compare against every digest so the time taken says nothing about which one matched.
        found = None
        for known in self._digests:
            if hmac.compare_digest(digest, known):
                found = known
        return Principal("api-key", f"key:{found[:16]}") if found else None
