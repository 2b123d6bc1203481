"""`python -m server search-train`: fine-tune the search embedder on a benchmark's train ratings.

Reproducible by construction: fixed seeds, data built in sorted order, batches drawn from a
seeded generator, and a `training.json` beside the model with the recipe, the data's digests,
the library versions and the time taken. The model is written outside the repository
(default `.cache/search-model`, git-ignored); weights are never committed.

Data (from the `--qrels` given: train, or train and valid for the final model; a query of any
`--exclude` qrels file stops the run): each clause rated 3 stars or more for a query (rating
>= 2) is a positive, paired with a hard negative: a clause lawyers rated 0 for the same query,
drawn from the ones the base model ranks highest. A long clause is read as search reads it,
in windows of the model's length; a pair uses the clause's window closest to the query under
the base model, because search scores a clause by its best window (max-pooling).

Loss: in-batch contrastive (InfoNCE, as MultipleNegativesRankingLoss) over each batch's
positives and hard negatives, with one change that matters on ACORD, whose queries share
clauses: a clause rated for a query (any rating above 0) is never used as that query's in-batch
negative. A batch never holds the same query or clause twice. Or (`--loss listwise`) one query
per step: its clauses rated above 0 and hard 0-rated ones, scored against ListNet targets
proportional to the ratings (the graded 0..4 scale, as NDCG's linear gains weigh it).

Which recipe: `python -m server search-cv` (server/search_cv.py) cross-validates any of them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import platform
import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from server.search_bench import Query, Ratings, read_all_ratings, read_queries, read_ratings

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from torch import Tensor
    from torch.nn import Module

log = logging.getLogger(__name__)
B = TypeVar("B")  # a batch, as a training loop's step reads it
DEFAULT_OUT = Path(".cache/search-model")


@dataclass(frozen=True, slots=True)
class Recipe:
    """The training knobs (one recipe, checked on a hold-out of train queries: BENCHMARKS.md)."""

    min_positive: int = 2  # rating of a positive: 3 stars and up
    hard_pool: int = 30  # a negative is drawn from this many top 0-rated clauses (base model)
    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 2e-5
    warmup: float = 0.1  # share of the steps with a rising learning rate
    max_tokens: int = 256  # model tokens per text (MiniLM's window)
    scale: float = 20.0  # cosine -> logit, as MultipleNegativesRankingLoss
    seed: int = 0
    loss: str = "contrastive"  # or "listwise": one query's graded list per step
    list_size: int = 32  # clauses per query in a listwise step
    base_share: float = 0.0  # after training, weights moved back this far toward the base


@dataclass(frozen=True, slots=True)
class Rated:
    """One rated (query, clause) pair, with the clause's window that training reads."""

    query_id: str
    clause_id: str
    rating: int
    passage: str
    base_score: float  # the base model's cosine of the query and that window


@dataclass(frozen=True, slots=True)
class Example:
    """A query, a clause window that answers it and one rated 0 for it."""

    query_id: str
    query: str
    positive_id: str
    positive: str
    negative_id: str
    negative: str


@dataclass(frozen=True, slots=True)
class Listing:
    """A query with a list of its rated clause windows and their ratings (listwise loss)."""

    query_id: str
    query: str
    passages: tuple[str, ...]
    ratings: tuple[int, ...]


LOSSES = ("contrastive", "listwise")


class SplitLeak(ValueError):
    """A held-out query appears in the training ratings."""


def training_ratings(ratings: Ratings, held_out: Sequence[Ratings]) -> Ratings:
    """The train ratings, refusing any query that also belongs to a held-out split."""
    leaked = {query for other in held_out for query in other if query in ratings}
    if leaked:
        raise SplitLeak(f"{len(leaked)} held-out queries are in the training ratings")
    return ratings


def hold_out(ratings: Ratings, count: int, seed: int) -> tuple[Ratings, Ratings]:
    """Split train ratings by query into (fit, held) for choosing the recipe."""
    if count <= 0:
        return ratings, {}
    held_ids = set(random.Random(seed).sample(sorted(ratings), count))
    fit = {q: r for q, r in ratings.items() if q not in held_ids}
    return fit, {q: r for q, r in ratings.items() if q in held_ids}


