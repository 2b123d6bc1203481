"""`python -m server search-bench`: clause search measured on a BEIR-format benchmark (ACORD).

Protocol (as in the ACORD paper): for each query, rank the clauses rated for it (every listed
pair was rated); NDCG@5 and NDCG@10 with linear gains (the rating 0..4), and precision@5 at
3, 4 and 5 stars (a rating of stars - 1, so 3 stars is a rating >= 2). The full-corpus figures
rank every clause of the corpus, with unrated clauses counted as rating 0.

Printed for plain BM25, plain embeddings (cosine, the model truncating long clauses) and the
shipped method (server/core/search.py), on the same data in one run, plus query latency.
With a re-ranker (`--reranker DIR`, a cross-encoder from `search-train-reranker`), rows of each
shipped first stage re-ranked at several depths follow: the re-ranker re-orders the first
stage's top k among the clauses being ranked (the rated ones, or the whole corpus).
Clause text is only read; what is written to disk is the cache of passage vectors.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from server.core.bm25 import BM25
from server.core.embedding import Embedder, Vectors
from server.core.matching import VectorCache
from server.core.search import (
    Document,
    Reranker,
    Reranking,
    Scores,
    SearchIndex,
    Tuning,
    cached_vectors,
    fuse,
)

STARS = (3, 4, 5)
Ratings = dict[str, dict[str, int]]  # query id -> clause id -> rating 0..4
Ranker = Callable[[int, str], Scores]  # (query number, query text) -> a score per clause
Rows = np.ndarray[tuple[int], np.dtype[np.intp]]


@dataclass(frozen=True)
class Pooled:
    """A ranker that must know which clauses are being ranked (a re-ranker reads the top k
    of those): (query number, query text, rows) -> a score per clause."""

    rank: Callable[[int, str, Rows], Scores]


class MemoReranker:
    """A re-ranker that scores each (query, passage) pair once per run (depths overlap)."""

    def __init__(self, reranker: Reranker) -> None:
        self.reranker = reranker
        self.memo: dict[tuple[str, str], float] = {}

    @property
    def name(self) -> str:
        """The wrapped re-ranker's name."""
        return self.reranker.name

    def relevance(self, query: str, passages: Sequence[str]) -> Scores:
        """The wrapped re-ranker's relevance, computed only for pairs not seen before."""
        todo = list(dict.fromkeys(p for p in passages if (query, p) not in self.memo))
        if todo:
            fresh = self.reranker.relevance(query, todo)
            self.memo.update({(query, p): float(s) for p, s in zip(todo, fresh, strict=True)})
        return np.array([self.memo[(query, p)] for p in passages], dtype=np.float32)


@dataclass(frozen=True)
class Query:
    """A benchmark query, with the metadata that groups it with its siblings."""

    id: str
    text: str
    split: str
    category: str = ""
    parent: str = ""  # the query it was derived from, if any (ACORD's parent_query_id)


@dataclass(frozen=True)
class Figures:
    """Mean metrics over a split's queries, in percent."""

    ndcg5: float
    ndcg10: float
    precision5: dict[int, float]  # by star level


def read_queries(path: Path) -> list[Query]:
    """queries.jsonl: {"_id", "text", "metadata": {"split", "category", "parent_query_id"}}."""
    queries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            metadata = record.get("metadata") or {}
            queries.append(Query(record["_id"], record["text"], metadata.get("split", ""),
                                 metadata.get("category") or "",
                                 metadata.get("parent_query_id") or ""))
    return queries


def read_ratings(path: Path) -> Ratings:
    """A qrels TSV (query-id, corpus-id, score, with a header row; ids may be quoted)."""
    ratings: Ratings = {}
    with path.open(encoding="utf-8", newline="") as rows:
        reader = csv.reader(rows, delimiter="\t")
        next(reader, None)
        for row in reader:
            if len(row) >= 3:
                ratings.setdefault(row[0], {})[row[1]] = int(row[2])
    return ratings


def read_all_ratings(paths: Sequence[Path]) -> Ratings:
    """The ratings of several qrels files (e.g. train and valid); a query in two stops."""
    merged: Ratings = {}
    for path in paths:
        ratings = read_ratings(path)
        twice = merged.keys() & ratings.keys()
        if twice:
            raise ValueError(f"{len(twice)} queries are rated in more than one qrels file")
        merged |= ratings
    return merged


