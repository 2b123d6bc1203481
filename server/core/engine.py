"""The suggestion engine: match a paragraph to topics, assess its stance, propose redlines.

Method (chosen by measurement, see `make eval` and the notes in eval/README.md):
- units: the paragraph is read sentence by sentence (very short ones joined to the next), with
  the parties named canonically, so one paragraph can raise several topics.
- abstention: a unit is about a topic only if the mean cosine of its k nearest exemplars of
  some topic clears a threshold and beats its nearest off-topic sentence by a margin.
- topic: a logistic regression over the embedding picks which topic (it separates neighbouring
  topics better than nearest neighbours), blended with a vote of each topic's nearest
  exemplars; a second topic it rates nearly as likely is raised too.
- stance: a per-topic logistic regression over the embedding and lexical cues (party,
  modality, negation, consent, carve-outs), averaged with one shared across topics (on the
  embedding minus its topic's centroid), says whether the unit takes a side; which side, where
  the drafting says so plainly (who may, must, must not, owns, waives; server/core/favour.py),
  comes from the drafting; a unit that repeats the playbook's own language (an applied
  redline, an inserted fallback), with the same parties in the same places and the same cues,
  takes that position's stance.
- verdict: a topic's stance is its units' stance scores averaged; a side judges it (its own =
  acceptable, neutral = needs review, the other side's = unacceptable).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from server.core.bank import ClauseBank, Position, Topic
from server.core.classifier import (
    SHARED_STANCE_SCALE,
    SoftmaxRegression,
    stance_features,
    topic_features,
)
from server.core.cues import cue_matrix, cues
from server.core.embedding import Embedder, Vectors
from server.core.favour import favoured, lean
from server.core.matching import BankIndex, EmbeddingMemo, VectorCache, party_sequence, units
from server.core.redline import Redline, propose_many
from server.core.suggestion import FallbackOffer, Suggestion
from server.core.topics import Kind, Perspective, Stance, Verdict, favouring, verdict_for

STANCES: tuple[Stance, ...] = tuple(Stance)
MIN_POSITION_WORDS = 6  # fewer words than this cannot grant, restrict or disclaim anything
_WORDS = re.compile(r"[A-Za-z]{2,}")


@dataclass(frozen=True, slots=True)
class Tuning:
    """The engine's knobs, set by `make eval` on the dev set's tuning half."""

    topic_k: int = 3
    topic_threshold: float = 0.45
    # How much nearer a topic must be than the nearest off-topic sentence: 0.10 with the first 91
    # of them; with 253, each vetoes more, and 0.075 maximised top-1 minus false alarms on the
    # tune half (held: 89.6% top-1, 2.9% false alarms; 0.10: 86.0%, 1.9%).
    background_margin: float = 0.075
    topic_l2: float = 0.01
    stance_l2: float = 0.01
    stance_cues: bool = True  # off only to measure what the cues buy
    # The bank has more neutral (fallback) exemplars, and conditional prohibitions read like
    # them; lowering neutral by this much was chosen on the tune half, confirmed on held
    # (0.3 with the topic models alone, 0.4 once the shared model joined them, 0.5 once the bank
    # had twelve exemplars a position: one-sided +1.1 points on tune, +1.0 on held).
    neutral_penalty: float = 0.5
    # One sentence can turn on two issues ("Provider shall ensure its AI subprocessors do not
    # train on Client Data"): a second topic the classifier rates at least this high is raised too.
    second_topic: float = 0.3
    # The topic classifier's probabilities are blended with a vote of the unit's nearest
    # exemplars (a softmax over each topic's k-nearest mean cosine at this temperature), this
    # much: chosen on the tune half, better on both halves anywhere in 0.1-0.3 and 0.01-0.03.
    neighbour_vote: float = 0.2
    neighbour_temperature: float = 0.02
    # Weight of the shared (all-topic) stance model beside the topic's own (0: topic's only).
    shared_stance: float = 0.5
    # A sentence this close to a bank exemplar or position text, naming the same parties in the
    # same places with the same cues, is that position's language.
    known_language: float = 0.98
    # Which side a unit favours, where its drafting says so plainly, comes from the drafting
    # (server/core/favour.py); off only to measure what that buys.
    drafting_side: bool = True
    # A plain lean in the drafting also counts against neutral, this much per term (at most
    # two): a ban with a consent exception still favours the side it protects.
    drafting_weight: float = 0.1


@dataclass(frozen=True, slots=True)
class UnitReading:
    """What one unit of a paragraph says on one topic."""

    @property
    def stance(self) -> Stance:
        """Whom this unit most probably favours."""
        return STANCES[int(np.argmax(self.stance_scores))]

    unit: str
    score: float
    stance_scores: tuple[float, ...]  # in STANCES order: neutral calibrated, drafting read
    nearest: dict[tuple[Perspective, Kind], Position]  # closest position of each side and kind
    lean: int  # how its drafting leans (server/core/favour.py); 0 for the playbook's own words
    playbook: bool = False  # repeats the playbook's own language, so its stance is certain


@dataclass(frozen=True, slots=True)
class Finding:
    """A topic a paragraph raises, read unit by unit, independent of the reader's side."""

    topic: str
    score: float
    readings: tuple[UnitReading, ...]
    stance_scores: tuple[float, ...]  # its units' averaged, then read with their drafting

    @property
    def stance(self) -> Stance:
        """The paragraph's stance on the topic."""
        return STANCES[int(np.argmax(self.stance_scores))]

    def verdict(self, perspective: Perspective) -> Verdict:
        """How this side judges the paragraph on this topic."""
        return verdict_for(perspective, self.stance)

    def explaining_reading(self) -> UnitReading:
        """The unit that most clearly takes the paragraph's stance."""
        s = STANCES.index(self.stance)
        return max(self.readings, key=lambda r: r.stance_scores[s])