def rated_by_query(rated: Sequence[Rated]) -> dict[str, list[Rated]]:
    """Each query's rated clauses, queries and clauses in id order (seeded draws repeat)."""
    by_query: dict[str, list[Rated]] = {}
    for pair in rated:
        by_query.setdefault(pair.query_id, []).append(pair)
    return {query_id: sorted(by_query[query_id], key=lambda p: p.clause_id)
            for query_id in sorted(by_query)}


def build_examples(rated: Sequence[Rated], queries: Mapping[str, str], recipe: Recipe
                   ) -> list[Example]:
    """One example per positive, with a hard negative drawn from its query's top 0-rated."""
    rng = random.Random(recipe.seed)
    examples = []
    for query_id, pairs in rated_by_query(rated).items():
        positives = [p for p in pairs if p.rating >= recipe.min_positive]
        pool = sorted((p for p in pairs if p.rating == 0),
                      key=lambda p: (-p.base_score, p.clause_id))[:recipe.hard_pool]
        if not pool:
            continue
        for positive in positives:
            negative = rng.choice(pool)
            examples.append(Example(query_id, queries[query_id], positive.clause_id,
                                    positive.passage, negative.clause_id, negative.passage))
    return examples


def build_listings(rated: Sequence[Rated], queries: Mapping[str, str], recipe: Recipe
                   ) -> list[Listing]:
    """Per query with a positive: its clauses rated above 0 (at most half the list, the best
    rated first, ties drawn), then 0-rated ones drawn from the base model's top `hard_pool`."""
    rng = random.Random(recipe.seed)
    listings = []
    for query_id, pairs in rated_by_query(rated).items():
        relevant = [p for p in pairs if p.rating > 0]
        rng.shuffle(relevant)
        relevant = sorted(relevant, key=lambda p: -p.rating)[:recipe.list_size // 2]
        pool = sorted((p for p in pairs if p.rating == 0),
                      key=lambda p: (-p.base_score, p.clause_id))[:recipe.hard_pool]
        if not pool or not any(p.rating >= recipe.min_positive for p in relevant):
            continue
        zeros = rng.sample(pool, min(len(pool), recipe.list_size - len(relevant)))
        chosen = relevant + zeros
        listings.append(Listing(query_id, queries[query_id], tuple(p.passage for p in chosen),
                                tuple(p.rating for p in chosen)))
    return listings


def listwise_loss(query: Tensor, documents: Tensor, ratings: Tensor, scale: float) -> Tensor:
    """ListNet: the softmax of the query's scaled cosines against its ratings, normalised."""
    from torch.nn import functional

    scores = scale * documents @ query
    wanted = ratings / ratings.sum()
    return -(wanted * functional.log_softmax(scores, dim=0)).sum()


def related_pairs(ratings: Ratings) -> frozenset[tuple[str, str]]:
    """(query, clause) pairs rated above 0: never a negative for that query."""
    return frozenset((q, c) for q, rated in ratings.items() for c, r in rated.items() if r > 0)


def batches(examples: Sequence[Example], size: int, rng: random.Random
            ) -> Iterator[list[Example]]:
    """Shuffled batches in which no query and no clause occurs twice."""
    order = list(examples)
    rng.shuffle(order)
    open_batches: list[tuple[list[Example], set[str]]] = []
    for example in order:
        keys = {f"q:{example.query_id}", f"c:{example.positive_id}", f"c:{example.negative_id}"}
        for batch, seen in open_batches:
            if not keys & seen:
                batch.append(example)
                seen |= keys
                break
        else:
            open_batches.append(([example], set(keys)))
        full = [b for b, _ in open_batches if len(b) >= size]
        open_batches = [(b, s) for b, s in open_batches if len(b) < size]
        yield from full
    yield from (b for b, _ in open_batches if len(b) > 1)  # one example has no in-batch rival


def negatives_mask(batch: Sequence[Example], related: frozenset[tuple[str, str]]
                   ) -> np.ndarray[tuple[int, int], np.dtype[np.bool_]]:
    """True where a batch document must not count against a query: it is rated for it.

    Documents are the batch's positives, then its negatives; a query's own positive stays.
    """
    clause_ids = [e.positive_id for e in batch] + [e.negative_id for e in batch]
    mask = np.zeros((len(batch), len(clause_ids)), dtype=np.bool_)
    for i, example in enumerate(batch):
        for j, clause_id in enumerate(clause_ids):
            mask[i, j] = j != i and (example.query_id, clause_id) in related
    return mask


def contrastive_loss(queries: Tensor, documents: Tensor, mask: Tensor, scale: float) -> Tensor:
    """InfoNCE: each query's own positive (document i) against the unmasked documents."""
    import torch
    from torch.nn import functional

    scores = scale * queries @ documents.T
    scores = scores.masked_fill(mask, float("-inf"))
    return functional.cross_entropy(scores, torch.arange(len(queries)))


def rated_windows(corpus: Path, queries: Sequence[Query], ratings: Ratings, base_model: str,
                  cache_dir: Path) -> list[Rated]:
    """Every rated pair with the clause's window closest to the query under the base model."""
    from server.adapters.embedding import SentenceTransformerEmbedder
    from server.adapters.precedents import read_precedents
    from server.core.search import SearchIndex
    from server.services import FileVectorCache

    embedder = SentenceTransformerEmbedder(base_model)
    documents = read_precedents(corpus)
    index = SearchIndex(documents, embedder, FileVectorCache(cache_dir))
    row_of = {d.id: i for i, d in enumerate(documents)}
    text_of = {q.id: q.text for q in queries}
    ids = sorted(ratings)
    vectors = embedder.embed([text_of[q] for q in ids])
    rated = []
    for query_id, vector in zip(ids, vectors, strict=True):
        for clause_id, rating in sorted(ratings[query_id].items()):
            best = index.best_passage_row(row_of[clause_id], vector)
            rated.append(Rated(query_id, clause_id, rating, index.passages[best],
                               float(index.vectors[best] @ vector)))
    return rated


def load_model(path: Path, max_tokens: int) -> SentenceTransformer:
    """The base sentence-transformers model from a local directory, on the CPU."""
    from sentence_transformers import SentenceTransformer

    model: SentenceTransformer = SentenceTransformer(str(path), device="cpu",
                                                     local_files_only=True)
    model.max_seq_length = max_tokens
    return model


def encode(model: SentenceTransformer, texts: Sequence[str]) -> Tensor:
    """Unit-length embeddings with gradients (the model's own pooling and normalisation)."""
    from torch.nn import functional

    features = model.preprocess(list(texts))
    embedded: Tensor = model(features)["sentence_embedding"]
    return functional.normalize(embedded, dim=-1)


def train_listwise(model: SentenceTransformer, listings: Sequence[Listing], recipe: Recipe
                   ) -> list[float]:
    """Fine-tune the model in place, one query's list per step; the loss of each step."""
    import torch

    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    plan: list[Listing] = []
    for _ in range(recipe.epochs):
        order = list(listings)
        rng.shuffle(order)
        plan += order

    def step_loss(listing: Listing) -> Tensor:
        query = encode(model, [listing.query])[0]
        documents = encode(model, listing.passages)
        ratings = torch.tensor(listing.ratings, dtype=documents.dtype)
        return listwise_loss(query, documents, ratings, recipe.scale)

    return optimise(model, plan, step_loss, recipe.learning_rate, recipe.warmup)


def train(model: SentenceTransformer, examples: Sequence[Example],
          related: frozenset[tuple[str, str]], recipe: Recipe) -> list[float]:
    """Fine-tune the model in place (in-batch contrastive); returns the loss of each step."""
    import torch

    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    plan = [b for _ in range(recipe.epochs) for b in batches(examples, recipe.batch_size, rng)]

    def step_loss(batch: list[Example]) -> Tensor:
        queries = encode(model, [e.query for e in batch])
        documents = encode(model, [e.positive for e in batch] + [e.negative for e in batch])
        mask = torch.from_numpy(negatives_mask(batch, related))
        return contrastive_loss(queries, documents, mask, recipe.scale)

    return optimise(model, plan, step_loss, recipe.learning_rate, recipe.warmup)


def optimise(network: Module, plan: Sequence[B], step_loss: Callable[[B], Tensor],
             learning_rate: float, warmup_share: float) -> list[float]:
    """AdamW over the batches in order, warm-up then linear decay, gradients clipped at 1;
    the network is left in eval mode. Returns the loss of each step."""
    import torch

    optimizer = torch.optim.AdamW(network.parameters(), lr=learning_rate, weight_decay=0.01)
    warmup = max(1, int(warmup_share * len(plan)))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: learning_rate_factor(
        step, warmup, len(plan)))
    network.train()
    losses = []
    for batch in plan:
        loss = step_loss(batch)
        optimizer.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if len(losses) % 10 == 0:
            log.info("step %d of %d, loss %.3f", len(losses), len(plan), losses[-1])
    network.eval()
    return losses


