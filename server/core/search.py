"""Clause search: find playbook positions and precedent clauses for a lawyer's query.

Method (knobs chosen on ACORD train, checked on valid; figures and the variants tried are in
BENCHMARKS.md, `make acord` reproduces them):
- semantic evidence: a document is read as passages (sentence-aligned windows of at most
  `Tuning.window` model tokens: MiniLM's whole window, which measured better than 128-token
  windows, so long clauses are not truncated); its semantic score is the
  best cosine between the query and any of its passages (max-pooling), because a long clause
  is relevant when one part of it answers the query, and a mean would dilute that part.
- lexical evidence: BM25 over the whole document (exact terms such as "New York" or
  "carve-out" that embeddings blur).
- fusion: each score is standardised over the candidates (z-score, so neither scale
  dominates) and the two are added with `Tuning.semantic_weight`.
- pseudo-relevance feedback: lawyers' queries are short ("escrow with release triggers"), so the
  query vector is moved toward the best passages of the first ranking's top documents, and
  the documents are scored again; this adds the vocabulary of the clause type to the query.

Playbook positions are documents whose passages are their model language and exemplars,
so a query phrased like a counterparty's draft still finds the position; a query that names a
kind of position ("fallback", "preferred", "unacceptable") lifts positions of that kind.

Optional re-ranking (a `Reranker`, e.g. a cross-encoder trained on ACORD train): the first
stage's top `Reranking.depth` documents are read again, query and best passage together, and
re-ordered by the re-ranker's relevance (or its fusion with the first stage's score); the rest
keep their first-stage order below them. A bi-encoder compares two vectors made apart, so it
cannot weigh how the query's words bear on the clause's; a cross-encoder can, at a cost per
document, which is why it reads only the top few.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from server.core.bank import Position
from server.core.bm25 import BM25, terms
from server.core.embedding import Embedder, Vectors, windows
from server.core.matching import VectorCache

Scores = NDArray[np.float32]

# Words by which a lawyer names a kind of playbook position (after `terms` stemming), and how
# far naming one lifts positions of that kind: two standard deviations of the fused score, so
# the kind named comes first unless another kind matches the rest of the query far better
# (with twelve exemplars a position, one deviation let the customer's unacceptable "opt-out
# default" ahead of a fallback for "a fallback on training with opt-out").
KIND_WORDS = {"fallback": "fallback", "preferred": "preferred", "unacceptable": "unacceptable"}
KIND_LIFT = 2.0


@dataclass(frozen=True, slots=True)
class Document:
    """Something search can return: a playbook position or a precedent clause."""

    kind: str  # "position" or "precedent"
    id: str
    text: str
    passages: tuple[str, ...] = ()  # extra text read semantically (a position's exemplars)
    topic: str | None = None
    label: str | None = None
    perspective: str | None = None
    kind_of_position: str | None = None  # preferred, fallback or unacceptable


def position_document(position: Position) -> Document:
    """A playbook position as a search document: its language plus its exemplars."""
    return Document(kind="position", id=position.id, text=position.text,
                    passages=position.exemplars, topic=position.topic, label=position.label,
                    perspective=position.perspective.value,
                    kind_of_position=position.kind.value)


@dataclass(frozen=True, slots=True)
class Tuning:
    """Search's knobs, set on ACORD train (see `python -m server search-bench`)."""

    window: int = 254  # model tokens per passage (at most the model's window less 2)
    semantic_weight: float = 0.9  # lexical weight is 1 - semantic_weight
    feedback_docs: int = 10  # top documents whose best passages move the query (0: off)
    feedback_weight: float = 2.0  # how far: the query counts once, their mean this much


class Reranker(Protocol):
    """A model that reads a query and a passage together and says how well one answers the other."""

    @property
    def name(self) -> str:
        """Identifies the model (for logs and benchmark rows)."""
        ...

    def relevance(self, query: str, passages: Sequence[str]) -> Scores:
        """One relevance in [0, 1] per passage, higher for a better answer."""
        ...


