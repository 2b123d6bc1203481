"""Hybrid clause search in the core: passages, max-pooling, fusion, filters and the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from server.adapters.bank_yaml import load_bank
from server.core.search import (
    Document,
    SearchIndex,
    Tuning,
    fuse,
    max_pool,
    position_document,
    split_passages,
    standardise,
)
from server.services import FileVectorCache
from tests.fakes import HashingEmbedder

BANK = load_bank(Path(__file__).parents[1] / "fixtures" / "bank")

# A long made-up clause: filler about notices first, the part about escrow at the very end.
FILLER = " ".join(f"Notice item {i} goes to the address in the order form by courier." for i in
                  range(12))
LONG = Document("precedent", "long", f"{FILLER} The source code escrow agent releases the code "
                                     "if the licensor becomes insolvent.")
CORPUS = [
    LONG,
    Document("precedent", "law", "This agreement is governed by the laws of Ontario."),
    Document("precedent", "pay", "Invoices are payable within thirty days of receipt."),
    Document("precedent", "term", "Either party may terminate for convenience on notice."),
]


def index(documents: list[Document] | None = None, **tuning: float) -> SearchIndex:
    knobs = Tuning(window=16, **tuning)  # type: ignore[arg-type]
    return SearchIndex(documents or CORPUS, HashingEmbedder(), tuning=knobs)


def test_long_documents_are_read_as_windows_owned_by_their_document() -> None:
    passages, owner = split_passages(CORPUS, HashingEmbedder(), 16)
    long_pieces = [p for p, o in zip(passages, owner, strict=True) if o == 0]
    assert len(long_pieces) > 5
    assert all(len(p.split()) <= 16 for p in long_pieces)
    assert " ".join(long_pieces).split() == LONG.text.split()  # nothing lost or repeated
    assert owner.count(1) == owner.count(2) == owner.count(3) == 1


def test_max_pooling_takes_each_documents_best_passage() -> None:
    pooled = max_pool(np.array([0.1, 0.9, 0.3, 0.2], dtype=np.float32),
                      np.array([0, 0, 1, 2]), 3)
    assert pooled.tolist() == pytest.approx([0.9, 0.3, 0.2])


def test_the_relevant_end_of_a_long_clause_is_found() -> None:
    # the escrow sentence is a small part of the long clause: a whole-text vector dilutes it,
    # the best window does not
    searched = index(semantic_weight=1.0)
    hits = searched.search("escrow release when the licensor is insolvent", limit=2)
    assert hits[0].document.id == "long"
    assert "escrow" in hits[0].best_passage
    assert "Notice item 0" not in hits[0].best_passage


def test_lexical_evidence_ranks_the_exact_term() -> None:
    hits = index(semantic_weight=0.0).search("Ontario", limit=4)
    assert hits[0].document.id == "law"
    assert hits[0].matched_terms == ("ontario",)
    assert hits[0].lexical > 0 and all(h.lexical == 0 for h in hits[1:])


def test_scores_are_in_unit_range_and_ordered() -> None:
    hits = index().search("terminate for convenience", limit=4)
    assert hits[0].document.id == "term"
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_limit_and_empty_queries() -> None:
    searched = index()
    assert len(searched.search("notice", limit=2)) == 2
    assert searched.search("   ") == []


def test_standardise_and_fuse() -> None:
    assert standardise(np.array([2.0, 2.0], dtype=np.float32)).tolist() == [0.0, 0.0]
    z = standardise(np.array([1.0, 2.0, 3.0], dtype=np.float32))
    assert z.mean() == pytest.approx(0.0, abs=1e-6) and z.std() == pytest.approx(1.0)
    semantic = np.array([0.9, 0.1, 0.5], dtype=np.float32)
    lexical = np.array([0.0, 8.0, 1.0], dtype=np.float32)
    assert np.argmax(fuse(semantic, lexical, 1.0)) == 0
    assert np.argmax(fuse(semantic, lexical, 0.0)) == 1
    # BM25's larger scale does not swamp the embeddings: only the weights decide
    assert fuse(semantic * 100, lexical, 0.5).tolist() == pytest.approx(
        fuse(semantic, lexical, 0.5).tolist())


def test_positions_are_found_through_their_exemplars() -> None:
    documents = [position_document(p) for p in BANK.positions()]
    searched = SearchIndex(documents, HashingEmbedder())
    hits = searched.search("a separate higher cap of three times the fees for data breaches")
    assert hits[0].document.id == "lc-c-fb1"
    assert hits[0].document.kind == "position" and hits[0].document.topic == "liability-cap"
    assert hits[0].best_passage.startswith("A separate higher cap")


def test_filters_by_topic_and_perspective() -> None:
    documents = [position_document(p) for p in BANK.positions()] + CORPUS
    searched = SearchIndex(documents, HashingEmbedder())
    assert searched.allowed() is None
    by_topic = searched.search("cap", limit=50, allowed=searched.allowed("liability-cap"))
    assert {h.document.topic for h in by_topic} == {"liability-cap"}
    assert len(by_topic) == 6
    vendor = searched.search("cap", limit=50, allowed=searched.allowed(None, "vendor"))
    kinds = {(h.document.kind, h.document.perspective) for h in vendor}
    assert kinds == {("position", "vendor"), ("precedent", None)}
    assert searched.search("cap", allowed=searched.allowed("indemnity")) == []


def test_passage_vectors_are_cached_without_text(tmp_path: Path) -> None:
    cache = FileVectorCache(tmp_path)
    first = HashingEmbedder()
    SearchIndex(CORPUS, first, cache, Tuning(window=16))
    assert sum(first.calls) > len(CORPUS)
    again = HashingEmbedder()
    SearchIndex(CORPUS, again, cache, Tuning(window=16))
    assert again.calls == []
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"escrow" not in stored and b"Ontario" not in stored
    other_window = HashingEmbedder()
    SearchIndex(CORPUS, other_window, cache, Tuning(window=32))
    assert other_window.calls != []  # a different window is different passages


def test_feedback_moves_the_query_toward_the_top_documents_best_passages() -> None:
    searched = index(feedback_docs=1, feedback_weight=1.0)
    query = HashingEmbedder().embed(["escrow release"])[0]
    moved = searched.feedback(query, np.array([0]))
    assert np.linalg.norm(moved) == pytest.approx(1.0)
    escrow = searched.vectors[searched.best_passage_row(0, query)]
    assert float(moved @ escrow) > float(query @ escrow)
    # with feedback on, the ranking still puts the escrow clause first
    assert searched.search("escrow release when the licensor is insolvent")[0].document.id == (
        "long")


def test_retuning_shares_the_vectors_but_not_a_window() -> None:
    searched = index()
    twin = searched.with_tuning(Tuning(window=16, semantic_weight=0.0))
    assert twin.vectors is searched.vectors and twin.tuning.semantic_weight == 0.0
    with pytest.raises(ValueError):
        searched.with_tuning(Tuning(window=32))


def test_vectors_already_known_are_not_embedded_again() -> None:
    short = CORPUS[1:]
    known = dict(zip([d.text for d in short[:2]], HashingEmbedder().embed(
        [d.text for d in short[:2]]), strict=True))
    embedder = HashingEmbedder()
    seeded = SearchIndex(short, embedder, known=known)
    assert embedder.calls == [1]  # only the third clause
    plain = SearchIndex(short, HashingEmbedder())
    assert np.allclose(seeded.vectors, plain.vectors)


def test_naming_a_kind_of_position_lifts_that_kind() -> None:
    documents = [position_document(p) for p in BANK.positions()]
    searched = SearchIndex(documents, HashingEmbedder())
    plain = searched.search("customer data used to train models", limit=3)
    assert any(h.document.kind_of_position != "fallback" for h in plain)
    named = searched.search("fallbacks: customer data used to train models", limit=3)
    assert [h.document.kind_of_position for h in named[:2]] == ["fallback", "fallback"]
    assert {h.document.topic for h in named[:2]} == {"training-use"}
