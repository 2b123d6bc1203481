"""The built-in off-topic sentences that teach the engine what "none of the topics" looks like."""

from __future__ import annotations

from pathlib import Path

BACKGROUND = Path(__file__).resolve().parents[1] / "data" / "background.txt"


def read_background(path: Path = BACKGROUND) -> tuple[str, ...]:
    """One sentence per line; blank lines and # comments skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))
