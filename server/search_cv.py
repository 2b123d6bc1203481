"""`python -m server search-cv`: the fine-tuned search measured by K-fold cross-validation.

Why: valid has 6 queries (one query moves its mean by several points) and a hold-out of 10
train queries is one draw, so neither can choose between training recipes. Here every
query of train and valid is held out exactly once:
- folds are made over queries, siblings kept together: queries that share a parent query
  (ACORD's `parent_query_id`) or whose 3-star-and-up clauses overlap by at least
  `--sibling-overlap` (Jaccard) are one group, and a group never straddles two folds, so a
  model is never scored on a near-copy of a query it trained on. Categories cannot be kept
  whole (ACORD's liability category holds most queries), so each category is spread evenly
  over the folds instead, making each fold look like the whole.
- per fold, the base model is fine-tuned (`search-train`'s recipe, chosen by the same flags) on
  the other folds' queries only, and search is scored on the fold's queries (rated protocol,
  as `search-bench`), under a grid of search knobs (semantic weight, feedback), beside the
  base model on the same queries.
- to spare embedding the whole corpus with each fold's model, search runs over the clauses
  rated for any of the fold's queries (`--scope fold`, about half the corpus); for the base
  model this gives the whole corpus's figures within 0.3 NDCG (`--scope corpus` searches the
  whole corpus). Restricting each query to its own rated clauses would not do: feedback drawn
  from that narrower pool measured 5 points lower.
- the figures are means over all queries, with the spread of the fold means; a knob setting
  chosen on the same queries it is scored on flatters itself, so a nested row picks each
  fold's knobs on the other folds' queries only.

Models and per-query figures are kept under `--out` (default `.cache/search-cv`, git-ignored),
one directory per recipe and fold, so a run that stops resumes where it was and a finished
fold is not trained again. Logs and output carry counts, fold numbers and figures, never
clause or query text.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

from server.core.search import Document, SearchIndex, Tuning
from server.search_bench import (
    Bench,
    Query,
    Ranker,
    Ratings,
    describe,
    judge,
    read_all_ratings,
    read_queries,
)
from server.search_train import (
    Rated,
    Recipe,
    add_recipe_arguments,
    blend,
    fine_tune,
    load_model,
    rated_windows,
    recipe_from,
    versions,
)

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from server.core.embedding import Embedder, Vectors
    from server.core.matching import VectorCache

log = logging.getLogger(__name__)
DEFAULT_OUT = Path(".cache/search-cv")
Scored = dict[str, tuple[float, float]]  # query id -> (NDCG@5, NDCG@10), in percent
BASE = "base"  # the directory under --out of the base model's scores (for --compare)
SCOPES = {"fold": "the clauses rated for the fold's queries", "corpus": "the whole corpus"}


@dataclass(frozen=True, slots=True)
class Fold:
    """One fold: the queries scored, and the ones its model is trained on."""

    number: int
    held: tuple[str, ...]
    fit: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Summary:
    """A method's cross-validated figures."""

    ndcg5: float  # mean over all queries, each scored by the fold that held it out
    ndcg10: float
    folds5: tuple[float, ...]  # the fold means of NDCG@5, fold by fold
    subset5: float | None  # mean NDCG@5 over a subset of queries (valid's), if any


def positives(ratings: Mapping[str, int], min_rating: int) -> set[str]:
    """The clauses rated at least `min_rating` for a query."""
    return {clause for clause, rating in ratings.items() if rating >= min_rating}


def jaccard(one: set[str], other: set[str]) -> float:
    """Shared share of two sets (0 when both are empty)."""
    union = one | other
    return len(one & other) / len(union) if union else 0.0


