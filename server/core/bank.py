"""The clause bank (the firm's playbook) as plain values.

A topic holds, for each perspective, one preferred position, ranked fallbacks and the
unacceptable positions that must be redlined. Every position carries model language,
the reason a lawyer gives for it, and exemplars: ways counterparties write it, used for matching.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from server.core.topics import Kind, Perspective, Stance, stance_of


@dataclass(frozen=True, slots=True)
class Position:
    """One playbook position on a topic, for one side."""

    id: str
    topic: str
    perspective: Perspective
    kind: Kind
    rank: int  # 1-based order within its kind; fallback 1 is tried before fallback 2
    label: str
    text: str
    reason: str
    exemplars: tuple[str, ...]

    @property
    def stance(self) -> Stance:
        """Whom this position's language favours."""
        return stance_of(self.perspective, self.kind)


@dataclass(frozen=True, slots=True)
class Topic:
    """A negotiation issue and the positions both sides take on it."""

    id: str
    title: str
    summary: str
    positions: tuple[Position, ...]

    def side(self, perspective: Perspective) -> tuple[Position, ...]:
        """This side's positions, preferred first, then fallbacks, then unacceptable."""
        order = {Kind.PREFERRED: 0, Kind.FALLBACK: 1, Kind.UNACCEPTABLE: 2}
        mine = (p for p in self.positions if p.perspective is perspective)
        return tuple(sorted(mine, key=lambda p: (order[p.kind], p.rank)))

    def preferred(self, perspective: Perspective) -> Position:
        """This side's preferred position."""
        return next(p for p in self.side(perspective) if p.kind is Kind.PREFERRED)

    def fallbacks(self, perspective: Perspective) -> tuple[Position, ...]:
        """This side's fallbacks, in the order to offer them."""
        return tuple(p for p in self.side(perspective) if p.kind is Kind.FALLBACK)


@dataclass(frozen=True, slots=True)
class ClauseBank:
    """All topics of the playbook, with look-ups by id."""

    topics: tuple[Topic, ...]

    def __iter__(self) -> Iterator[Topic]:
        return iter(self.topics)

    def topic(self, topic_id: str) -> Topic | None:
        """The topic with this id, if the bank has it."""
        return next((t for t in self.topics if t.id == topic_id), None)

    def positions(
        self, topic: str | None = None, perspective: Perspective | None = None
    ) -> tuple[Position, ...]:
        """Positions, optionally only those of one topic and one side, in playbook order."""
        chosen = (t for t in self.topics if topic is None or t.id == topic)
        sides = [perspective] if perspective else list(Perspective)
        return tuple(p for t in chosen for side in sides for p in t.side(side))

    def position(self, position_id: str) -> Position | None:
        """The position with this id, if any."""
        return next((p for p in self.positions() if p.id == position_id), None)

    def content_hash(self) -> str:
        """A digest of everything that matching depends on, for caching embeddings."""
        payload = json.dumps([position_record(p) for p in self.positions()], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


def position_record(position: Position) -> dict[str, object]:
    """A position as plain JSON-ready data (the API's clause shape)."""
    record = asdict(position)
    record["perspective"] = position.perspective.value
    record["kind"] = position.kind.value
    record["stance"] = position.stance.value
    record["exemplars"] = list(position.exemplars)
    return record

