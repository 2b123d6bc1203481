"""The suggestion engine: match a paragraph to topics, assess its stance, propose redlines.

Method (chosen by measurement, see `make eval`):
- topic: each unit (sentence) of the paragraph is scored against each topic by the mean cosine
  of its k nearest exemplars; a unit whose best topic scores under the threshold is about no
  topic, which is how the engine abstains. A paragraph gets one suggestion per topic that is
  the best topic of at least one of its units.
- stance: among the topic's exemplars, neighbours vote for the stance of their position
  (customer-favourable, neutral, vendor-favourable), by cosine plus a weighted agreement of
  lexical cues (party, modality, negation, consent, carve-outs), which embeddings blur.
- verdict: a side judges the stance (its own = acceptable, neutral = needs review, the other
  side's = unacceptable); across a topic's units the worst verdict for that side wins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from server.core.bank import ClauseBank, Position
from server.core.cues import cue_agreement, cue_matrix
from server.core.embedding import Embedder, Vectors
from server.core.matching import BankIndex, EmbeddingMemo, VectorCache, units
from server.core.redline import Redline, propose
from server.core.suggestion import FallbackOffer, Suggestion
from server.core.topics import Kind, Perspective, Stance, Verdict, verdict_for

_SEVERITY = {Verdict.ACCEPTABLE: 0, Verdict.NEEDS_REVIEW: 1, Verdict.UNACCEPTABLE: 2}
_STANCES = tuple(Stance)


@dataclass(frozen=True, slots=True)
class Tuning:
    """The engine's knobs, set by `make eval` on bank exemplars and the dev set."""

    topic_k: int = 3
    topic_threshold: float = 0.42
    stance_k: int = 7
    cue_weight: float = 0.25


@dataclass(frozen=True, slots=True)
class UnitReading:
    """What one unit of a paragraph says on one topic."""

    unit: str
    score: float
    stance: Stance
    nearest: dict[Perspective, Position]


@dataclass(frozen=True, slots=True)
class Finding:
    """A topic a paragraph raises, read unit by unit, independent of the reader's side."""

    topic: str
    score: float
    readings: tuple[UnitReading, ...]

    def reading_for(self, perspective: Perspective) -> UnitReading:
        """The unit that is worst for this side (ties: the most on-topic)."""
        return max(self.readings, key=lambda r: (
            _SEVERITY[verdict_for(perspective, r.stance)], r.score))