def ndcg(ranked: Sequence[int], rated: Sequence[int], k: int) -> float:
    """NDCG@k with linear gains: `ranked` are the ratings in ranked order, `rated` all known."""
    def dcg(gains: Sequence[int]) -> float:
        return sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))

    ideal = dcg(sorted(rated, reverse=True))
    return dcg(ranked) / ideal if ideal > 0 else 0.0


def precision(ranked: Sequence[int], stars: int, k: int = 5) -> float:
    """Share of the top k rated at least `stars` stars (rating = stars - 1)."""
    return sum(1 for g in ranked[:k] if g >= stars - 1) / k


def evaluate(rank: Ranker | Pooled, queries: Sequence[Query], ratings: Ratings,
             ids: Sequence[str], full_corpus: bool) -> Figures:
    """Mean metrics of one ranker over the queries that have ratings."""
    return mean_figures(list(judge(rank, queries, ratings, ids, full_corpus).values()))


def mean_figures(judged: Sequence[Figures]) -> Figures:
    """The mean of per-query figures."""
    return Figures(float(np.mean([f.ndcg5 for f in judged])),
                   float(np.mean([f.ndcg10 for f in judged])),
                   {s: float(np.mean([f.precision5[s] for f in judged])) for s in STARS})


def judge(rank: Ranker | Pooled, queries: Sequence[Query], ratings: Ratings,
          ids: Sequence[str], full_corpus: bool) -> dict[str, Figures]:
    """Each rated query's metrics under one ranker (in percent), by query id."""
    row_of = {d: i for i, d in enumerate(ids)}
    judged = {}
    for number, query in enumerate(queries):
        known = ratings.get(query.id)
        if not known:
            continue
        if full_corpus:
            rows = np.arange(len(ids))
        else:
            rows = np.array([row_of[c] for c in known if c in row_of])
        scores = (rank.rank(number, query.text, rows) if isinstance(rank, Pooled)
                  else rank(number, query.text))
        order = rows[np.argsort(-scores[rows], kind="stable")][:10]
        ranked = [known.get(ids[r], 0) for r in order]
        judged[query.id] = Figures(100 * ndcg(ranked, list(known.values()), 5),
                                   100 * ndcg(ranked, list(known.values()), 10),
                                   {s: 100 * precision(ranked, s) for s in STARS})
    return judged


def _row(name: str, figures: Figures) -> str:
    stars = "  ".join(f"{figures.precision5[s]:5.1f}" for s in STARS)
    return f"  {name:<52} {figures.ndcg5:6.1f} {figures.ndcg10:7.1f}  {stars}"


HEADER = f"  {'method':<52} {'NDCG@5':>6} {'NDCG@10':>7}  {'P@5 3*':>5} {'4*':>5} {'5*':>5}"


