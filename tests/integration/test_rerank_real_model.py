"""search-train-reranker on the real base model: a tiny cross-encoder that re-orders search."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from server.adapters.precedents import read_precedents
from server.adapters.reranker import CrossEncoderReranker
from server.core.search import Reranking, SearchIndex, Tuning
from server.rerank_train import add_arguments, run
from server.search_train import file_digest

pytestmark = pytest.mark.model

# In our own words. The query's words appear in the decoy, not in the clause that answers it.
CLAUSES = {
    "decoy": "The limit on damages heading of this schedule is left blank on purpose.",
    "cap": "Neither side owes the other more than the fees paid in the prior twelve months.",
    "law": "This agreement is governed by the laws of Ontario.",
}
QUERY = "limit on damages"
TRAIN = [("cap-q", "cap", 4), ("cap-q", "decoy", 0), ("cap-q", "law", 0)]


def made_up(folder: Path) -> list[str]:
    """A tiny BEIR benchmark; returns the command's data arguments."""
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": k, "text": v}) + "\n" for k, v in CLAUSES.items()), encoding="utf-8")
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "cap-q", "text": QUERY, "metadata": {"split": "train"}}) + "\n",
        encoding="utf-8")
    header = "query-id\tcorpus-id\tscore\n"
    (folder / "train.tsv").write_text(header + "".join(f"{q}\t{c}\t{r}\n" for q, c, r in TRAIN),
                                      encoding="utf-8")
    return ["--corpus", str(folder / "corpus.jsonl"), "--queries", str(folder / "queries.jsonl"),
            "--qrels", str(folder / "train.tsv")]


def train_tiny(folder: Path, out: Path) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    # a few steps at a high rate: enough to learn three pairs, seconds on one thread
    args = parser.parse_args([*made_up(folder), "--out", str(out), "--epochs", "8",
                              "--batch-size", "3", "--learning-rate", "1e-4",
                              "--max-tokens", "48"])
    assert run(args, "all-MiniLM-L6-v2", folder / "cache") == 0


def test_a_tiny_trained_reranker_reorders_search(tmp_path: Path) -> None:
    from server.adapters.embedding import SentenceTransformerEmbedder

    out = tmp_path / "reranker"
    train_tiny(tmp_path, out)
    record = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert record["pairs"] == 3 and record["steps"] == 8 and record["recipe"]["max_tokens"] == 48
    reranker = CrossEncoderReranker(out)
    assert reranker.max_tokens == 48
    relevance = reranker.relevance(QUERY, [CLAUSES["cap"], CLAUSES["decoy"]])
    assert relevance[0] > 0.5 > relevance[1]
    # int8 (the default) reads as fp32 does, within a few hundredths
    fp32 = CrossEncoderReranker(out, int8=False)
    assert fp32.name == "reranker" and reranker.name == "reranker:int8"
    exact = fp32.relevance(QUERY, [CLAUSES["cap"], CLAUSES["decoy"]])
    assert abs(exact - relevance).max() < 0.05 and not (exact == relevance).all()

    documents = read_precedents(tmp_path / "corpus.jsonl")
    plain = SearchIndex(documents, SentenceTransformerEmbedder(), tuning=Tuning(feedback_docs=0))
    first = [h.document.id for h in plain.search(QUERY, 3)]
    assert first.index("decoy") < first.index("cap")  # the shared words win the first stage
    hits = plain.with_reranker(reranker, Reranking(depth=3, weight=1.0)).search(QUERY, 3)
    # int8 quantizes activations per batch, so a score moves a little with its batch-mates
    assert hits[0].document.id == "cap"
    assert hits[0].relevance == pytest.approx(relevance[0], abs=0.02)

    again = tmp_path / "again"
    train_tiny(tmp_path, again)  # same seed and data: the same weights, byte for byte
    assert file_digest(again / "model.safetensors") == file_digest(out / "model.safetensors")
