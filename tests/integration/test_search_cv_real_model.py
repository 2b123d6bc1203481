"""The search-cv command on the real base model: two folds of a made-up benchmark."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from server.search_cv import add_arguments, run

pytestmark = pytest.mark.model

CLAUSES = {
    "escrow-1": "The custodian hands the code to the buyer if the vendor becomes insolvent.",
    "escrow-2": "Build files are deposited with a custodian and refreshed every quarter.",
    "fees": "Each invoice is payable within thirty days.",
    "cap-1": "Neither side owes more than the fees paid in the prior twelve months.",
    "cap-2": "Liability is limited to the amounts paid under this order.",
    "law": "This agreement is governed by the laws of Ontario.",
    "renew": "The term renews each year unless a side gives ninety days' notice.",
    "notice": "Notices are given in writing to the addresses above.",
    "audit": "The buyer may audit the vendor's records once a year.",
    "venue": "Disputes are heard by the courts of Toronto.",
    "assign": "Neither side may assign this agreement without consent.",
}
QUERIES = [("escrow", "code escrow", "train", "IP"), ("cap", "limit on damages", "train", "LoL"),
           ("renewal", "automatic renewal", "train", "Term"),
           ("notices", "how notices are given", "valid", "Boilerplate")]
# each query's 0-rated clauses are its own: a batch never holds a clause twice
RATINGS = {"escrow": {"escrow-1": 4, "escrow-2": 2, "fees": 0},
           "cap": {"cap-1": 3, "cap-2": 2, "law": 0},
           "renewal": {"renew": 4, "audit": 0},
           "notices": {"notice": 3, "venue": 0, "assign": 0}}


def made_up(folder: Path) -> list[str]:
    """A tiny BEIR benchmark in our own words; returns the command's data arguments."""
    (folder / "corpus.jsonl").write_text("".join(
        json.dumps({"_id": k, "text": v}) + "\n" for k, v in CLAUSES.items()), encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"_id": q, "text": t, "metadata": {"split": s, "category": c}}) + "\n"
        for q, t, s, c in QUERIES), encoding="utf-8")
    header = "query-id\tcorpus-id\tscore\n"
    for split, names in (("train", ["escrow", "cap", "renewal"]), ("valid", ["notices"])):
        (folder / f"{split}.tsv").write_text(header + "".join(
            f"{q}\t{c}\t{r}\n" for q in names for c, r in RATINGS[q].items()), encoding="utf-8")
    return ["--corpus", str(folder / "corpus.jsonl"), "--queries", str(folder / "queries.jsonl"),
            "--qrels", str(folder / "train.tsv"), str(folder / "valid.tsv"),
            "--folds", "2", "--out", str(folder / "cv"), "--learning-rate", "1e-4",
            "--threads", "1", "--semantic-weights", "0.9", "--feedback", "0:0"]


def parse(arguments: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(arguments)


def test_each_fold_trains_on_the_other_folds_and_a_second_run_reuses_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(made_up(tmp_path))
    assert run(args, "all-MiniLM-L6-v2", tmp_path / "cache") == 0
    out = capsys.readouterr().out
    assert "4 queries in 2 folds" in out
    assert out.count("steps in") == 2
    records = [json.loads(p.read_text(encoding="utf-8"))
               for p in sorted((tmp_path / "cv").glob("*/fold-*/training.json"))]
    assert len(records) == 2
    held = [set(r["held"]) for r in records]
    assert held[0] | held[1] == {q for q, *_ in QUERIES} and not held[0] & held[1]
    assert all(not set(r["fit"]) & set(r["held"]) for r in records)
    for label in ("base: plain BM25", "base: w=254 sem=0.90 prf=10x2.00",
                  "tuned: w=254 sem=0.90 prf=10x2.00", "tuned: w=254 sem=0.90 ",
                  "tuned: knobs chosen on the other folds"):
        assert label in out
    for text in (*CLAUSES.values(), *(t for _, t, *_ in QUERIES)):
        assert text not in out  # counts and figures only

    assert run(args, "all-MiniLM-L6-v2", tmp_path / "cache") == 0
    again = capsys.readouterr().out
    assert "steps in" not in again  # both folds' models and scores were kept
    assert again.split("cross-validated")[1] == out.split("cross-validated")[1]

    corpus = parse([*made_up(tmp_path), "--scope", "corpus"])
    assert run(corpus, "all-MiniLM-L6-v2", tmp_path / "cache") == 0
    whole = capsys.readouterr().out
    assert "steps in" not in whole and whole.count("queries scored under") == 2
    assert "search over the whole corpus" in whole

    halfway = parse([*made_up(tmp_path), "--base-share", "0.5"])
    assert run(halfway, "all-MiniLM-L6-v2", tmp_path / "cache") == 0
    blended = capsys.readouterr().out
    assert "steps in" not in blended  # the trained fold models are blended, not trained again
    assert blended.count("moved 0.50 back toward the base") == 2
    assert len(list((tmp_path / "cv").glob("*base_share=0.5/fold-*/model.safetensors"))) == 2

    recipes = parse([*made_up(tmp_path), "--compare", "base", "learning_rate=0.0001",
                     "learning_rate=0.0001,base_share=0.5"])
    assert run(recipes, "all-MiniLM-L6-v2", tmp_path / "cache") == 0
    table = capsys.readouterr().out.split("recipes cross-validated")[1]
    assert "  base " in table and "  learning_rate=0.0001,base_share=0.5 " in table
    assert "(gain: per query, over base)" in table
    missing = parse([*made_up(tmp_path), "--compare", "base", "epochs=9"])
    assert run(missing, "all-MiniLM-L6-v2", tmp_path / "cache") == 2
    assert "recipe epochs=9: fold 1 has not been scored" in capsys.readouterr().err
