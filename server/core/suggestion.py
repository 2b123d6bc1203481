"""What the engine tells a lawyer about one paragraph: suggestions and fallback offers."""

from __future__ import annotations

from dataclasses import dataclass

from server.core.redline import Redline
from server.core.redline_html import redline_html
from server.core.topics import Stance, Verdict


@dataclass(frozen=True, slots=True)
class FallbackOffer:
    """A ranked fallback clause, with the edit that would move the paragraph to it."""

    id: str
    label: str
    text: str
    reason: str
    redline: Redline | None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The playbook's view of a paragraph on one topic, for one side."""

    topic: str
    score: float
    verdict: Verdict
    stance: Stance
    position: str  # id of the nearest playbook position
    reason: str
    redline: Redline | None
    fallbacks: tuple[FallbackOffer, ...]


def redline_record(redline: Redline | None) -> dict[str, object] | None:
    """A redline in the API's JSON shape."""
    if redline is None:
        return None
    return {
        "ops": [{"op": op.op, "text": op.text} for op in redline.ops],
        "text": redline.text,
        "strategy": redline.strategy,
        "note": redline.note,
        "html": redline_html(redline.ops),
    }


def suggestion_record(suggestion: Suggestion) -> dict[str, object]:
    """A suggestion in the API's JSON shape (DESIGN.md, POST /api/v1/suggest)."""
    return {
        "topic": suggestion.topic,
        "score": round(suggestion.score, 4),
        "verdict": suggestion.verdict.value,
        "stance": suggestion.stance.value,
        "position": suggestion.position,
        "reason": suggestion.reason,
        "redline": redline_record(suggestion.redline),
        "fallbacks": [
            {"id": f.id, "label": f.label, "text": f.text, "reason": f.reason,
             "redline": redline_record(f.redline)}
            for f in suggestion.fallbacks
        ],
    }