@dataclass(frozen=True, slots=True)
class Reranking:
    """How a re-ranker is used (chosen on ACORD, see BENCHMARKS.md)."""

    depth: int = 10  # first-stage top documents the re-ranker reads (its cost is per document)
    weight: float = 0.3  # re-ranker's share of the final score (z-scores); 1: its relevance alone


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked document, with the evidence behind its score."""

    document: Document
    score: float  # fused, in [0, 1] for display
    semantic: float  # best passage cosine
    lexical: float  # BM25
    matched_terms: tuple[str, ...]
    best_passage: str
    relevance: float | None = None  # the re-ranker's, when it re-read this document


class SearchIndex:
    """Passage embeddings and a BM25 index over a fixed list of documents."""

    def __init__(self, documents: Sequence[Document], embedder: Embedder,
                 cache: VectorCache | None = None, tuning: Tuning | None = None,
                 known: Mapping[str, Vectors] | None = None, reranker: Reranker | None = None,
                 reranking: Reranking | None = None) -> None:
        self.documents = tuple(documents)
        self.embedder = embedder
        self.tuning = tuning or Tuning()
        self.reranker = reranker
        self.reranking = reranking or Reranking()
        # a window over the model's own would be truncated silently: never exceed it
        self.window = min(self.tuning.window, embedder.max_tokens - 2)
        passages, owner = split_passages(self.documents, embedder, self.window)
        self.passages = tuple(passages)
        self.owner = np.asarray(owner, dtype=np.intp)
        # passages are in document order: document i owns passages bounds[i]:bounds[i + 1]
        self.bounds = np.searchsorted(self.owner, np.arange(len(self.documents) + 1))
        self.vectors = cached_vectors(embedder, passages, cache, f"w{self.window}", known)
        self.bm25 = BM25([_lexical_text(d) for d in self.documents])

    def __len__(self) -> int:
        return len(self.documents)

    def allowed(self, topic: str | None = None, perspective: str | None = None
                ) -> NDArray[np.bool_] | None:
        """Which documents a filter keeps: a topic keeps its positions only (precedents carry
        no topic); a perspective keeps that side's positions and every precedent."""
        if topic is None and perspective is None:
            return None
        return np.array([
            (topic is None or d.topic == topic)
            and (perspective is None or d.perspective in (None, perspective))
            for d in self.documents], dtype=np.bool_)

    def semantic_scores(self, query_vector: Vectors) -> Scores:
        """Each document's best passage cosine with the query (max-pooling)."""
        return max_pool(self.vectors @ query_vector, self.owner, len(self.documents))

    def lexical_scores(self, query: str) -> Scores:
        """Each document's BM25 score for the query."""
        return self.bm25.scores(query)

    def with_tuning(self, tuning: Tuning) -> SearchIndex:
        """The same passages and vectors under other fusion knobs (same window only)."""
        if min(tuning.window, self.embedder.max_tokens - 2) != self.window:
            raise ValueError("a different window needs a new index")
        twin = object.__new__(SearchIndex)
        twin.__dict__.update(self.__dict__, tuning=tuning)
        return twin

    def with_reranker(self, reranker: Reranker | None, reranking: Reranking | None = None
                      ) -> SearchIndex:
        """The same index re-ranking its top hits with this re-ranker (None: not at all)."""
        twin = object.__new__(SearchIndex)
        twin.__dict__.update(self.__dict__, reranker=reranker,
                             reranking=reranking or Reranking())
        return twin

    def scores(self, query: str, query_vector: Vectors | None = None,
               candidates: NDArray[np.intp] | None = None) -> tuple[Scores, Scores, Scores]:
        """Fused, semantic and lexical scores of the candidates (default: all documents)."""
        if query_vector is None:
            query_vector = self.embedder.embed([query])[0]
        if candidates is None:
            candidates = np.arange(len(self.documents))
        lexical = self.lexical_scores(query)[candidates]
        semantic = self.semantic_scores(query_vector)[candidates]
        fused = fuse(semantic, lexical, self.tuning.semantic_weight)
        if self.tuning.feedback_docs > 0:
            top = candidates[np.argsort(-fused, kind="stable")[:self.tuning.feedback_docs]]
            query_vector = self.feedback(query_vector, top)
            semantic = self.semantic_scores(query_vector)[candidates]
            fused = fuse(semantic, lexical, self.tuning.semantic_weight)
        return fused + self._kind_cue(query, candidates), semantic, lexical

    def _kind_cue(self, query: str, candidates: NDArray[np.intp]) -> Scores:
        """A lift for positions of the kind the query names ("a fallback on training")."""
        named = {KIND_WORDS[t] for t in terms(query) if t in KIND_WORDS}
        if not named:
            return np.zeros(len(candidates), dtype=np.float32)
        return np.array([KIND_LIFT * (self.documents[i].kind_of_position in named)
                         for i in candidates], dtype=np.float32)

    def feedback(self, query_vector: Vectors, top: NDArray[np.intp]) -> Vectors:
        """The query moved toward the best passages of the top documents (Rocchio)."""
        best = [self.best_passage_row(int(row), query_vector) for row in top]
        moved = query_vector + self.tuning.feedback_weight * self.vectors[best].mean(axis=0)
        return np.asarray(moved / np.linalg.norm(moved), dtype=np.float32)

    def best_passage_row(self, row: int, query_vector: Vectors) -> int:
        """The passage number of the document's passage closest to the query."""
        start, end = self.bounds[row], self.bounds[row + 1]
        return int(start + np.argmax(self.vectors[start:end] @ query_vector))

    def search(self, query: str, limit: int = 10,
               allowed: NDArray[np.bool_] | None = None) -> list[Hit]:
        """The best `limit` documents for the query, best first, among the allowed ones."""
        candidates = (np.arange(len(self.documents)) if allowed is None
                      else np.flatnonzero(allowed))
        if candidates.size == 0 or not query.strip():
            return []
        query_vector = self.embedder.embed([query])[0]
        fused, _, lexical = self.scores(query, query_vector, candidates)
        order = np.argsort(-fused, kind="stable")
        display = _display_scores(fused)
        relevance: dict[int, float] = {}
        if self.reranker is not None:
            order, relevance = self._rerank(query, query_vector, candidates, fused, order,
                                            display)
        query_terms = set(terms(query))
        return [self._hit(int(candidates[i]), float(display[i]), float(lexical[i]),
                          query_terms, query_vector, relevance.get(int(i)))
                for i in order[:limit]]

    def _rerank(self, query: str, query_vector: Vectors, candidates: NDArray[np.intp],
                fused: Scores, order: NDArray[np.intp], display: Scores
                ) -> tuple[NDArray[np.intp], dict[int, float]]:
        """The first stage's top `depth` re-ordered by the re-ranker, the rest below them.

        Positions index `candidates`. Displayed scores, updated in place: the pool's final
        scores, and below the pool the first stage's, capped at the pool's lowest so the list
        still reads best first.
        """
        pool = order[:self.reranking.depth]
        final, relevance = self.rerank_pool(query, query_vector, candidates[pool], fused[pool])
        ranked = np.argsort(-final, kind="stable")
        shown = final if self.reranking.weight >= 1 else _display_scores(final)
        display[pool] = shown
        rest = order[len(pool):]
        display[rest] = np.minimum(display[rest], float(shown.min()))
        scored = {int(p): float(r) for p, r in zip(pool, relevance, strict=True)}
        return np.concatenate([pool[ranked], rest]), scored

    def rerank_pool(self, query: str, query_vector: Vectors, rows: NDArray[np.intp],
                    first: Scores) -> tuple[Scores, Scores]:
        """Final scores and the re-ranker's relevance for these document rows.

        The re-ranker reads each document's passage closest to the query (max-pooling again:
        it reads a window, not a whole long clause).
        """
        if self.reranker is None:
            raise ValueError("this index has no re-ranker")
        passages = [self.passages[self.best_passage_row(int(r), query_vector)] for r in rows]
        relevance = np.asarray(self.reranker.relevance(query, passages), dtype=np.float32)
        return rerank_scores(relevance, first, self.reranking.weight), relevance

    def _hit(self, row: int, score: float, lexical: float, query_terms: set[str],
             query_vector: Vectors, relevance: float | None = None) -> Hit:
        document = self.documents[row]
        best = self.best_passage_row(row, query_vector)
        semantic = float(self.vectors[best] @ query_vector)  # the query as typed
        matched = tuple(t for t in dict.fromkeys(terms(_lexical_text(document)))
                        if t in query_terms)
        return Hit(document, score, semantic, lexical, matched, self.passages[best], relevance)