@dataclass
class Bench:
    """The corpus, its indexes and the queries' embeddings, built once per run."""

    documents: list[Document]
    embedder: Embedder
    cache: VectorCache | None
    queries: list[Query]

    def __post_init__(self) -> None:
        self.ids = [d.id for d in self.documents]
        self.bm25 = BM25([d.text for d in self.documents])
        self.query_vectors = self.embedder.embed([q.text for q in self.queries])
        self.indexes: dict[int, SearchIndex] = {}
        # a clause that fits one window is that window: embedded once, for both methods
        shipped = self.index(Tuning())
        known = dict(zip(shipped.passages, shipped.vectors, strict=True))
        # plain embeddings: one vector per clause, the model truncating what overflows its window
        self.plain = cached_vectors(self.embedder, [d.text for d in self.documents],
                                    self.cache, "plain", known)

    def index(self, tuning: Tuning) -> SearchIndex:
        """The passage index for this tuning's window (embedded once, then cached)."""
        if tuning.window not in self.indexes:
            self.indexes[tuning.window] = SearchIndex(self.documents, self.embedder, self.cache,
                                                      tuning)
        return self.indexes[tuning.window]

    def rankers(self, tuning: Tuning) -> dict[str, Ranker]:
        """Plain BM25, plain embeddings and the shipped method."""
        return {
            "plain BM25": lambda _n, text: self.bm25.scores(text),
            "plain embeddings (cosine)": lambda n, _t: self.plain @ self.query_vectors[n],
            f"shipped ({describe(tuning)})": self.ranker(tuning),
        }

    def ranker(self, tuning: Tuning) -> Ranker:
        """The shipped method's fused scores under this tuning."""
        index = self.index(tuning).with_tuning(tuning)
        return lambda n, text: index.scores(text, self.query_vectors[n])[0]

    def sweep(self, base: Tuning, windows: Sequence[int], weights: Sequence[float],
              feedback: Sequence[tuple[int, float]]) -> dict[str, Ranker]:
        """Variants of the shipped method, for choosing its knobs on train."""
        variants: dict[str, Ranker] = {}
        for window in windows:
            index = self.index(replace(base, window=window))
            variants[f"w={window} max-pooled embeddings only"] = _semantic(index,
                                                                         self.query_vectors)
            for weight in weights:
                tuning = replace(base, window=window, semantic_weight=weight)
                variants[describe(tuning)] = self.ranker(tuning)
        for docs, weight in feedback:
            tuning = replace(base, feedback_docs=docs, feedback_weight=weight)
            variants[describe(tuning)] = self.ranker(tuning)
        index = self.index(base)
        variants[f"w={base.window} reciprocal-rank fusion"] = self._reciprocal_rank(index)
        variants[f"w={base.window} best window + whole clause, sem="
                 f"{base.semantic_weight:.2f}"] = self._with_whole(index, base.semantic_weight)
        return variants

    def reranked(self, tuning: Tuning, reranker: Reranker, reranking: Reranking) -> Pooled:
        """The shipped method under this tuning, its top `depth` re-ranked."""
        index = self.index(tuning).with_tuning(tuning).with_reranker(reranker, reranking)

        def rank(n: int, text: str, rows: Rows) -> Scores:
            first = index.scores(text, self.query_vectors[n])[0]
            pool = rows[np.argsort(-first[rows], kind="stable")][:reranking.depth]
            final, _ = index.rerank_pool(text, self.query_vectors[n], pool, first[pool])
            scores = first.copy()
            # the pool above every other clause, in the re-ranker's order (ties: the first
            # stage's, as search breaks them)
            ranked = pool[np.argsort(-final, kind="stable")]
            scores[ranked] = float(first.max()) + 1 + np.arange(len(ranked), 0, -1)
            return scores
        return Pooled(rank)

    def _reciprocal_rank(self, index: SearchIndex, k: int = 60) -> Ranker:
        """Reciprocal-rank fusion of max-pooled embeddings and BM25 (the usual alternative)."""
        def rank(n: int, text: str) -> Scores:
            fused = np.zeros(len(index), dtype=np.float32)
            semantic = index.semantic_scores(self.query_vectors[n])
            for scores in (semantic, index.lexical_scores(text)):
                ranks = np.empty(len(scores), dtype=np.float32)
                ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
                fused += 1.0 / (k + ranks)
            return fused
        return rank

    def _with_whole(self, index: SearchIndex, weight: float) -> Ranker:
        """The best window's cosine averaged with the whole clause's (truncated) cosine."""
        def rank(n: int, text: str) -> Scores:
            query = self.query_vectors[n]
            semantic = (index.semantic_scores(query) + self.plain @ query) / 2
            return fuse(semantic, index.lexical_scores(text), weight)
        return rank


def describe(tuning: Tuning) -> str:
    """The knobs in a short row label."""
    text = f"w={tuning.window} sem={tuning.semantic_weight:.2f}"
    if tuning.feedback_docs:
        text += f" prf={tuning.feedback_docs}x{tuning.feedback_weight:.2f}"
    return text


def _semantic(index: SearchIndex, query_vectors: Vectors) -> Ranker:
    return lambda n, _text: index.semantic_scores(query_vectors[n])


