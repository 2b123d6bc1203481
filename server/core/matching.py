"""Match paragraph text against the clause bank's exemplars.

The bank index holds one embedding and one cue vector per exemplar (and per position's model
language). A paragraph is read as units (sentences, merged when very short); each unit is
scored against every topic by the mean of its k nearest exemplars of that topic.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from server.core.bank import ClauseBank, Position
from server.core.cues import cue_matrix
from server.core.embedding import Embedder, Vectors, windows
from server.core.redline import read_sentences
from server.core.topics import Stance

MIN_UNIT_WORDS = 8
EMBEDDING_INPUT_VERSION = "sentences-4"  # bump when what is embedded changes


class VectorCache(Protocol):
    """Somewhere to keep bank embeddings between restarts."""

    def load(self, key: str) -> Vectors | None:
        """The vectors saved under this key, if any."""
        ...

    def save(self, key: str, vectors: Vectors) -> None:
        """Keep these vectors under this key."""
        ...


@dataclass(frozen=True)
class BankIndex:
    """Embeddings and cues of every exemplar, with the position each belongs to."""

    positions: tuple[Position, ...]  # one per row
    texts: tuple[str, ...]
    vectors: Vectors
    cue_vectors: NDArray[np.float32]
    topic_ids: tuple[str, ...]
    topic_rows: tuple[NDArray[np.intp], ...]  # row numbers of each topic, in topic_ids order
    background: Vectors  # off-topic sentences: what "no topic" looks like
    # The sentences of multi-sentence position texts, so the playbook's own language is
    # recognised unit by unit; not training rows (they would weigh those positions twice).
    parts: Vectors
    part_texts: tuple[str, ...]
    part_stance: NDArray[np.intp]  # index into Stance's order
    part_topic: NDArray[np.intp]  # index into topic_ids

    @cached_property
    def stance_of_row(self) -> NDArray[np.intp]:
        """Each row's stance, as an index into Stance's order."""
        order = list(Stance)
        return np.array([order.index(p.stance) for p in self.positions], dtype=np.intp)

    @cached_property
    def topic_parts(self) -> tuple[NDArray[np.intp], ...]:
        """Part numbers of each topic, in topic_ids order."""
        return tuple(np.flatnonzero(self.part_topic == t) for t in range(len(self.topic_ids)))

    @cached_property
    def position_of_row(self) -> NDArray[np.intp]:
        """Each row's position, as a number shared by the rows of one position."""
        ids: dict[str, int] = {}
        return np.array([ids.setdefault(p.id, len(ids)) for p in self.positions], dtype=np.intp)

    @classmethod
    def build(cls, bank: ClauseBank, embedder: Embedder, cache: VectorCache | None = None,
              background: Sequence[str] = ()) -> BankIndex:
        """Index the bank, embedding only what the cache does not already hold."""
        rows = [(p, text) for p in bank.positions() for text in (p.text, *p.exemplars)]
        parts = [(p, part) for p in bank.positions() for part in _parts(p.text, embedder)]
        texts = [text for _, text in rows]
        vectors = _cached_embeddings(embedder, texts, cache)
        topic_ids = tuple(t.id for t in bank)
        topic_of_row = np.array([topic_ids.index(p.topic) for p, _ in rows])
        return cls(
            positions=tuple(p for p, _ in rows),
            texts=tuple(texts),
            vectors=vectors,
            cue_vectors=cue_matrix(texts),
            topic_ids=topic_ids,
            topic_rows=tuple(np.flatnonzero(topic_of_row == t) for t in range(len(topic_ids))),
            background=(_cached_embeddings(embedder, list(background), cache) if background
                        else np.zeros((0, vectors.shape[1]), dtype=np.float32)),
            parts=(_cached_embeddings(embedder, [text for _, text in parts], cache) if parts
                   else np.zeros((0, vectors.shape[1]), dtype=np.float32)),
            part_texts=tuple(text for _, text in parts),
            part_stance=np.array([list(Stance).index(p.stance) for p, _ in parts], dtype=np.intp),
            part_topic=np.array([topic_ids.index(p.topic) for p, _ in parts], dtype=np.intp),
        )

    def rows_of(self, topic_id: str) -> NDArray[np.intp]:
        """Row numbers of one topic's exemplars."""
        return self.topic_rows[self.topic_ids.index(topic_id)]


def _parts(text: str, embedder: Embedder) -> list[str]:
    """A position text's units when it has several, so each unit of it finds itself in the bank."""
    parts = units(text, embedder)
    return parts if len(parts) > 1 else []


def _cached_embeddings(embedder: Embedder, texts: list[str], cache: VectorCache | None
                       ) -> Vectors:
    """Embeddings of the texts, from the cache when it holds them for this model."""
    key = _cache_key(embedder.name, texts)
    vectors = cache.load(key) if cache else None
    if vectors is None or vectors.shape[0] != len(texts):
        vectors = embed_long(embedder, texts)
        if cache:
            cache.save(key, vectors)
    return vectors