class SuggestionEngine:
    """Answers 'what does the playbook say about this paragraph, for this side?'."""

    def __init__(self, bank: ClauseBank, embedder: Embedder, cache: VectorCache | None = None,
                 tuning: Tuning | None = None, index: BankIndex | None = None) -> None:
        self.bank = bank
        self.embedder = embedder
        self.tuning = tuning or Tuning()
        self.index = index or BankIndex.build(bank, embedder, cache)
        self.memo = EmbeddingMemo(embedder)

    def with_tuning(self, tuning: Tuning) -> SuggestionEngine:
        """The same bank index and memo under other knobs (for evaluation sweeps)."""
        twin = object.__new__(SuggestionEngine)
        twin.__dict__.update(self.__dict__, tuning=tuning)
        return twin

    def findings(self, text: str) -> list[Finding]:
        """The topics the paragraph raises, most on-topic first."""
        return self.findings_many([text])[0]

    def findings_many(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Findings for many paragraphs, with one batched embedding call."""
        per_text = [units(t, self.embedder) for t in texts]
        flat = [u for us in per_text for u in us]
        vectors = self.memo.embed(flat) if flat else np.zeros((0, 1), dtype=np.float32)
        results, start = [], 0
        for us in per_text:
            results.append(self._read(us, vectors[start:start + len(us)]))
            start += len(us)
        return results

    def suggest(self, text: str, perspective: Perspective) -> list[Suggestion]:
        """Suggestions for the paragraph, most relevant first; [] when it raises no topic."""
        return self.suggest_many([text], perspective)[0]

    def suggest_many(self, texts: Sequence[str], perspective: Perspective
                     ) -> list[list[Suggestion]]:
        """Suggestions for many paragraphs (whole-document review)."""
        return [[self._suggestion(text, f, perspective) for f in findings]
                for text, findings in zip(texts, self.findings_many(texts), strict=True)]

    def verdict(self, text: str, topic: str, perspective: Perspective) -> Verdict | None:
        """The verdict on one topic only, or None when the text does not raise it."""
        finding = next((f for f in self.findings(text) if f.topic == topic), None)
        if finding is None:
            return None
        return verdict_for(perspective, finding.reading_for(perspective).stance)

    def _read(self, unit_texts: list[str], vectors: Vectors) -> list[Finding]:
        if not unit_texts:
            return []
        similarity = vectors @ self.index.vectors.T
        topic_scores = self._topic_scores(similarity)
        best = topic_scores.argmax(axis=1)
        cue_rows = cue_matrix(unit_texts)
        findings = []
        for t, topic in enumerate(self.index.topic_ids):
            chosen = [u for u in range(len(unit_texts))
                      if best[u] == t and topic_scores[u, t] >= self.tuning.topic_threshold]
            if not chosen:
                continue
            readings = tuple(
                self._reading(unit_texts[u], similarity[u], cue_rows[u], topic,
                              float(topic_scores[u, t]))
                for u in chosen)
            findings.append(Finding(topic, max(r.score for r in readings), readings))
        return sorted(findings, key=lambda f: -f.score)

    def _topic_scores(self, similarity: NDArray[np.float32]) -> NDArray[np.float32]:
        """Per unit and topic: mean cosine of the k nearest exemplars of that topic."""
        scores = np.empty((similarity.shape[0], len(self.index.topic_ids)), dtype=np.float32)
        for t, rows in enumerate(self.index.topic_rows):
            block = similarity[:, rows]
            k = min(self.tuning.topic_k, block.shape[1])
            scores[:, t] = np.partition(block, -k, axis=1)[:, -k:].mean(axis=1)
        return scores

    def _reading(self, unit: str, similarity: NDArray[np.float32], unit_cues: NDArray[np.float32],
                 topic: str, score: float) -> UnitReading:
        rows = self.index.rows_of(topic)
        agreement = cue_agreement(unit_cues[None, :], self.index.cue_vectors[rows])[0]
        closeness = similarity[rows] + self.tuning.cue_weight * agreement
        order = np.argsort(-closeness)
        votes = dict.fromkeys(_STANCES, 0.0)
        for r in order[: self.tuning.stance_k]:
            votes[self.index.positions[rows[r]].stance] += float(closeness[r])
        stance = max(_STANCES, key=lambda s: votes[s])
        nearest = {}
        for side in Perspective:
            r = next(r for r in order if self.index.positions[rows[r]].perspective is side)
            nearest[side] = self.index.positions[rows[r]]
        return UnitReading(unit, score, stance, nearest)

    def _suggestion(self, text: str, finding: Finding, perspective: Perspective) -> Suggestion:
        reading = finding.reading_for(perspective)
        verdict = verdict_for(perspective, reading.stance)
        topic = self.bank.topic(finding.topic)
        assert topic is not None  # findings only name the bank's topics
        explained = _explaining_position(reading, verdict, perspective, topic.side(perspective))
        redline: Redline | None = None
        fallbacks: tuple[FallbackOffer, ...] = ()
        if verdict is not Verdict.ACCEPTABLE:
            offends = _offends(finding, perspective)
            redline = propose(text, topic.preferred(perspective).text, offends)
            fallbacks = tuple(
                FallbackOffer(p.id, p.label, p.text, p.reason, propose(text, p.text, offends))
                for p in topic.fallbacks(perspective))
        return Suggestion(
            topic=finding.topic,
            score=float(np.clip(finding.score, 0.0, 1.0)),
            verdict=verdict,
            stance=reading.stance,
            position=explained.id,
            reason=explained.reason,
            redline=redline,
            fallbacks=fallbacks,
        )



def _offends(finding: Finding, perspective: Perspective) -> Callable[[str], bool]:
    """Whether a sentence carries a position this side rejects, from the units already read.

    A sentence offends when it lies in (or contains) a unit read on this topic whose verdict
    is not acceptable; sentences in other units are about other topics or none.
    """
    bad = [r.unit for r in finding.readings
           if verdict_for(perspective, r.stance) is not Verdict.ACCEPTABLE]

    def offends(sentence: str) -> bool:
        piece = sentence.strip()
        return bool(piece) and any(piece in unit or unit in piece for unit in bad)

    return offends


def _explaining_position(reading: UnitReading, verdict: Verdict, perspective: Perspective,
                         side: tuple[Position, ...]) -> Position:
    """The side's position whose reason explains the verdict: the nearest of the matching kind."""
    wanted = {Verdict.ACCEPTABLE: Kind.PREFERRED, Verdict.NEEDS_REVIEW: Kind.FALLBACK,
              Verdict.UNACCEPTABLE: Kind.UNACCEPTABLE}[verdict]
    nearest = reading.nearest[perspective]
    if nearest.kind is wanted:
        return nearest
    return next((p for p in side if p.kind is wanted), side[0])