def sibling_groups(queries: Sequence[Query], ratings: Ratings, overlap: float,
                   min_rating: int = 2) -> list[tuple[str, ...]]:
    """The rated queries in groups that must share a fold: a shared parent query, or
    positives overlapping by at least `overlap`, joined transitively. Sorted, deterministic."""
    ids = sorted(q.id for q in queries if q.id in ratings)
    parent = {q.id: q.parent for q in queries}
    root = {query: query for query in ids}

    def find(query: str) -> str:
        while root[query] != query:
            query = root[query]
        return query

    for i, one in enumerate(ids):
        for other in ids[i + 1:]:
            same_parent = bool(parent[one]) and parent[one] == parent[other]
            shared = jaccard(positives(ratings[one], min_rating),
                             positives(ratings[other], min_rating))
            if same_parent or parent[one] == other or parent[other] == one or (
                    shared >= overlap > 0):
                root[find(other)] = find(one)
    groups: dict[str, list[str]] = {}
    for query in ids:
        groups.setdefault(find(query), []).append(query)
    return sorted(tuple(g) for g in groups.values())


def assign_folds(groups: Sequence[tuple[str, ...]], category: Mapping[str, str], count: int,
                 seed: int) -> list[Fold]:
    """Grouped K-fold stratified by category: groups dealt largest first (ties in a seeded
    order), each to the fold with the fewest queries of its category, then the fewest."""
    if count < 2 or count > len(groups):
        raise ValueError(f"{count} folds need at least 2 folds and as many sibling groups "
                         f"({len(groups)})")
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    order.sort(key=len, reverse=True)  # stable: the shuffle breaks ties
    held: list[list[str]] = [[] for _ in range(count)]
    by_category: list[Counter[str]] = [Counter() for _ in range(count)]
    for group in order:
        kind = Counter(category.get(q, "") for q in group).most_common(1)[0][0]
        target = min(range(count), key=lambda f: (by_category[f][kind], len(held[f]), f))
        held[target] += group
        by_category[target][kind] += len(group)
    everyone = sorted(q for group in groups for q in group)
    return [Fold(number, tuple(sorted(queries)), tuple(sorted(set(everyone) - set(queries))))
            for number, queries in enumerate(held, start=1)]


def knob_grid(weights: Sequence[float], feedback: Sequence[tuple[int, float]]) -> list[Tuning]:
    """The search knobs to score each model under (the shipped tuning first)."""
    shipped = Tuning()
    grid = [shipped]
    for weight in weights:
        for docs, strength in feedback:
            tuning = replace(shipped, semantic_weight=weight, feedback_docs=docs,
                             feedback_weight=strength if docs else 0.0)
            if tuning not in grid:
                grid.append(tuning)
    return grid


def rated_documents(documents: Sequence[Document], queries: Sequence[str], ratings: Ratings
                    ) -> list[Document]:
    """The documents rated for any of the queries, in corpus order."""
    wanted = {clause for query in queries for clause in ratings[query]}
    return [d for d in documents if d.id in wanted]


def score_tunings(index: SearchIndex, queries: Sequence[Query], embedder: Embedder,
                  ratings: Ratings, tunings: Sequence[Tuning]) -> dict[str, Scored]:
    """Each query's NDCG@5/@10 under each tuning of this index (search over the whole index,
    then each query's rated clauses ranked, as search-bench's rated protocol)."""
    vectors = embedder.embed([q.text for q in queries])
    ids = [d.id for d in index.documents]
    scored = {}
    for tuning in tunings:
        judged = judge(fused_ranker(index.with_tuning(tuning), vectors), queries, ratings, ids,
                       full_corpus=False)
        scored[describe(tuning)] = {q: (f.ndcg5, f.ndcg10) for q, f in judged.items()}
    return scored


def fused_ranker(index: SearchIndex, query_vectors: Vectors) -> Ranker:
    """Search's fused scores for the n-th query, its vector embedded beforehand."""
    return lambda n, text: index.scores(text, query_vectors[n])[0]