def blend(network: Module, base: Module, base_share: float) -> None:
    """Move the fine-tuned weights back toward the base model's, in place (WiSE-FT): each
    floating-point weight becomes (1 - share) x its own + share x the base model's."""
    import torch

    base_state = base.state_dict()
    with torch.no_grad():
        for name, tensor in network.state_dict().items():
            if tensor.is_floating_point():
                tensor.mul_(1 - base_share).add_(base_state[name], alpha=base_share)


def learning_rate_factor(step: int, warmup: int, steps: int) -> float:
    """Linear warm-up, then linear decay to nearly 0 at the last step."""
    return min((step + 1) / warmup, (steps - step) / max(1, steps - warmup + 1))


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes (to record which data and base model were used)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def versions() -> dict[str, str]:
    """The versions that decide the result."""
    import sentence_transformers
    import tokenizers
    import torch
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__,
            "sentence-transformers": sentence_transformers.__version__,
            "tokenizers": tokenizers.__version__, "numpy": np.__version__}


def training_split(args: argparse.Namespace, seed: int
                   ) -> tuple[list[Query], Ratings, Ratings, Ratings]:
    """The queries, the training ratings (a held-out split's query stops the run), and those
    ratings divided into the ones to fit and the `--holdout` queries kept aside."""
    queries = read_queries(Path(args.queries))
    ratings = training_ratings(read_all_ratings([Path(p) for p in args.qrels]),
                               [read_ratings(Path(p)) for p in args.exclude])
    fit, held = hold_out(ratings, args.holdout, seed)
    return queries, ratings, fit, held


