"""Whole-document review: every body paragraph through the engine, marked up as Word would.

One redline per paragraph: when a paragraph raises several topics with redlines, only the most
relevant suggestion's redline (the engine's first) becomes tracked changes, because a second
diff computed against the same original text would conflict with the first. Every suggestion's
verdict, reason and fallbacks still go into the paragraph's one comment, and the comment says
which redline was applied and which were left as text.

A paragraph too complex to edit safely (tracked changes, fields, hyperlinks...; see
server/adapters/review_docx.py) gets the comment with the suggested text instead of a redline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from server.adapters.review_docx import (
    DocxLimits,
    Markup,
    ReviewParagraph,
    open_document,
    review_paragraphs,
    save_document,
)
from server.core.engine import SuggestionEngine
from server.core.suggestion import Suggestion, redline_record
from server.core.topics import Perspective, Verdict

BATCH = 64  # paragraphs per engine call: large enough to batch the model, small for progress
DEFAULT_AUTHOR = "Clausewise"
Progress = Callable[[int, int], None]  # (paragraphs done, paragraphs in all)


@dataclass(frozen=True, slots=True)
class Issue:
    """A suggestion the playbook raises on one paragraph, and whether it became tracked changes."""

    index: int
    suggestion: Suggestion
    applied: bool


@dataclass(frozen=True, slots=True)
class ReviewResult:
    """What a review produced: the marked-up document (if asked for) and the issues."""

    document: bytes | None
    paragraphs: int
    issues: tuple[Issue, ...]

    def summary(self) -> Counter[tuple[str, str]]:
        """Issues counted per (topic, verdict)."""
        return Counter((i.suggestion.topic, i.suggestion.verdict.value) for i in self.issues)


def review_document(data: bytes, engine: SuggestionEngine, perspective: Perspective, *,
                    author: str = DEFAULT_AUTHOR, limits: DocxLimits | None = None,
                    markup: bool = True, when: datetime | None = None,
                    progress: Progress | None = None) -> ReviewResult:
    """Review a .docx for one side; raises UnreadableDocument for input we cannot take.

    The document is always marked up (so each issue knows whether its redline was applied);
    `markup=False` only skips serialising it, for callers that want the issues alone.
    """
    limits = limits or DocxLimits()
    document = open_document(data, limits)
    paragraphs = review_paragraphs(document, limits)
    suggestions = _suggest(engine, paragraphs, perspective, progress)
    writer = Markup(document, author, when or datetime.now(UTC))
    titles = {t.id: t.title for t in engine.bank.topics}
    issues: list[Issue] = []
    for paragraph, found in zip(paragraphs, suggestions, strict=True):
        flagged = [s for s in found if s.verdict is not Verdict.ACCEPTABLE]
        if flagged:
            issues.extend(_mark(writer, paragraph, flagged, titles))
    return ReviewResult(save_document(document) if markup else None, len(paragraphs),
                        tuple(issues))


def _suggest(engine: SuggestionEngine, paragraphs: Sequence[ReviewParagraph],
             perspective: Perspective, progress: Progress | None) -> list[list[Suggestion]]:
    """The engine's suggestions per paragraph, in batches; blank paragraphs are skipped."""
    results: list[list[Suggestion]] = [[] for _ in paragraphs]
    worth = [p for p in paragraphs if p.text.strip()]
    done = len(paragraphs) - len(worth)
    for start in range(0, len(worth), BATCH):
        if progress:
            progress(done, len(paragraphs))
        batch = worth[start:start + BATCH]
        for paragraph, found in zip(batch, engine.suggest_many([p.text for p in batch],
                                                               perspective), strict=True):
            results[paragraph.index] = found
        done += len(batch)
    if progress:
        progress(done, len(paragraphs))
    return results


def _mark(writer: Markup, paragraph: ReviewParagraph, flagged: list[Suggestion],
          titles: Mapping[str, str]) -> list[Issue]:
    """Tracked changes for the first redline, and one comment explaining every suggestion."""
    first = next((s for s in flagged if s.redline is not None), None)
    applied = first is not None and first.redline is not None and writer.redline(
        paragraph, first.redline.ops)
    writer.comment(paragraph, comment_lines(flagged, first if applied else None, titles))
    return [Issue(paragraph.index, s, applied and s is first) for s in flagged]


def comment_lines(flagged: Sequence[Suggestion], applied: Suggestion | None,
                  titles: Mapping[str, str] | None = None) -> list[str]:
    """The comment's paragraphs: per topic the verdict, reason, redline status and fallbacks."""
    lines: list[str] = []
    for suggestion in flagged:
        title = (titles or {}).get(suggestion.topic, suggestion.topic)
        lines.append(f"{title} ({suggestion.topic}): {suggestion.verdict.value}")
        lines.append(suggestion.reason)
        if suggestion is applied:
            lines.append("Redline applied as tracked changes.")
        elif suggestion.redline is not None:
            lines.append(f"Suggested text (not applied): {suggestion.redline.text}")
        for rank, fallback in enumerate(suggestion.fallbacks, start=1):
            lines.append(f"Fallback {rank}, {fallback.label}: {fallback.text}")
    return lines


def issue_record(issue: Issue) -> dict[str, object]:
    """An issue in the review API's JSON shape."""
    s = issue.suggestion
    return {
        "index": issue.index,
        "topic": s.topic,
        "score": round(s.score, 4),
        "verdict": s.verdict.value,
        "reason": s.reason,
        "redline": redline_record(s.redline),
        "applied": issue.applied,
        "fallbacks": [{"id": f.id, "label": f.label, "text": f.text, "reason": f.reason}
                      for f in s.fallbacks],
    }


def summary_record(result: ReviewResult) -> list[dict[str, object]]:
    """The per-topic, per-verdict counts, most frequent first."""
    return [{"topic": topic, "verdict": verdict, "count": count}
            for (topic, verdict), count in result.summary().most_common()]