def summarise(scored: Scored, folds: Sequence[Fold], subset: set[str]) -> Summary:
    """Means over all queries, the fold means, and the mean over the subset."""
    folds5 = tuple(statistics.mean(scored[q][0] for q in fold.held) for fold in folds)
    inside = [scored[q][0] for q in scored if q in subset]
    return Summary(statistics.mean(s[0] for s in scored.values()),
                   statistics.mean(s[1] for s in scored.values()), folds5,
                   statistics.mean(inside) if inside else None)


def nested_choice(rows: Mapping[str, Scored], folds: Sequence[Fold]
                  ) -> tuple[Scored, list[str]]:
    """Per fold, the row with the best NDCG@5 + NDCG@10 on the other folds' queries, scored
    on this fold's: a knob choice that never sees the queries it is scored on."""
    chosen: Scored = {}
    labels = []
    for fold in folds:
        held = set(fold.held)

        def outside(label: str, held: set[str] = held) -> float:
            return statistics.mean(sum(s) for q, s in rows[label].items() if q not in held)

        label = max(rows, key=outside)
        labels.append(label)
        chosen |= {q: rows[label][q] for q in fold.held}
    return chosen, labels


def recipe_label(recipe: Recipe) -> str:
    """The recipe's knobs that differ from the default, as a directory name."""
    default = Recipe()
    changed = [f"{f.name}={getattr(recipe, f.name)}" for f in fields(recipe)
               if getattr(recipe, f.name) != getattr(default, f.name)]
    return ",".join(changed) or "default"