def split_passages(documents: Sequence[Document], embedder: Embedder, window: int
                   ) -> tuple[list[str], list[int]]:
    """Every document's passages (windows of its text, then its extra passages) and owners."""
    passages: list[str] = []
    owner: list[int] = []
    for row, document in enumerate(documents):
        for text in (document.text, *document.passages):
            for piece in windows(text, embedder, window):
                passages.append(piece)
                owner.append(row)
    return passages, owner


def max_pool(passage_scores: Scores, owner: NDArray[np.intp], count: int) -> Scores:
    """The best passage score of each of `count` documents."""
    out = np.full(count, -np.inf, dtype=np.float32)
    np.maximum.at(out, owner, passage_scores.astype(np.float32))
    return out


def standardise(scores: Scores) -> Scores:
    """Scores as z-scores over the candidates (all zero when they do not vary)."""
    spread = float(scores.std())
    if spread < 1e-9:
        return np.zeros_like(scores, dtype=np.float32)
    return np.asarray((scores - scores.mean()) / spread, dtype=np.float32)


def fuse(semantic: Scores, lexical: Scores, semantic_weight: float) -> Scores:
    """Weighted sum of the standardised semantic and lexical scores."""
    return np.asarray(semantic_weight * standardise(semantic)
                      + (1 - semantic_weight) * standardise(lexical), dtype=np.float32)