def write_record(out: Path, args: argparse.Namespace, base_model: str,
                 recipe: Mapping[str, object], losses: list[float], counts: Mapping[str, int],
                 fit: Ratings, held: Ratings, seconds: Mapping[str, float]) -> None:
    """training.json beside the model: recipe, losses, data digests and versions."""
    record = {"recipe": recipe, "steps": len(losses), "losses": losses, **counts,
              "queries": len(fit), "trained_queries": sorted(fit),
              "held_out_queries": sorted(held),
              "seconds": {k: round(v, 1) for k, v in seconds.items()},
              "threads": args.threads, "qrels_sha256": {
                  Path(p).name: file_digest(Path(p)) for p in args.qrels},
              "corpus_sha256": file_digest(Path(args.corpus)), "base_model": base_model,
              "versions": versions(), "command": sys.argv[1:]}
    (out / "training.json").write_text(json.dumps(record, indent=1), encoding="utf-8")


def recipe_from(args: argparse.Namespace) -> Recipe:
    """The recipe the command line asks for."""
    return Recipe(seed=args.seed, epochs=args.epochs, batch_size=args.batch_size,
                  learning_rate=args.learning_rate, hard_pool=args.hard_pool,
                  max_tokens=args.max_tokens, loss=args.loss, list_size=args.list_size,
                  base_share=args.base_share)


def fine_tune(rated: Sequence[Rated], queries: Mapping[str, str], fit: Ratings, recipe: Recipe,
              base_model: str) -> tuple[SentenceTransformer, list[float], int]:
    """The base model fine-tuned on the fit queries' rated windows; its step losses and the
    number of examples (listwise: of lists). Pairs of other queries in `rated` are ignored."""
    from server.adapters.embedding import model_path

    chosen = [r for r in rated if r.query_id in fit]
    if recipe.loss == "listwise":
        listings = build_listings(chosen, queries, recipe)
        if not listings:
            raise ValueError("no query has a positive and a 0-rated clause to list")
        model = load_model(model_path(base_model), recipe.max_tokens)
        losses, count = train_listwise(model, listings, recipe), len(listings)
    else:
        examples = build_examples(chosen, queries, recipe)
        if len({e.query_id for e in examples}) < 2:
            # a batch needs two queries, or there is nothing to contrast: no step would be taken
            raise ValueError("examples of at least two queries are needed")
        log.info("%d queries, %d examples", len(fit), len(examples))
        model = load_model(model_path(base_model), recipe.max_tokens)
        losses, count = train(model, examples, related_pairs(fit), recipe), len(examples)
        if not losses:
            raise ValueError("no batch of two queries without a shared clause could be formed")
    if recipe.base_share:
        blend(model, load_model(model_path(base_model), recipe.max_tokens), recipe.base_share)
    return model, losses, count


