"""The authenticated caller, and the one way authentication fails."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller: how it proved itself and a stable, non-secret id used for rate limits and logs."""

    scheme: str  # "api-key", "entra" or "anonymous"
    subject: str


class AuthFailure(Exception):
    """Authentication (401) or authorisation (403) failed; the description is safe to show."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
