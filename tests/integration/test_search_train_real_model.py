"""The search-train command on the real base model: one step on a made-up benchmark."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from server import create_app
from server.adapters.embedding import SentenceTransformerEmbedder
from server.api.search import EXTENSION
from server.search_train import SplitLeak, add_arguments, file_digest, run
from server.settings import Settings
from tests.conftest import FIXTURES

pytestmark = pytest.mark.model

CLAUSES = {
    "escrow-1": "The custodian hands the code to the buyer if the vendor becomes insolvent.",
    "escrow-2": "Build files are deposited with a custodian and refreshed every quarter.",
    "fees": "Each invoice is payable within thirty days.",
    "cap-1": "Neither side owes more than the fees paid in the prior twelve months.",
    "law": "This agreement is governed by the laws of Ontario.",
    "renew": "The term renews each year unless a side gives ninety days' notice.",
}
QUERIES = [("escrow", "code escrow", "train"), ("cap", "limit on damages", "train"),
           ("renewal", "automatic renewal", "train"), ("notice", "how notices are given", "valid")]
TRAIN = [("escrow", "escrow-1", 4), ("escrow", "fees", 0), ("cap", "cap-1", 3), ("cap", "law", 0)]


def made_up(folder: Path, train: list[tuple[str, str, int]]) -> list[str]:
    """A tiny BEIR benchmark in our own words; returns the command's data arguments."""
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": k, "text": v}) + "\n" for k, v in CLAUSES.items()), encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"_id": q, "text": t, "metadata": {"split": s}}) + "\n"
        for q, t, s in QUERIES), encoding="utf-8")
    header = "query-id\tcorpus-id\tscore\n"
    (folder / "train.tsv").write_text(header + "".join(f"{q}\t{c}\t{r}\n" for q, c, r in train),
                                      encoding="utf-8")
    (folder / "valid.tsv").write_text(header + "notice\tlaw\t0\n", encoding="utf-8")
    return ["--corpus", str(folder / "corpus.jsonl"), "--queries", str(folder / "queries.jsonl"),
            "--qrels", str(folder / "train.tsv"), "--exclude", str(folder / "valid.tsv")]


def parse(arguments: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(arguments)


def test_one_training_step_writes_a_model_search_can_load(
        tmp_path: Path, real_embedder: SentenceTransformerEmbedder) -> None:
    out = tmp_path / "model"
    args = parse([*made_up(tmp_path, TRAIN), "--out", str(out), "--learning-rate", "1e-4",
                  "--threads", "1"])
    assert run(args, "all-MiniLM-L6-v2", tmp_path / "cache") == 0
    record = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert record["steps"] == 1 and record["examples"] == 2
    assert record["versions"]["torch"] and record["versions"]["sentence-transformers"]
    assert len(record["qrels_sha256"]["train.tsv"]) == 64
    tuned = SentenceTransformerEmbedder(str(out))
    # same file names and sizes as the base model, yet its own cache key
    assert tuned.name != real_embedder.name
    texts = list(CLAUSES.values())
    moved = np.sum(tuned.embed(texts) * real_embedder.embed(texts), axis=1)
    assert np.all(moved < 1 - 1e-6) and np.all(moved > 0.9)  # one small step, not a new model
    searches_with(str(out), tuned.name, real_embedder, tmp_path)
    again = tmp_path / "again"
    args = parse([*made_up(tmp_path, TRAIN), "--out", str(again), "--learning-rate", "1e-4",
                  "--threads", "1"])
    assert run(args, "all-MiniLM-L6-v2", tmp_path / "cache") == 0
    # the same seed, data and thread count give the same weights, byte for byte
    assert file_digest(again / "model.safetensors") == file_digest(out / "model.safetensors")


def searches_with(model: str, name: str, engine_embedder: SentenceTransformerEmbedder,
                  tmp_path: Path) -> None:
    """REDLINE_SEARCH_MODEL: search reads with that model, the engine keeps its own."""
    settings = Settings(bank_dir=FIXTURES / "bank", cache_dir=tmp_path / "app-cache",
                        search_model=model)
    app = create_app(settings, embedder=engine_embedder, load="now")
    response = app.test_client().get("/api/v1/clauses/search", query_string={"q": "training"})
    assert response.status_code == 200 and response.get_json()["results"]
    index = app.extensions[EXTENSION].index
    assert index.embedder.name == name != app.extensions["clausewise"].engine.embedder.name


def test_hold_out_compares_base_and_fine_tuned_on_unseen_train_queries(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    three = [*TRAIN, ("renewal", "renew", 3), ("renewal", "fees", 0)]
    args = parse([*made_up(tmp_path, three), "--out", str(tmp_path / "model"), "--holdout", "1",
                  "--threads", "1"])
    assert run(args, "all-MiniLM-L6-v2", tmp_path / "cache") == 0
    out = capsys.readouterr().out
    held = json.loads((tmp_path / "model" / "training.json").read_text(encoding="utf-8"))
    assert held["queries"] == 2 and len(held["held_out_queries"]) == 1
    assert "hold-out: 1 train queries" in out
    for label in ("base", "fine-tuned"):
        assert sum(line.strip().startswith(label) for line in out.splitlines()) == 3


def test_too_few_queries_to_contrast_stop_the_run(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    args = parse([*made_up(tmp_path, TRAIN[:2]), "--out", str(tmp_path / "model")])
    assert run(args, "all-MiniLM-L6-v2", tmp_path / "cache") == 2
    assert "at least two queries" in capsys.readouterr().err
    assert not (tmp_path / "model").exists()


def test_a_valid_query_in_the_training_ratings_stops_the_run(tmp_path: Path) -> None:
    leaked = [*TRAIN, ("notice", "law", 2)]
    args = parse([*made_up(tmp_path, leaked), "--out", str(tmp_path / "model")])
    with pytest.raises(SplitLeak):
        run(args, "all-MiniLM-L6-v2", tmp_path / "cache")
    assert not (tmp_path / "model").exists()
