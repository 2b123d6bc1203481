"""search-bench's re-ranked rows, its hold-out option and the memo of re-ranker scores."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest

from server.search_bench import MemoReranker, add_arguments, run
from tests.fakes import HashingEmbedder
from tests.unit.test_search_bench import made_up_benchmark
from tests.unit.test_search_rerank import FavouringReranker


def rows(out: str, table: str, method: str) -> list[str]:
    """The rows of a method in the table whose heading starts with `table`."""
    found, inside = [], False
    for line in out.splitlines():
        if not line.startswith("  "):
            inside = line.startswith(table)
        elif inside and line.strip().startswith(method):
            found.append(line)
    return found


def ndcg5(row: str) -> float:
    return float(row.split()[-5])


def test_reranked_rows_reorder_only_the_top_k_of_the_rated_clauses(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([*made_up_benchmark(tmp_path), "--rerank-depths", "1", "3",
                              "--rerank-weights", "1", "--latency-rounds", "1"])
    # the fake favours "invoices": clause c3, rated 0 for the escrow query
    assert run(args, HashingEmbedder(), None, None, FavouringReranker("invoices")) == 0
    out = capsys.readouterr().out
    shipped = rows(out, "train: 1 queries, rated", "shipped (")
    top1 = rows(out, "train: 1 queries, rated", "shipped + re-ranker top 1")
    top3 = rows(out, "train: 1 queries, rated", "shipped + re-ranker top 3")
    assert len(shipped) == len(top1) == len(top3) == 1
    assert ndcg5(top1[0]) == ndcg5(shipped[0]) > 90  # a pool of one changes nothing
    # the 0-rated invoice clause is lifted to the top; the others keep the first stage's order
    lifted = (3 / math.log2(3) + 4 / math.log2(4)) / (4 + 3 / math.log2(3))
    assert ndcg5(top3[0]) == pytest.approx(100 * lifted, abs=0.05)
    assert out.count("  shipped + re-ranker top") == 8  # two depths in each of the four tables
    assert "latency of the shipped search (base model + re-ranker top 3) over 5 clauses" in out


def test_held_out_ranks_only_the_queries_training_held_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([*made_up_benchmark(tmp_path), "--held-out", "1",
                              "--latency-rounds", "0"])
    assert run(args, HashingEmbedder(), None) == 0
    out = capsys.readouterr().out
    assert "train, the 1 queries held out of training: 1 queries, rated" in out
    assert "valid, the 1 queries held out of training: 1 queries, rated" in out


def test_the_memo_scores_each_pair_once() -> None:
    fake = FavouringReranker()
    memo = MemoReranker(fake)
    first = memo.relevance("q", ["a mutual cap", "no cap"])
    again = memo.relevance("q", ["no cap", "a mutual cap", "mutual"])
    assert again.tolist() == [first[1], first[0], 1.0]
    assert fake.calls == [["a mutual cap", "no cap"], ["mutual"]]
    assert memo.name == fake.name