def rerank_scores(relevance: Scores, first: Scores, weight: float) -> Scores:
    """The re-ranked pool's final scores: the relevance, or its z-score fused with the first
    stage's (which is already a z-score sum) when `weight` < 1."""
    if weight >= 1:
        return np.asarray(relevance, dtype=np.float32)
    return np.asarray(weight * standardise(relevance) + (1 - weight) * standardise(first),
                      dtype=np.float32)


def cached_vectors(embedder: Embedder, texts: Sequence[str], cache: VectorCache | None,
                   tag: str, known: Mapping[str, Vectors] | None = None) -> Vectors:
    """Embeddings of the passages, from the cache when it holds them for this model.

    `known` holds vectors already computed by this embedder for whole texts (the bank index
    has every exemplar), so only the rest is embedded.
    """
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    key = _cache_key(embedder.name, tag, texts)
    vectors = cache.load(key) if cache else None
    if vectors is None or vectors.shape[0] != len(texts):
        vectors = _embed_unknown(embedder, texts, known or {})
        if cache:
            cache.save(key, vectors)
    return vectors


def _embed_unknown(embedder: Embedder, texts: Sequence[str], known: Mapping[str, Vectors]
                   ) -> Vectors:
    """Vectors of the texts, embedding only those `known` does not hold."""
    todo = list(dict.fromkeys(t for t in texts if t not in known))
    fresh = dict(zip(todo, embedder.embed(todo), strict=True)) if todo else {}
    return np.stack([known[t] if t in known else fresh[t] for t in texts]).astype(np.float32)


def _cache_key(model: str, tag: str, texts: Sequence[str]) -> str:
    """A file-safe key from the model, the passage setting and a digest of the texts."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    safe_model = "".join(c if c.isalnum() else "-" for c in model)
    return f"search-{safe_model}-{tag}-{digest.hexdigest()[:24]}"


def _lexical_text(document: Document) -> str:
    """What BM25 reads: the label, the text and any extra passages."""
    return " ".join(filter(None, (document.label, document.text, *document.passages)))


def _display_scores(fused: Scores) -> Scores:
    """Fused scores squashed into [0, 1] for the response (a logistic of the z-score sum)."""
    return np.asarray(1.0 / (1.0 + np.exp(-fused)), dtype=np.float32)