def latency(index: SearchIndex, queries: Sequence[Query], rounds: int
            ) -> dict[str, tuple[float, float]]:
    """p50 and p95 milliseconds of a full search (embed the query, score all, top 10),
    in wall time and in CPU time of all threads (which a shared machine does not inflate)."""
    wall, cpu = [], []
    for _ in range(rounds):
        for query in queries:
            start, start_cpu = time.perf_counter(), time.process_time()
            index.search(query.text, limit=10)
            wall.append(1000 * (time.perf_counter() - start))
            cpu.append(1000 * (time.process_time() - start_cpu))
    return {"wall": _percentiles(wall), "CPU": _percentiles(cpu)}


def _percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def run(args: argparse.Namespace, embedder: Embedder, cache: VectorCache | None,
        tuned: Embedder | None = None, reranker: Reranker | None = None) -> int:
    """Print the figures for each qrels file, then the latency of the shipped method.

    With a `tuned` embedder (a fine-tuned model, `--model`), its plain embeddings and the
    shipped method on it are rows of the same tables; with a `reranker` (`--reranker`), each
    shipped first stage re-ranked at each depth and weight asked for.
    """
    from server.adapters.precedents import read_precedents

    documents = read_precedents(Path(args.corpus))
    queries = read_queries(Path(args.queries))
    if args.split:
        queries = [q for q in queries if q.split == args.split]
    tuning = Tuning()
    if args.window:
        tuning = replace(tuning, window=args.window)
    if args.semantic_weight is not None:
        tuning = replace(tuning, semantic_weight=args.semantic_weight)
    if args.feedback_docs is not None:
        tuning = replace(tuning, feedback_docs=args.feedback_docs)
    if args.feedback_weight is not None:
        tuning = replace(tuning, feedback_weight=args.feedback_weight)
    started = time.perf_counter()
    bench = Bench(documents, embedder, cache, queries)
    rankers: dict[str, Ranker | Pooled] = dict(bench.rankers(tuning))
    tuned_bench = Bench(documents, tuned, cache, queries) if tuned else None
    if tuned_bench:
        rankers |= {f"{name}, fine-tuned": rank
                    for name, rank in tuned_bench.rankers(tuning).items() if "BM25" not in name}
    memo = MemoReranker(reranker) if reranker else None
    if memo:
        firsts = {"shipped": bench} | ({"shipped, fine-tuned": tuned_bench} if tuned_bench
                                       else {})
        for label, first in firsts.items():
            for depth in args.rerank_depths:
                for weight in args.rerank_weights:
                    how = "" if weight >= 1 else f", fused {weight:.2f}"
                    rankers[f"{label} + re-ranker top {depth}{how}"] = first.reranked(
                        tuning, memo, Reranking(depth, weight))
    if args.sweep:
        feedback = [(int(k), float(w)) for k, w in (f.split(":") for f in args.sweep_feedback)]
        rankers |= bench.sweep(tuning, args.sweep_windows, args.sweep_weights, feedback)
    print(f"corpus: {len(documents)} clauses, {len(queries)} queries, "
          f"indexed in {time.perf_counter() - started:.0f} s")
    trained = trained_queries(Path(args.model)) if args.model else set()
    for path in args.qrels:
        ratings = read_ratings(Path(path))
        split = Path(path).stem
        if args.held_out:
            from server.search_train import hold_out

            ratings = hold_out(ratings, args.held_out, args.held_out_seed)[1]
            split += f", the {args.held_out} queries held out of training"
        chosen = [q for q in queries if q.id in ratings]
        rated_counts = [len(ratings[q.id]) for q in chosen]
        seen = sum(q.id in trained for q in chosen)
        for full in (False, True):
            scope = ("full corpus, unrated = 0" if full
                     else f"rated clauses per query, mean {statistics.mean(rated_counts):.0f}")
            print(f"\n{split}: {len(chosen)} queries, {scope}")
            if seen:
                print(f"  (fine-tuned rows in-sample: the model trained on {seen} of these "
                      f"{len(chosen)} queries; search-cv gives the held-out estimate)")
            print(HEADER)
            for name, rank in rankers.items():
                print(_row(name, evaluate(_by_query(rank, queries, chosen), chosen, ratings,
                                          bench.ids, full)))
    if args.latency_rounds:
        for label, timed in (("base model", bench), ("fine-tuned", tuned_bench)):
            if timed:
                print_latency(timed.index(tuning).with_tuning(tuning), queries,
                              args.latency_rounds, label)
        for depth in args.rerank_depths if reranker else ():
            index = bench.index(tuning).with_tuning(tuning).with_reranker(
                reranker, Reranking(depth, args.rerank_weights[0]))
            print_latency(index, queries, args.latency_rounds,
                          f"base model + re-ranker top {depth}")
    return 0


