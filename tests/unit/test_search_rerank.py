"""Re-ranking search's top hits: the pool, its boundary, the scores shown and the reason given."""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from flask.testing import FlaskClient

from server.api.search import EXTENSION, reason
from server.core.search import (
    Document,
    Reranking,
    Scores,
    SearchIndex,
    Tuning,
    rerank_scores,
)
from server.rerank_train import (
    Pair,
    RerankRecipe,
    add_arguments,
    batch_loss,
    build_pairs,
    query_batches,
    run,
)
from server.search_train import Rated, SplitLeak
from server.serving import model_problem
from server.settings import Settings
from tests.fakes import HashingEmbedder

# Every clause mentions the query's words "liability" and "cap" a different number of times,
# so the first stage's order is known; the fake re-ranker prefers the word "mutual".
CORPUS = [
    Document("precedent", "a", "Liability cap liability cap liability cap: fees of one year."),
    Document("precedent", "b", "Liability cap liability cap: fees of two years."),
    Document("precedent", "c", "Liability cap applies to each side; a mutual limit."),
    Document("precedent", "d", "A mutual mutual promise: liability stays uncapped."),
    Document("precedent", "e", "Invoices are due in thirty days."),
]
QUERY = "liability cap"


class FavouringReranker:
    """Relevance = the share of a passage's words that are the favoured word; records calls."""

    name = "favouring-fake"

    def __init__(self, word: str = "mutual") -> None:
        self.word = word
        self.calls: list[list[str]] = []

    def relevance(self, query: str, passages: Sequence[str]) -> Scores:
        """Made-up relevance in [0, 1] that ignores the query."""
        self.calls.append(list(passages))
        words = [p.lower().replace(":", " ").replace(";", " ").replace(".", " ").split()
                 for p in passages]
        return np.array([w.count(self.word) / len(w) for w in words], dtype=np.float32)


def index(reranker: FavouringReranker | None = None, depth: int = 3,
          weight: float = 1.0) -> SearchIndex:
    plain = SearchIndex(CORPUS, HashingEmbedder(), tuning=Tuning(window=32, feedback_docs=0))
    return plain.with_reranker(reranker, Reranking(depth, weight)) if reranker else plain


def ids(index: SearchIndex, limit: int = 5) -> list[str]:
    return [h.document.id for h in index.search(QUERY, limit)]


def test_without_a_reranker_search_is_unchanged() -> None:
    plain = index()
    assert plain.reranker is None
    hits = plain.search(QUERY, 5)
    assert [h.relevance for h in hits] == [None] * 5
    again = plain.with_reranker(None).search(QUERY, 5)
    assert [(h.document.id, h.score) for h in hits] == [(h.document.id, h.score) for h in again]


def test_the_reranker_reorders_the_first_stages_top_k_only() -> None:
    first = ids(index())
    assert first[:3] == ["a", "b", "c"] and first.index("d") >= 3  # "d" is outside the pool
    fake = FavouringReranker()
    reranked = ids(index(fake, depth=3))
    # inside the pool "c" (the one mutual clause) rises to the top; "d", the fake's favourite,
    # is never read, so it keeps its first-stage place below the pool
    assert reranked[0] == "c" and set(reranked[:3]) == {"a", "b", "c"}
    assert reranked[3:] == first[3:]
    assert len(fake.calls) == 1 and len(fake.calls[0]) == 3
    assert not any("uncapped" in p for p in fake.calls[0])


def test_a_deeper_pool_reaches_further_down_the_first_stage() -> None:
    fake = FavouringReranker()
    assert ids(index(fake, depth=4))[0] == "d"
    assert len(fake.calls[0]) == 4


def test_a_pool_deeper_than_the_candidates_reads_each_once() -> None:
    fake = FavouringReranker()
    hits = index(fake, depth=50).search(QUERY, 2)
    assert len(fake.calls[0]) == len(CORPUS) and len(hits) == 2


def test_filters_apply_before_the_pool() -> None:
    fake = FavouringReranker()
    keep = np.array([True, True, False, False, True])
    hits = index(fake, depth=3).search(QUERY, 5, allowed=keep)
    assert {h.document.id for h in hits} == {"a", "b", "e"}
    assert len(fake.calls[0]) == 3


def test_scores_shown_read_best_first_and_say_who_ranked() -> None:
    hits = index(FavouringReranker(), depth=3).search(QUERY, 5)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert [h.relevance is not None for h in hits] == [True, True, True, False, False]
    assert hits[0].score == pytest.approx(hits[0].relevance)


def test_the_reason_names_the_reranker_only_where_it_read_the_clause() -> None:
    hits = index(FavouringReranker(), depth=3).search(QUERY, 5)
    top = reason(hits[0])
    assert top.startswith("Re-ranked by reading query and clause together (relevance 0.")
    assert "close in meaning (cosine" in top and "shares the terms" in top
    assert "re-ranked" not in reason(hits[3]).lower()
    assert "re-ranked" not in reason(index().search(QUERY, 1)[0]).lower()