def _cache_key(model: str, texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    digest.update(EMBEDDING_INPUT_VERSION.encode())
    safe_model = "".join(c if c.isalnum() else "-" for c in model)
    return f"{safe_model}-{digest.hexdigest()[:24]}"


# What contracts call the parties besides Vendor and Customer (longest first: "Service Provider").
# Data processing terms call them Processor and Controller, law firms' engagement terms the
# Firm, public-sector contracts the Authority ("the Authority", not a "Supervisory Authority").
VENDOR_ALIASES = ("Service Provider", "Provider", "Supplier", "Licensor", "Contractor",
                  "Consultant", "Company", "Seller", "Processor", "Firm")
CUSTOMER_ALIASES = ("Client", "Licensee", "Subscriber", "Buyer", "Controller")
_VENDOR_NAMES = re.compile(rf"(?<!-)\b(?:{'|'.join(VENDOR_ALIASES)})(?=\b)")
_CUSTOMER_NAMES = re.compile(
    rf"(?<!-)\b(?:{'|'.join(CUSTOMER_ALIASES)}|(?<=[Tt]he )Authority)(?=\b)")
_PRONOUNS = [(re.compile(r"\b(?:[Ww]e|us)\b"), "Vendor"), (re.compile(r"\b[Oo]ur\b"), "Vendor's"),
             (re.compile(r"\b[Yy]ou\b"), "Customer"), (re.compile(r"\b[Yy]our\b"), "Customer's")]


def canonical_parties(text: str) -> str:
    """The text with the parties called Vendor and Customer, as the bank mostly calls them.

    What a clause means for each side does not depend on whether the vendor is "Provider" or
    "we"; naming them alike before embedding lets meaning, not party names, drive the match.
    """
    text = _VENDOR_NAMES.sub("Vendor", text)
    text = _CUSTOMER_NAMES.sub("Customer", text)
    for pattern, name in _PRONOUNS:
        text = pattern.sub(name, text)
    return text


_PARTY = re.compile(r"\b(?:Vendor|Customer)\b")


def party_sequence(text: str) -> tuple[str, ...]:
    """Who the text names, in order ("Vendor", "Customer", ...), whatever it calls them."""
    return tuple(_PARTY.findall(canonical_parties(text)))


def embed_long(embedder: Embedder, texts: Sequence[str]) -> Vectors:
    """One vector per text; a text over the model window is the mean of its windows."""
    pieces: list[str] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        for piece in windows(canonical_parties(text), embedder):
            pieces.append(piece)
            owner.append(i)
    vectors = embedder.embed(pieces)
    if len(pieces) == len(texts):
        return vectors
    summed = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
    np.add.at(summed, np.array(owner), vectors)
    return np.asarray(summed / np.linalg.norm(summed, axis=1, keepdims=True), dtype=np.float32)


def units(text: str, embedder: Embedder) -> list[str]:
    """The paragraph's units of meaning: sentences, with very short ones joined to the next.

    They are the sentences the redliner edits, with section labels ("7.3", "(b)") and a
    leading heading ("Model Training.") set aside: those take no position, and left in they
    keep a sentence in the playbook's own words from being recognised as such.
    """
    merged: list[str] = []
    carry = ""
    for sentence in read_sentences(text):
        if sentence.heading:
            continue
        carry = f"{carry} {text[sentence.start:sentence.end]}".strip()
        if len(carry.split()) >= MIN_UNIT_WORDS:
            merged.append(carry)
            carry = ""
    if carry:
        if merged:
            merged[-1] = f"{merged[-1]} {carry}"
        else:
            merged.append(carry)
    return [piece for unit in merged for piece in windows(unit, embedder)]


class EmbeddingMemo:
    """Recently embedded units, keyed by a digest of their text, so re-sent paragraphs are cheap.

    Only digests and vectors are kept: the text itself is not held after the request.
    """

    def __init__(self, embedder: Embedder, capacity: int = 4096) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self._memo: OrderedDict[bytes, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embeddings for the texts (parties named canonically), computing only new ones."""
        texts = [canonical_parties(t) for t in texts]
        keys = [hashlib.blake2b(t.encode(), digest_size=16).digest() for t in texts]
        text_of = dict(zip(keys, texts, strict=True))
        with self._lock:
            todo = [k for k in dict.fromkeys(keys) if k not in self._memo]
        fresh = self.embedder.embed([text_of[k] for k in todo]) if todo else None
        with self._lock:
            if fresh is not None:
                # Copies, so a remembered row does not keep its whole batch alive.
                self._memo.update((k, row.copy()) for k, row in zip(todo, fresh, strict=True))
            rows = [self._memo[k] for k in keys]
            for k in keys:
                self._memo.move_to_end(k)
            while len(self._memo) > self.capacity:
                self._memo.popitem(last=False)
        return np.stack(rows)