def holds_model(directory: Path, recipe: Recipe, fold: Fold) -> bool:
    """Whether the directory holds a model of this recipe trained on this fold's queries (a
    knob the record predates had its default value)."""
    try:
        record = json.loads((directory / "training.json").read_text(encoding="utf-8"))
        recorded = Recipe(**record["recipe"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return recorded == recipe and record.get("fit") == list(fold.fit)


def fold_model(fold: Fold, recipe: Recipe, rated: Sequence[Rated], texts: Mapping[str, str],
               ratings: Ratings, base_model: str, out: Path) -> Path:
    """The fold's fine-tuned model: read back when `out` holds one of this recipe and these
    queries; blended from the unblended recipe's fold model when that exists (`base_share`);
    trained (and written with its training.json) otherwise."""
    if holds_model(out, recipe, fold):
        log.info("fold %d: model of this recipe found, not trained again", fold.number)
        return out
    unblended = replace(recipe, base_share=0.0)
    source = out.parent.parent / recipe_label(unblended) / out.name
    started = time.perf_counter()
    if recipe.base_share and holds_model(source, unblended, fold):
        model = blended(source, base_model, recipe)
        record = json.loads((source / "training.json").read_text(encoding="utf-8"))
        losses, examples = record["losses"], record["examples"]
        print(f"fold {fold.number}: the {recipe_label(unblended)} model moved "
              f"{recipe.base_share:.2f} back toward the base", flush=True)
    else:
        fit = {q: ratings[q] for q in fold.fit}
        model, losses, examples = fine_tune(rated, texts, fit, recipe, base_model)
        print(f"fold {fold.number}: {len(fit)} queries, {examples} examples, {len(losses)} steps "
              f"in {time.perf_counter() - started:.0f} s; loss {losses[0]:.3f} -> "
              f"{losses[-1]:.3f}", flush=True)
    model.save(str(out), create_model_card=False)
    (out / "training.json").write_text(json.dumps({
        "recipe": asdict(recipe), "fold": fold.number, "fit": list(fold.fit),
        "held": list(fold.held), "examples": examples, "steps": len(losses), "losses": losses,
        "seconds": round(time.perf_counter() - started, 1), "base_model": base_model,
        "versions": versions()}, indent=1), encoding="utf-8")
    return out


def blended(source: Path, base_model: str, recipe: Recipe) -> SentenceTransformer:
    """A saved fine-tuned model moved `recipe.base_share` back toward the base model."""
    from server.adapters.embedding import model_path

    model = load_model(source, recipe.max_tokens)
    blend(model, load_model(model_path(base_model), recipe.max_tokens), recipe.base_share)
    return model


def fold_scores(fold: Fold, embedder: Embedder, documents: Sequence[Document],
                queries: Sequence[Query], ratings: Ratings, tunings: Sequence[Tuning],
                scope: str, cache: VectorCache | None,
                known: Mapping[str, Vectors] | None = None) -> dict[str, Scored]:
    """The fold's queries scored with this embedder under each tuning. Scope "fold" indexes
    only the clauses rated for any of the fold's queries (about half the corpus to embed)."""
    scored_here = set(fold.held)
    held = [q for q in queries if q.id in scored_here]
    if scope == "fold":
        documents = rated_documents(documents, fold.held, ratings)
    index = SearchIndex(documents, embedder, cache, tunings[0], known)
    return score_tunings(index, held, embedder, ratings, tunings)


def tuned_fold_scores(fold: Fold, model_dir: Path, documents: Sequence[Document],
                      queries: Sequence[Query], ratings: Ratings, tunings: Sequence[Tuning],
                      scope: str, cache: VectorCache) -> dict[str, Scored]:
    """The fold's queries scored with its fine-tuned model (the scores kept beside it)."""
    from server.adapters.embedding import SentenceTransformerEmbedder

    saved = model_dir / f"cv-scores-{scope}.json"
    labels = [describe(t) for t in tunings]
    kept = kept_scores(saved)
    if all(label in kept for label in labels):
        return {label: kept[label] for label in labels}
    started = time.perf_counter()
    scored = fold_scores(fold, SentenceTransformerEmbedder(str(model_dir)), documents, queries,
                         ratings, tunings, scope, cache)
    print(f"fold {fold.number}: {len(fold.held)} queries scored under {len(tunings)} tunings "
          f"(indexed and scored in {time.perf_counter() - started:.0f} s)", flush=True)
    keep_scores(saved, scored)
    return scored


def keep_scores(saved: Path, scored: Mapping[str, Scored]) -> None:
    """Write a fold's scores (ids and figures only), for a later run or --compare."""
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(scored), encoding="utf-8")


def kept_scores(saved: Path) -> dict[str, Scored]:
    """The scores a finished fold kept (empty when there are none)."""
    try:
        rows = json.loads(saved.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {label: {q: (s[0], s[1]) for q, s in scored.items()} for label, scored in rows.items()}


def compared(root: Path, labels: Sequence[str], folds: Sequence[Fold], scope: str
             ) -> dict[str, Scored]:
    """Finished recipes' scores under the shipped knobs, by recipe label, over all folds."""
    rows: dict[str, Scored] = {}
    shipped = describe(Tuning())
    for label in labels:
        for fold in folds:
            kept = kept_scores(root / label / f"fold-{fold.number}-of-{len(folds)}"
                               / f"cv-scores-{scope}.json")
            if shipped not in kept:
                raise ValueError(f"recipe {label}: fold {fold.number} has not been scored")
            rows.setdefault(label, {}).update(kept[shipped])
    return rows


def merge(rows: dict[str, Scored], more: Mapping[str, Scored], prefix: str) -> None:
    """Add a fold's scores to the rows of the same labels (prefixed)."""
    for label, scored in more.items():
        rows.setdefault(f"{prefix}{label}", {}).update(scored)


def plain_scores(bench: Bench, ratings: Ratings) -> dict[str, Scored]:
    """Every query under plain BM25 and plain embeddings (base model, whole corpus)."""
    rankers = {label: rank for label, rank in bench.rankers(Tuning()).items()
               if label.startswith("plain")}
    return {label: {q: (f.ndcg5, f.ndcg10) for q, f in judge(
        rank, bench.queries, ratings, bench.ids, full_corpus=False).items()}
        for label, rank in rankers.items()}


def paired_gain(scored: Scored, reference: Scored) -> tuple[float, float]:
    """Mean per-query NDCG@5 gain over the reference on the same queries, and its standard
    error (queries are the unit: the same query under two methods is a pair)."""
    gains = [scored[q][0] - reference[q][0] for q in scored]
    spread = statistics.stdev(gains) if len(gains) > 1 else 0.0
    return statistics.mean(gains), spread / len(gains) ** 0.5


def print_table(title: str, rows: Mapping[str, Scored], folds: Sequence[Fold],
                subset: set[str], subset_name: str, reference: str) -> None:
    """One row per method: the CV means, the spread of the fold means, the paired gain over
    the reference row, the subset's mean."""
    print(f"\n{title}")
    print(f"  {'method':<44} {'NDCG@5':>6} {'NDCG@10':>7}  {'folds @5 min-max (sd)':<22}"
          f" {'@5 gain (se)':>12} {subset_name + ' @5':>9}")
    for label, scored in rows.items():
        s = summarise(scored, folds, subset)
        spread = (f"{min(s.folds5):4.1f}-{max(s.folds5):4.1f} "
                  f"({statistics.pstdev(s.folds5):3.1f})")
        gain, error = paired_gain(scored, rows[reference])
        inside = f"{s.subset5:9.1f}" if s.subset5 is not None else f"{'-':>9}"
        print(f"  {label:<44} {s.ndcg5:6.1f} {s.ndcg10:7.1f}  {spread:<22} "
              f"{gain:+5.1f} ({error:3.1f}) {inside}")
    print(f"  (gain: per query, over {reference})")


def describe_folds(folds: Sequence[Fold], category: Mapping[str, str], subset: set[str]
                   ) -> None:
    """Fold sizes and their categories' counts (no query text)."""
    for fold in folds:
        kinds = Counter(category.get(q, "") for q in fold.held)
        mix = ", ".join(f"{k or '?'} {n}" for k, n in sorted(kinds.items()))
        print(f"  fold {fold.number}: {len(fold.held)} queries "
              f"({sum(q in subset for q in fold.held)} of valid): {mix}")


def plan(args: argparse.Namespace) -> tuple[list[Query], Ratings, list[Fold]]:
    """The rated queries, their ratings and the folds; the folds' make-up is printed."""
    queries = read_queries(Path(args.queries))
    ratings = read_all_ratings([Path(p) for p in args.qrels])
    queries = [q for q in queries if q.id in ratings]
    category = {q.id: q.category for q in queries}
    folds = assign_folds(sibling_groups(queries, ratings, args.sibling_overlap), category,
                         args.folds, args.fold_seed)
    print(f"{len(queries)} queries in {args.folds} folds (siblings kept together, categories "
          f"spread), recipe {recipe_label(recipe_from(args))}:")
    describe_folds(folds, category, {q.id for q in queries if q.split == "valid"})
    return queries, ratings, folds


def cross_validate(args: argparse.Namespace, queries: Sequence[Query], ratings: Ratings,
                   folds: Sequence[Fold], base_model: str, cache_dir: Path
                   ) -> tuple[dict[str, Scored], dict[str, Scored]]:
    """Per fold: the base model scored, a model fine-tuned on the other folds and scored.
    Returns the base model's rows and the fine-tuned models' rows, over all queries."""
    from server.adapters.embedding import SentenceTransformerEmbedder
    from server.adapters.precedents import read_precedents
    from server.services import FileVectorCache

    documents = read_precedents(Path(args.corpus))
    cache = FileVectorCache(cache_dir)
    tunings = knob_grid(args.semantic_weights, [
        (int(k), float(w)) for k, w in (f.split(":") for f in args.feedback)])
    base_embedder = SentenceTransformerEmbedder(base_model)
    bench = Bench(documents, base_embedder, cache, list(queries))
    shipped = bench.index(Tuning())
    known = dict(zip(shipped.passages, shipped.vectors, strict=True))
    base = plain_scores(bench, ratings)
    rated = rated_windows(Path(args.corpus), queries, ratings, base_model, cache_dir)
    texts = {q.id: q.text for q in queries}
    recipe = recipe_from(args)
    tuned: dict[str, Scored] = {}
    for fold in folds:
        name = f"fold-{fold.number}-of-{len(folds)}"
        scored = fold_scores(fold, base_embedder, documents, queries, ratings, tunings,
                             args.scope, None, known)
        merge(base, scored, "")
        keep_scores(Path(args.out) / BASE / name / f"cv-scores-{args.scope}.json", scored)
        out = Path(args.out) / recipe_label(recipe) / name
        model_dir = fold_model(fold, recipe, rated, texts, ratings, base_model, out)
        merge(tuned, tuned_fold_scores(fold, model_dir, documents, queries, ratings, tunings,
                                       args.scope, cache), "")
    return base, tuned


def run(args: argparse.Namespace, base_model: str, cache_dir: Path) -> int:
    """Make the folds, train and score each, print the cross-validated table."""
    import torch

    torch.set_num_threads(args.threads)
    queries, ratings, folds = plan(args)
    valid = {q.id for q in queries if q.split == "valid"}
    if args.compare:
        try:
            recipes = compared(Path(args.out), args.compare, folds, args.scope)
        except ValueError as error:
            print(f"search-cv: {error}", file=sys.stderr)
            return 2
        print_table(f"recipes cross-validated, shipped knobs ({describe(Tuning())})", recipes,
                    folds, valid, "valid", args.compare[0])
        return 0
    base, tuned = cross_validate(args, queries, ratings, folds, base_model, cache_dir)
    rows: dict[str, Scored] = {}
    for name, scored in (("base", base), ("tuned", tuned)):
        knobs = {label: s for label, s in scored.items() if label.startswith("w=")}
        merge(rows, scored, f"{name}: ")
        rows[f"{name}: knobs chosen on the other folds"], chosen = nested_choice(knobs, folds)
        print(f"{name} model, knobs chosen per fold on the other folds: " + "; ".join(
            f"{fold.number}: {label}" for fold, label in zip(folds, chosen, strict=True)))
    print_table(f"cross-validated, {len(queries)} queries, rated clauses ranked, search over "
                f"{SCOPES[args.scope]} (plain rows: whole corpus)", rows, folds,
                valid, "valid", f"base: {describe(Tuning())}")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The subcommand's options: the data, the folds, the knob grid and search-train's recipe."""
    p.add_argument("--corpus", required=True, help="BEIR corpus.jsonl (or its folder)")
    p.add_argument("--queries", required=True, help="BEIR queries.jsonl")
    p.add_argument("--qrels", required=True, nargs="+",
                   help="the qrels files whose queries are cross-validated (train and valid)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--fold-seed", type=int, default=0, help="seed of the fold assignment")
    p.add_argument("--sibling-overlap", type=float, default=0.25,
                   help="queries whose 3-star-and-up clauses overlap this much share a fold")
    p.add_argument("--scope", choices=sorted(SCOPES), default="fold",
                   help="fold: search the clauses rated for any of the fold's queries, so only "
                   "those are embedded (cheap; within 0.3 NDCG of the whole corpus for the base "
                   "model); corpus: search the whole corpus, as search-bench does")
    p.add_argument("--semantic-weights", type=float, nargs="+", default=[0.8, 0.9, 1.0])
    p.add_argument("--feedback", nargs="+", default=["0:0", "5:1", "10:1", "10:2", "10:3"],
                   metavar="DOCS:WEIGHT", help="pseudo-relevance feedback settings")
    p.add_argument("--compare", nargs="+", metavar="RECIPE",
                   help="only print the finished recipes named (directories under --out, e.g. "
                   "base default loss=listwise), each query's gain taken over the first")
    p.add_argument("--out", default=str(DEFAULT_OUT),
                   help="where the fold models and scores are kept")
    add_recipe_arguments(p)