def test_fused_weight_mixes_the_first_stage_back_in() -> None:
    relevance = np.array([0.9, 0.1, 0.5], dtype=np.float32)
    first = np.array([0.0, 3.0, 1.0], dtype=np.float32)
    assert rerank_scores(relevance, first, 1.0).tolist() == pytest.approx([0.9, 0.1, 0.5])
    assert int(np.argmax(rerank_scores(relevance, first, 0.9))) == 0
    assert int(np.argmax(rerank_scores(relevance, first, 0.1))) == 1
    fused_hits = index(FavouringReranker(), depth=3, weight=0.5).search(QUERY, 5)
    scores = [h.score for h in fused_hits]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)


def test_the_setting_is_read_and_a_missing_reranker_stops_the_service(tmp_path: Path) -> None:
    assert Settings.from_env({}).search_reranker is None
    env = {"REDLINE_SEARCH_RERANKER": "/models/reranker"}
    assert Settings.from_env(env).search_reranker == "/models/reranker"
    missing = tmp_path / "no-such-reranker"
    problem = model_problem(Settings(search_reranker=str(missing)))
    assert problem is not None and "REDLINE_SEARCH_RERANKER" in problem
    (tmp_path / "present").mkdir()
    assert model_problem(Settings(search_reranker=str(tmp_path / "present"))) is None


def test_the_api_reranks_with_the_configured_reranker(
        client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FavouringReranker("data")
    monkeypatch.setattr("server.api.search.search_reranker", lambda settings: fake)
    response = client.get("/api/v1/clauses/search", query_string={"q": "liability cap"})
    assert response.status_code == 200
    found = response.get_json()["results"]
    searched = client.application.extensions[EXTENSION].index
    assert searched.reranker is fake
    assert len(fake.calls) == 1 and len(fake.calls[0]) == min(Reranking().depth, len(searched))
    assert "Re-ranked by reading query and clause together" in found[0]["reason"]
    scores = [r["score"] for r in found]
    assert scores == sorted(scores, reverse=True)


def rated() -> list[Rated]:
    """Made-up ratings of one query: graded clauses, and zeros the base model ranks high or low."""
    return [Rated("q", "top", 4, "best", 0.9), Rated("q", "some", 1, "partly", 0.5),
            *(Rated("q", f"zero-{i}", 0, f"zero {i}", i / 10) for i in range(10))]


def test_pairs_keep_every_rated_clause_the_hardest_zeros_and_a_few_others() -> None:
    pairs = build_pairs(rated(), {"q": "a query"}, RerankRecipe(hard_negatives=3,
                                                                 easy_negatives=2))
    targets = {p.clause_id: p.target for p in pairs}
    assert targets["top"] == 1.0 and targets["some"] == 0.25
    assert {"zero-9", "zero-8", "zero-7"} <= set(targets)  # the base model's highest zeros
    assert len(targets) == 2 + 3 + 2 and all(p.query == "a query" for p in pairs)
    again = build_pairs(rated(), {"q": "a query"}, RerankRecipe(hard_negatives=3,
                                                                easy_negatives=2))
    assert again == pairs  # seeded


def pairs_of(query_id: str, targets: list[float]) -> list[Pair]:
    return [Pair(query_id, f"{query_id}-{i}", query_id, f"text {i}", t)
            for i, t in enumerate(targets)]


def test_listwise_batches_hold_one_query_each_with_a_rated_clause() -> None:
    pairs = pairs_of("a", [1.0, 0.25, *[0.0] * 8]) + pairs_of("b", [0.5, *[0.0] * 3])
    plan = query_batches(pairs, 4, random.Random(0))
    assert len({p.query_id for p in plan[0]}) == 1
    assert all(len({p.query_id for p in batch}) == 1 for batch in plan)
    assert all(any(p.target > 0 for p in batch) for batch in plan)
    seen = [p.clause_id for batch in plan for p in batch]
    assert len(seen) == len(set(seen))
    # "a" has 10 pairs in 3 batches, only 2 rated: the batch left without one is dropped
    assert sorted(len(b) for b in plan if b[0].query_id == "a") == [3, 4]
    assert plan == query_batches(pairs, 4, random.Random(0))


def test_listwise_loss_prefers_the_order_of_the_ratings() -> None:
    targets = torch.tensor([1.0, 0.25, 0.0])
    right = batch_loss(torch.tensor([3.0, 1.0, -2.0]), targets, "listwise")
    wrong = batch_loss(torch.tensor([-2.0, 1.0, 3.0]), targets, "listwise")
    assert float(right) < float(wrong)
    point = batch_loss(torch.tensor([3.0, 1.0, -2.0]), targets, "pointwise")
    assert float(point) == pytest.approx(float(torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor([3.0, 1.0, -2.0]), targets)))


def test_training_refuses_a_held_out_query(tmp_path: Path) -> None:
    header = "query-id\tcorpus-id\tscore\n"
    (tmp_path / "train.tsv").write_text(header + "q1\tc1\t3\nq2\tc1\t0\n", encoding="utf-8")
    (tmp_path / "valid.tsv").write_text(header + "q2\tc2\t1\n", encoding="utf-8")
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "one"}\n', encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([
        "--corpus", str(tmp_path / "corpus.jsonl"), "--queries", str(tmp_path / "queries.jsonl"),
        "--qrels", str(tmp_path / "train.tsv"), "--exclude", str(tmp_path / "valid.tsv"),
        "--out", str(tmp_path / "model")])
    with pytest.raises(SplitLeak):
        run(args, "all-MiniLM-L6-v2", tmp_path / "cache")
    assert not (tmp_path / "model").exists()