def trained_queries(model_dir: Path) -> set[str]:
    """The queries a fine-tuned model was trained on, from its training.json (if recorded)."""
    try:
        record = json.loads((model_dir / "training.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return set(record.get("trained_queries", []))


def print_latency(index: SearchIndex, queries: Sequence[Query], rounds: int,
                  label: str = "base model") -> None:
    """Query latency with one torch thread, as each gunicorn worker runs (deploy/)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a one-query batch gains nothing from more; see BENCHMARKS.md
    try:
        print(f"\nlatency of the shipped search ({label}) over {len(index)} clauses (embed "
              f"query + score all + top 10{' + re-rank' if index.reranker else ''}), "
              f"{len(queries)} queries x {rounds}, 1 torch thread:")
        for clock, (p50, p95) in latency(index, queries, rounds).items():
            print(f"  {clock:<4} p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    finally:
        torch.set_num_threads(threads)


def _by_query(rank: Ranker | Pooled, queries: Sequence[Query], chosen: Sequence[Query]
              ) -> Ranker | Pooled:
    """A ranker indexed by position in `chosen`, calling one indexed by position in `queries`."""
    position = {q.id: i for i, q in enumerate(queries)}
    if isinstance(rank, Pooled):
        pooled = rank.rank
        return Pooled(lambda n, text, rows: pooled(position[chosen[n].id], text, rows))
    plain = rank
    return lambda n, text: plain(position[chosen[n].id], text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The subcommand's options."""
    p.add_argument("--corpus", required=True, help="BEIR corpus.jsonl (or its folder)")
    p.add_argument("--queries", required=True, help="BEIR queries.jsonl")
    p.add_argument("--qrels", required=True, nargs="+", help="one or more qrels TSV files")
    p.add_argument("--split", help="only queries whose metadata split is this (e.g. valid)")
    p.add_argument("--model", help="a fine-tuned model directory to compare with the base model "
                   "(python -m server search-train)")
    p.add_argument("--reranker", help="a re-ranker (cross-encoder) directory to add rows for "
                   "(python -m server search-train-reranker)")
    p.add_argument("--reranker-fp32", action="store_true",
                   help="run the re-ranker in fp32 (default: int8, as the service does)")
    p.add_argument("--rerank-depths", type=int, nargs="+", default=[10, 20, 30],
                   help="first-stage top k the re-ranker re-orders, one row each")
    p.add_argument("--rerank-weights", type=float, nargs="+",
                   default=sorted({Reranking().weight, 1.0}),
                   help="re-ranker's share of the final score, one row each (1: it alone); "
                   "the first is timed")
    p.add_argument("--held-out", type=int, default=0, metavar="N",
                   help="rank only the N queries of each qrels file that search-train and "
                   "search-train-reranker hold out with --holdout N (models trained without them)")
    p.add_argument("--held-out-seed", type=int, default=0, help="the training runs' --seed")
    p.add_argument("--window", type=int, help="passage window in model tokens")
    p.add_argument("--semantic-weight", type=float, help="weight of embeddings in the fusion")
    p.add_argument("--latency-rounds", type=int, default=3,
                   help="times each query is searched for the latency figures (0: skip)")
    p.add_argument("--feedback-docs", type=int, help="pseudo-relevance feedback documents")
    p.add_argument("--feedback-weight", type=float, help="pseudo-relevance feedback weight")
    p.add_argument("--sweep", action="store_true", help="also print variants (for tuning)")
    p.add_argument("--sweep-windows", type=int, nargs="+", default=[128, 254])
    p.add_argument("--sweep-weights", type=float, nargs="+",
                   default=[0.3, 0.5, 0.6, 0.7, 0.8, 0.9])
    p.add_argument("--sweep-feedback", nargs="*", default=["3:0.5", "5:0.5", "5:1.0", "10:1.0"],
                   metavar="DOCS:WEIGHT", help="pseudo-relevance feedback variants")