@dataclass(frozen=True)
class Classifiers:
    """The topic classifier and one stance classifier per topic, fitted on the bank."""

    topic: SoftmaxRegression
    stance: tuple[SoftmaxRegression, ...]  # in the index's topic order
    shared_stance: SoftmaxRegression  # all topics, on topic-centred embeddings
    centroids: Vectors  # each topic's mean exemplar embedding, in the index's topic order

    @classmethod
    def fit(cls, index: BankIndex, tuning: Tuning) -> Classifiers:
        """Fit on the bank's rows; off-topic sentences are the topic model's last class."""
        topics = len(index.topic_ids)
        topic_of_row = np.empty(len(index.texts), dtype=np.intp)
        for t, rows in enumerate(index.topic_rows):
            topic_of_row[rows] = t
        x = topic_features(np.vstack([index.vectors, index.background]))
        y = np.concatenate([topic_of_row, np.full(index.background.shape[0], topics)])
        topic = SoftmaxRegression.fit(x, y, l2=tuning.topic_l2, steps=800, classes=topics + 1)
        cues = index.cue_vectors * tuning.stance_cues
        stance = tuple(
            SoftmaxRegression.fit(stance_features(index.vectors[rows], cues[rows]),
                                  index.stance_of_row[rows], l2=tuning.stance_l2,
                                  classes=len(STANCES))
            for rows in index.topic_rows)
        centroids = np.stack([index.vectors[rows].mean(axis=0) for rows in index.topic_rows])
        centred = index.vectors - centroids[topic_of_row]
        shared = SoftmaxRegression.fit(
            stance_features(centred, cues, SHARED_STANCE_SCALE), index.stance_of_row,
            l2=tuning.stance_l2, classes=len(STANCES))
        return cls(topic, stance, shared, centroids.astype(np.float32))

    def stance_scores(self, t: int, vector: Vectors, unit_cues: NDArray[np.float32],
                      shared_weight: float) -> NDArray[np.float32]:
        """Stance probabilities of one unit on topic t: its topic's model and the shared one."""
        own = self.stance[t].probabilities(stance_features(vector[None, :], unit_cues[None, :]))
        if not shared_weight:
            return np.asarray(own[0], dtype=np.float32)
        x = stance_features((vector - self.centroids[t])[None, :], unit_cues[None, :],
                            SHARED_STANCE_SCALE)
        mixed = (1 - shared_weight) * own + shared_weight * self.shared_stance.probabilities(x)
        return np.asarray(mixed[0], dtype=np.float32)