def run(args: argparse.Namespace, base_model: str, cache_dir: Path) -> int:
    """Build the data, train, save the model and its record; evaluate on a hold-out if asked."""
    import torch

    torch.set_num_threads(args.threads)
    recipe = recipe_from(args)
    queries, _, fit, held = training_split(args, recipe.seed)
    started = time.perf_counter()
    rated = rated_windows(Path(args.corpus), queries, fit, base_model, cache_dir)
    prepared = time.perf_counter() - started
    print(f"{len(fit)} queries, {len(rated)} rated pairs (prepared in {prepared:.0f} s)")
    started = time.perf_counter()
    try:
        model, losses, examples = fine_tune(rated, {q.id: q.text for q in queries}, fit, recipe,
                                            base_model)
    except ValueError as error:
        print(f"search-train: {error}", file=sys.stderr)
        return 2
    trained = time.perf_counter() - started
    print(f"{examples} examples, {len(losses)} steps in {trained:.0f} s; "
          f"loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    out = Path(args.out)
    model.save(str(out), create_model_card=False)
    write_record(out, args, base_model, asdict(recipe), losses, {"examples": examples},
                 fit, held, {"prepare": prepared, "train": trained})
    print(f"model written to {out}")
    if held:
        report_hold_out(Path(args.corpus), queries, held, base_model, str(out), cache_dir)
    return 0


def report_hold_out(corpus: Path, queries: Sequence[Query], held: Ratings, base_model: str,
                    tuned_model: str, cache_dir: Path) -> None:
    """NDCG@5 on the held-out train queries (rated protocol): base against fine-tuned."""
    from server.adapters.embedding import SentenceTransformerEmbedder
    from server.adapters.precedents import read_precedents
    from server.core.search import Tuning
    from server.search_bench import Bench, evaluate
    from server.services import FileVectorCache

    documents = read_precedents(corpus)
    chosen = [q for q in queries if q.id in held]
    print(f"\nhold-out: {len(chosen)} train queries, rated clauses ranked")
    for label, name in (("base", base_model), ("fine-tuned", tuned_model)):
        bench = Bench(documents, SentenceTransformerEmbedder(name), FileVectorCache(cache_dir),
                      chosen)
        for method, rank in bench.rankers(Tuning()).items():
            figures = evaluate(rank, chosen, held, bench.ids, full_corpus=False)
            print(f"  {label:<10} {method:<45} NDCG@5 {figures.ndcg5:5.1f} "
                  f"NDCG@10 {figures.ndcg10:5.1f}")


def add_training_data_arguments(p: argparse.ArgumentParser) -> None:
    """Where the training pairs come from, and the split whose queries must stay out."""
    p.add_argument("--corpus", required=True, help="BEIR corpus.jsonl (or its folder)")
    p.add_argument("--queries", required=True, help="BEIR queries.jsonl")
    p.add_argument("--qrels", required=True, nargs="+",
                   help="the qrels TSVs to train on (train; train and valid for the final model)")
    p.add_argument("--exclude", nargs="*", default=[], metavar="QRELS",
                   help="held-out qrels (e.g. valid): a query of theirs in --qrels stops the run")


def add_recipe_arguments(p: argparse.ArgumentParser) -> None:
    """The recipe's knobs, and the threads it trains with."""
    defaults = Recipe()
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    p.add_argument("--hard-pool", type=int, default=defaults.hard_pool)
    p.add_argument("--max-tokens", type=int, default=defaults.max_tokens)
    p.add_argument("--loss", choices=LOSSES, default=defaults.loss,
                   help="contrastive: in-batch negatives; listwise: graded lists per query")
    p.add_argument("--list-size", type=int, default=defaults.list_size,
                   help="clauses per query in a listwise step")
    p.add_argument("--base-share", type=float, default=defaults.base_share,
                   help="after training, move the weights this far back toward the base model "
                   "(0: not at all; 0.5: halfway)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (the machine is shared)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The subcommand's options."""
    add_training_data_arguments(p)
    p.add_argument("--out", default=str(DEFAULT_OUT), help="model directory to write")
    add_recipe_arguments(p)
    p.add_argument("--holdout", type=int, default=0,
                   help="train queries held out to compare base and fine-tuned (recipe choice)")
