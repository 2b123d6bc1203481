"""The search benchmark's metrics and protocol, on a tiny made-up BEIR benchmark."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest

from server.search_bench import (
    Query,
    add_arguments,
    evaluate,
    ndcg,
    precision,
    read_queries,
    read_ratings,
    run,
)
from tests.fakes import HashingEmbedder


def test_ndcg_uses_linear_gains_over_the_rated_ideal() -> None:
    assert ndcg([4, 3, 0], [0, 3, 4], 5) == pytest.approx(1.0)
    dcg = 0 + 3 / math.log2(3) + 4 / math.log2(4)
    ideal = 4 + 3 / math.log2(3)
    assert ndcg([0, 3, 4], [0, 3, 4], 5) == pytest.approx(dcg / ideal)
    assert ndcg([2, 0, 0], [2, 0, 0], 1) == pytest.approx(1.0)
    assert ndcg([0, 0], [0, 0], 5) == 0.0  # nothing relevant: no credit to give


def test_precision_at_star_levels_maps_stars_to_rating_minus_one() -> None:
    top = [4, 3, 2, 1, 0, 4]
    assert precision(top, 3) == pytest.approx(3 / 5)  # ratings >= 2
    assert precision(top, 4) == pytest.approx(2 / 5)  # ratings >= 3
    assert precision(top, 5) == pytest.approx(1 / 5)  # rating 4 only; the 6th is not counted


def test_rated_protocol_ranks_only_rated_clauses_and_full_corpus_counts_unrated_as_zero() -> None:
    ids = ["a", "b", "c", "d"]
    ratings = {"q": {"a": 4, "c": 1}}
    scores = np.array([0.5, 0.9, 0.1, 0.8], dtype=np.float32)  # unrated b and d score highest
    queries = [Query("q", "anything", "train")]
    rated = evaluate(lambda _n, _t: scores, queries, ratings, ids, full_corpus=False)
    full = evaluate(lambda _n, _t: scores, queries, ratings, ids, full_corpus=True)
    assert rated.ndcg5 == pytest.approx(100.0)
    assert rated.precision5[3] == pytest.approx(20.0)
    expected = (4 / math.log2(4) + 1 / math.log2(5)) / (4 + 1 / math.log2(3))
    assert full.ndcg5 == pytest.approx(100 * expected)


def test_reads_quoted_query_ids_and_splits(tmp_path: Path) -> None:
    qrels = tmp_path / "train.tsv"
    qrels.write_text('query-id\tcorpus-id\tscore\n"""as is"" wording"\tc1\t3\nplain\tc2\t0\n',
                     encoding="utf-8")
    assert read_ratings(qrels) == {'"as is" wording': {"c1": 3}, "plain": {"c2": 0}}
    queries = tmp_path / "queries.jsonl"
    queries.write_text(json.dumps({"_id": "plain", "text": "plain words",
                                   "metadata": {"split": "valid"}}) + "\n", encoding="utf-8")
    assert read_queries(queries) == [Query("plain", "plain words", "valid")]


def made_up_benchmark(folder: Path) -> list[str]:
    clauses = {
        "c1": "The escrow agent releases the source code if the licensor becomes insolvent.",
        "c2": "Source code is deposited with an escrow agent and updated each quarter.",
        "c3": "Invoices are payable within thirty days of receipt.",
        "c4": "The laws of Ontario govern this agreement.",
        "c5": "Late invoices carry interest at one percent each month.",
    }
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in clauses.items()),
        encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in [
        {"_id": "escrow", "text": "source code escrow release", "metadata": {"split": "train"}},
        {"_id": "payment", "text": "payment of invoices", "metadata": {"split": "valid"}},
    ]), encoding="utf-8")
    (folder / "train.tsv").write_text(
        "query-id\tcorpus-id\tscore\nescrow\tc1\t4\nescrow\tc2\t3\nescrow\tc3\t0\n",
        encoding="utf-8")
    (folder / "valid.tsv").write_text(
        "query-id\tcorpus-id\tscore\npayment\tc3\t4\npayment\tc5\t2\npayment\tc4\t0\n",
        encoding="utf-8")
    return ["--corpus", str(folder / "corpus.jsonl"), "--queries", str(folder / "queries.jsonl"),
            "--qrels", str(folder / "train.tsv"), str(folder / "valid.tsv")]


def test_run_prints_every_method_for_every_split(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(made_up_benchmark(tmp_path))
    assert run(args, HashingEmbedder(), None) == 0
    out = capsys.readouterr().out
    assert "corpus: 5 clauses, 2 queries" in out
    for heading in ("train: 1 queries, rated clauses", "train: 1 queries, full corpus",
                    "valid: 1 queries, rated clauses", "valid: 1 queries, full corpus"):
        assert heading in out
    rows = [line for line in out.splitlines() if line.startswith("  plain BM25")]
    assert len(rows) == 4
    # each of these made-up queries has its best clause found by BM25 at rank 1
    assert all(row.split()[2] == "100.0" for row in rows)
    assert out.count("  shipped (") == 4
    assert "latency of the shipped search (base model) over 5 clauses" in out
    assert "  wall p50 " in out and "  CPU  p50 " in out
    assert "fine-tuned" not in out


class OtherHashingEmbedder(HashingEmbedder):
    """A second fake model: the same vectors under another name (its own cache keys)."""

    name = "hashing-other"


def test_a_fine_tuned_model_adds_its_rows_beside_the_base_models(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(made_up_benchmark(tmp_path))
    tuned = OtherHashingEmbedder()
    assert run(args, HashingEmbedder(), None, tuned) == 0
    out = capsys.readouterr().out
    assert out.count("  plain embeddings (cosine), fine-tuned") == 4
    assert out.count(", fine-tuned") == 8  # plain and shipped, in each of the four tables
    assert out.count("  plain BM25") == 4  # BM25 has no model: printed once per table
    assert "latency of the shipped search (fine-tuned) over 5 clauses" in out
    assert tuned.calls  # the tuned model embedded the corpus and queries itself


def test_tables_of_queries_the_model_trained_on_say_they_are_in_sample(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "training.json").write_text(json.dumps({"trained_queries": ["payment"]}),
                                         encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([*made_up_benchmark(tmp_path), "--model", str(model),
                              "--latency-rounds", "0"])
    assert run(args, HashingEmbedder(), None, OtherHashingEmbedder()) == 0
    out = capsys.readouterr().out
    train, valid = out.split("\nvalid: ", 1)
    assert "in-sample" not in train
    assert valid.count("in-sample: the model trained on 1 of these 1 queries") == 2


def test_sweep_prints_the_variants(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([*made_up_benchmark(tmp_path), "--window", "16", "--sweep",
                              "--sweep-windows", "16", "--sweep-weights", "0.5",
                              "--sweep-feedback", "2:0.5"])
    assert run(args, HashingEmbedder(), None) == 0
    out = capsys.readouterr().out
    for row in ("  w=16 max-pooled embeddings only", "  w=16 sem=0.50 ", "prf=2x0.50",
                "reciprocal-rank fusion", "best window + whole clause"):
        assert out.count(row) == 4