def _side_kind_rows(index: BankIndex) -> tuple[dict[tuple[Perspective, Kind], NDArray[np.intp]],
                                                 ...]:
    """Per topic, the bank rows of each side and kind, whose nearest each reading names."""
    per_topic = []
    for rows in index.topic_rows:
        groups: dict[tuple[Perspective, Kind], list[int]] = {}
        for r in rows.tolist():
            position = index.positions[r]
            groups.setdefault((position.perspective, position.kind), []).append(r)
        per_topic.append({key: np.asarray(group, dtype=np.intp) for key, group in groups.items()})
    return tuple(per_topic)


class SuggestionEngine:
    """Answers 'what does the playbook say about this paragraph, for this side?'."""

    def __init__(self, bank: ClauseBank, embedder: Embedder, cache: VectorCache | None = None,
                 tuning: Tuning | None = None, index: BankIndex | None = None,
                 background: Sequence[str] = (), classifiers: Classifiers | None = None
                 ) -> None:
        self.bank = bank
        self.embedder = embedder
        self.tuning = tuning or Tuning()
        self.index = index or BankIndex.build(bank, embedder, cache, background)
        self.classifiers = classifiers or Classifiers.fit(self.index, self.tuning)
        self.side_kind_rows = _side_kind_rows(self.index)
        self.memo = EmbeddingMemo(embedder)

    def with_tuning(self, tuning: Tuning) -> SuggestionEngine:
        """The same bank index and memo under other knobs (for evaluation sweeps)."""
        twin = object.__new__(SuggestionEngine)
        twin.__dict__.update(self.__dict__, tuning=tuning)
        fitted = (self.tuning.topic_l2, self.tuning.stance_l2, self.tuning.stance_cues)
        if (tuning.topic_l2, tuning.stance_l2, tuning.stance_cues) != fitted:
            twin.classifiers = Classifiers.fit(self.index, tuning)
        return twin

    def findings(self, text: str) -> list[Finding]:
        """The topics the paragraph raises, most on-topic first."""
        return self.findings_many([text])[0]

    def findings_many(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Findings for many paragraphs, with one batched embedding call."""
        per_text = [units(t, self.embedder) if _takes_a_position(t) else [] for t in texts]
        flat = [u for us in per_text for u in us]
        vectors = self.memo.embed(flat) if flat else np.zeros((0, 1), dtype=np.float32)
        results, start = [], 0
        for us in per_text:
            results.append(self.read(us, vectors[start:start + len(us)]))
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
        return finding.verdict(perspective) if finding else None

    def read(self, unit_texts: Sequence[str], vectors: Vectors) -> list[Finding]:
        """Findings from units and their embeddings (matching alone, no model call)."""
        if not unit_texts:
            return []
        similarity = vectors @ self.index.vectors.T
        closeness = self._closeness(similarity)
        on_topic = self._on_topic(closeness, vectors)
        probabilities = self._topic_probabilities(vectors, closeness)
        raises = _topics_raised(probabilities[:, :-1], self.tuning.second_topic)  # last: "none"
        raised = on_topic[:, None] & raises
        if not raised.any():  # off-topic paragraphs (most of a document) need no reading
            return []
        cue_rows = cue_matrix(list(unit_texts))
        # Each unit's drafting is read once, whichever topics it raises.
        leans = [lean(text) if self.tuning.drafting_side else 0 for text in unit_texts]
        aside = _lean_aside(leans, raised)
        findings = []
        for t, topic in enumerate(self.index.topic_ids):
            chosen = np.flatnonzero(raised[:, t])
            if chosen.size == 0:
                continue
            readings = tuple(
                self._reading(unit_texts[u], vectors[u], similarity[u], cue_rows[u], leans[u],
                              t, float(probabilities[u, t]))
                for u in chosen.tolist())
            # Read together, the units' terms can lean where each alone is balanced or silent;
            # where they are all silent, the paragraph's other sentences may still speak.
            leaning = sum(r.lean for r in readings)
            if leaning == 0 and not any(r.playbook for r in readings):
                leaning = aside
            scores = self._with_drafting(np.mean([r.stance_scores for r in readings], axis=0),
                                         leaning)
            findings.append(Finding(topic, max(r.score for r in readings), readings,
                                    tuple(float(p) for p in scores)))
        return sorted(findings, key=lambda f: -f.score)

    def _closeness(self, similarity: NDArray[np.float32]) -> NDArray[np.float32]:
        """Each unit's mean cosine to each topic's k nearest exemplars (units x topics)."""
        columns = []
        for rows in self.index.topic_rows:
            block = similarity[:, rows]
            k = min(self.tuning.topic_k, block.shape[1])
            columns.append(np.partition(block, -k, axis=1)[:, -k:].mean(axis=1))
        return np.stack(columns, axis=1).astype(np.float32)

    def _topic_probabilities(self, vectors: Vectors, closeness: NDArray[np.float32]
                             ) -> NDArray[np.float32]:
        """The topic classifier's probabilities (last column: none), with the neighbours' vote.

        The classifier generalises from all of a topic's exemplars; the nearest few catch
        drafting close to one of them that the classifier's broad boundary misses. The vote
        only moves mass among the topics; how likely "none" is stays the classifier's call.
        """
        probabilities = self.classifiers.topic.probabilities(topic_features(vectors))
        weight = self.tuning.neighbour_vote
        if not weight:
            return probabilities
        votes = np.exp((closeness - closeness.max(axis=1, keepdims=True))
                       / self.tuning.neighbour_temperature)
        votes /= votes.sum(axis=1, keepdims=True)
        topics = probabilities[:, :-1]
        blended = probabilities.copy()
        blended[:, :-1] = (1 - weight) * topics + weight * votes * topics.sum(axis=1, keepdims=True)
        return blended

    def _on_topic(self, closeness: NDArray[np.float32], vectors: Vectors) -> NDArray[np.bool_]:
        """Units close enough to some topic, and closer to it than to off-topic language."""
        best = closeness.max(axis=1)
        on_topic: NDArray[np.bool_] = best >= self.tuning.topic_threshold
        if self.index.background.shape[0]:
            # The single nearest off-topic sentence: boilerplate is diverse, so one close
            # neighbour is evidence enough, where a topic needs k.
            off_topic = (vectors @ self.index.background.T).max(axis=1)
            on_topic &= best >= off_topic + self.tuning.background_margin
        return on_topic

    def _reading(self, unit: str, vector: Vectors, similarity: NDArray[np.float32],
                 unit_cues: NDArray[np.float32], unit_lean: int, t: int, score: float
                 ) -> UnitReading:
        rows = self.index.topic_rows[t]
        best = int(rows[np.argmax(similarity[rows])])
        known = self._known_stance(vector, unit, unit_cues, best, float(similarity[best]), t)
        leaning = 0
        if known is not None:
            # The playbook's own words (a redline just applied, a fallback inserted) read as
            # the position they come from, whatever the classifiers make of them.
            scores = np.eye(len(STANCES), dtype=np.float32)[known]
        else:
            scores = self.classifiers.stance_scores(t, vector,
                                                    unit_cues * self.tuning.stance_cues,
                                                    self.tuning.shared_stance)
            scores[STANCES.index(Stance.NEUTRAL)] -= self.tuning.neutral_penalty
            leaning = unit_lean
            scores = self._with_drafting(scores, leaning)
        probabilities = tuple(float(p) for p in scores)
        nearest = {key: self.index.positions[int(group[np.argmax(similarity[group])])]
                   for key, group in self.side_kind_rows[t].items()}
        return UnitReading(unit, score, probabilities, nearest, leaning, known is not None)

    def _with_drafting(self, scores: NDArray[np.float32], leaning: int) -> NDArray[np.float32]:
        """Stance scores read with the drafting's lean.

        The classifiers say whether the text takes a side; where the drafting plainly favours
        one, the two sides' scores swap if the classifiers ranked them the other way round,
        and the favoured side gains a little on neutral.
        """
        side = favoured(leaning)
        if side is None:
            return scores
        own, other = STANCES.index(favouring(side)), STANCES.index(favouring(side.other))
        scores = scores.copy()
        if scores[other] > scores[own]:
            scores[own], scores[other] = scores[other], scores[own]
        scores[own] += self.tuning.drafting_weight * min(abs(leaning), 2)
        return scores

    def _known_stance(self, vector: Vectors, unit: str, unit_cues: NDArray[np.float32],
                      row: int, row_similarity: float, t: int) -> int | None:
        """The stance of the bank language this unit repeats on topic t, if it repeats any.

        Repeating means nearly the same embedding, the same parties in the same places and the
        same cues: "Vendor owns all Outputs" is within 0.98 cosine of the bank's "Customer owns
        all Outputs", so a mirror image must be read on its merits, not take the bank's stance.
        """
        index = self.index
        best, stance, text = row_similarity, int(index.stance_of_row[row]), index.texts[row]
        parts = index.topic_parts[t]
        if parts.size:
            similarity = index.parts[parts] @ vector
            j = int(similarity.argmax())
            if similarity[j] > best:
                part = parts[j]
                best, stance = float(similarity[j]), int(index.part_stance[part])
                text = index.part_texts[part]
        if (best < self.tuning.known_language or party_sequence(text) != party_sequence(unit)
                or not np.array_equal(cues(text), unit_cues)):
            return None
        return stance

    def _suggestion(self, text: str, finding: Finding, perspective: Perspective) -> Suggestion:
        verdict = finding.verdict(perspective)
        topic = self.bank.topic(finding.topic)
        assert topic is not None  # findings only name the bank's topics
        explained = _explaining_position(finding.explaining_reading(), verdict, perspective,
                                         topic)
        reason = explained.reason
        redline: Redline | None = None
        fallbacks: tuple[FallbackOffer, ...] = ()
        if verdict is not Verdict.ACCEPTABLE:
            offered = topic.fallbacks(perspective)
            targets = [topic.preferred(perspective).text, *(p.text for p in offered)]
            redline, *toward = propose_many(text, targets, _offends(finding, perspective))
            fallbacks = tuple(FallbackOffer(p.id, p.label, p.text, p.reason, r)
                              for p, r in zip(offered, toward, strict=True))
            reason = f"{reason} Redline: {redline.note}" if redline.note else reason
        return Suggestion(
            topic=finding.topic,
            score=float(np.clip(finding.score, 0.0, 1.0)),
            verdict=verdict,
            stance=finding.stance,
            position=explained.id,
            reason=reason,
            redline=redline,
            fallbacks=fallbacks,
        )



def _lean_aside(leans: Sequence[int], raised: NDArray[np.bool_]) -> int:
    """How the units that raise no topic lean, when the paragraph raises just one.

    A paragraph about one issue states it across sentences ("All Deliverables are works
    made for hire. Consultant hereby assigns to Client ..."), and the topic detector, rightly
    strict, may find the issue in only one of them; the rest can still say whom the
    paragraph favours where that one is silent.
    """
    if np.count_nonzero(raised.any(axis=0)) != 1:
        return 0
    return sum(leans[u] for u in np.flatnonzero(~raised.any(axis=1)).tolist())


def _topics_raised(probabilities: NDArray[np.float32], second: float) -> NDArray[np.bool_]:
    """Each unit raises its most probable topic, and any other the classifier rates >= second."""
    raised: NDArray[np.bool_] = probabilities >= second
    raised[np.arange(len(probabilities)), probabilities.argmax(axis=1)] = True
    return raised


def _takes_a_position(text: str) -> bool:
    """Headings and titles ("MASTER SUBSCRIPTION AGREEMENT", "7.3 Training.") take none."""
    return len(_WORDS.findall(text)) >= MIN_POSITION_WORDS


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
                         topic: Topic) -> Position:
    """The side's position whose reason explains the verdict: the nearest of the matching kind."""
    wanted = {Verdict.ACCEPTABLE: Kind.PREFERRED, Verdict.NEEDS_REVIEW: Kind.FALLBACK,
              Verdict.UNACCEPTABLE: Kind.UNACCEPTABLE}[verdict]
    found = reading.nearest.get((perspective, wanted))
    return found or topic.preferred(perspective)
