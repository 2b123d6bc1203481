"""Training data for the search embedder: pairs, hard negatives, batches and split hygiene."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from server.search_train import (
    Example,
    Rated,
    Recipe,
    SplitLeak,
    batches,
    blend,
    build_examples,
    build_listings,
    contrastive_loss,
    hold_out,
    learning_rate_factor,
    listwise_loss,
    negatives_mask,
    related_pairs,
    training_ratings,
)

QUERIES = {"escrow": "code escrow with release events", "cap": "limit on damages"}


def rated() -> list[Rated]:
    """Made-up ratings: two queries, positives, near misses and hard and easy zeros."""
    return [
        Rated("escrow", "e-pos-a", 4, "Code goes to a custodian and is released on bankruptcy.",
              0.8),
        Rated("escrow", "e-pos-b", 2, "Deposit the build files with a custodian yearly.", 0.7),
        Rated("escrow", "e-near", 1, "The vendor keeps its code confidential.", 0.6),
        Rated("escrow", "e-hard", 0, "The custodian's fees are paid by the buyer.", 0.65),
        Rated("escrow", "e-easy", 0, "Notices go by registered mail.", 0.1),
        Rated("cap", "c-pos", 3, "Damages may not exceed the fees of one year.", 0.9),
        Rated("cap", "c-hard", 0, "Fees are due within a month.", 0.5),
    ]


def test_each_three_star_clause_is_a_positive_paired_with_a_zero_of_its_own_query() -> None:
    examples = build_examples(rated(), QUERIES, Recipe())
    assert sorted((e.query_id, e.positive_id) for e in examples) == [
        ("cap", "c-pos"), ("escrow", "e-pos-a"), ("escrow", "e-pos-b")]
    zeros = {"escrow": {"e-hard", "e-easy"}, "cap": {"c-hard"}}
    for example in examples:
        assert example.negative_id in zeros[example.query_id]
        assert example.query == QUERIES[example.query_id]
    # a two-star clause (rating 1) is neither a positive nor a negative
    assert all("e-near" not in (e.positive_id, e.negative_id) for e in examples)


def test_hard_negatives_come_from_the_base_models_top_zero_rated_clauses() -> None:
    examples = build_examples(rated(), QUERIES, Recipe(hard_pool=1))
    assert {e.negative_id for e in examples if e.query_id == "escrow"} == {"e-hard"}


def test_examples_read_the_window_chosen_for_each_clause() -> None:
    examples = build_examples(rated(), QUERIES, Recipe(hard_pool=1))
    cap = next(e for e in examples if e.query_id == "cap")
    assert cap.positive == "Damages may not exceed the fees of one year."
    assert cap.negative == "Fees are due within a month."


def test_examples_do_not_depend_on_input_order_and_follow_the_seed() -> None:
    pairs = rated()
    shuffled = list(reversed(pairs))
    assert build_examples(pairs, QUERIES, Recipe()) == build_examples(shuffled, QUERIES, Recipe())
    many = [Rated("escrow", f"zero-{i}", 0, f"text {i}", 0.5) for i in range(20)]
    draws = {tuple(e.negative_id for e in build_examples([*pairs, *many], QUERIES,
                                                         Recipe(seed=seed)))
             for seed in range(5)}
    assert len(draws) > 1


def test_a_query_without_zero_rated_clauses_gives_no_examples() -> None:
    only_positive = [Rated("cap", "c-pos", 3, "Damages are capped.", 0.9)]
    assert build_examples(only_positive, QUERIES, Recipe()) == []


def test_training_refuses_a_query_of_a_held_out_split() -> None:
    train = {"escrow": {"e1": 4}, "cap": {"c1": 0}}
    valid = {"notice": {"n1": 3}}
    assert training_ratings(train, [valid]) == train
    with pytest.raises(SplitLeak, match="1 held-out queries"):
        training_ratings(train, [valid, {"cap": {"c9": 2}}])


def test_hold_out_splits_train_queries_by_query_and_is_repeatable() -> None:
    train = {f"q{i}": {f"c{i}": 3} for i in range(12)}
    fit, held = hold_out(train, 3, seed=0)
    assert len(held) == 3 and len(fit) == 9
    assert not set(fit) & set(held) and set(fit) | set(held) == set(train)
    assert hold_out(train, 3, seed=0) == (fit, held)
    assert hold_out(train, 0, seed=0) == (train, {})


def example(query: str, positive: str, negative: str) -> Example:
    return Example(query, f"text of {query}", positive, f"text of {positive}", negative,
                   f"text of {negative}")


def test_batches_never_hold_a_query_or_a_clause_twice() -> None:
    examples = [example(f"q{i % 4}", f"p{i % 7}", f"n{i % 5}") for i in range(40)]
    seen = 0
    for batch in batches(examples, 4, random.Random(0)):
        queries = [e.query_id for e in batch]
        clauses = [c for e in batch for c in (e.positive_id, e.negative_id)]
        assert len(set(queries)) == len(queries) and len(set(clauses)) == len(clauses)
        assert 2 <= len(batch) <= 4
        seen += len(batch)
    assert seen >= 30  # few examples are left without a batch partner
    again = [[e.positive_id for e in b] for b in batches(examples, 4, random.Random(0))]
    first = [[e.positive_id for e in b] for b in batches(examples, 4, random.Random(0))]
    assert again == first


def test_a_clause_rated_for_a_query_is_never_its_in_batch_negative() -> None:
    batch = [example("escrow", "shared", "z1"), example("cap", "c-pos", "z2")]
    related = related_pairs({"escrow": {"shared": 4, "z1": 0},
                             "cap": {"c-pos": 3, "shared": 1, "z2": 0}})
    mask = negatives_mask(batch, related)
    # documents: positives (shared, c-pos), then negatives (z1, z2)
    assert mask.tolist() == [[False, False, False, False], [True, False, False, False]]


def test_contrastive_loss_prefers_each_querys_own_positive() -> None:
    axes = torch.eye(3)
    queries = axes[:2]
    aligned = axes[[0, 1, 2, 2]]  # positives on each query's axis, negatives off both
    crossed = axes[[1, 0, 2, 2]]  # each positive on the other query's axis
    none = torch.zeros((2, 4), dtype=torch.bool)
    good = contrastive_loss(queries, aligned, none, scale=20.0)
    bad = contrastive_loss(queries, crossed, none, scale=20.0)
    assert float(good) < 0.01 < float(bad)
    # masking the rival that beats query 0's positive leaves only what remains to compete
    mask = torch.tensor([[False, True, False, False], [False, False, False, False]])
    masked = contrastive_loss(queries, crossed, mask, scale=20.0)
    assert float(masked) < float(bad)


def test_learning_rate_warms_up_then_decays() -> None:
    factors = [learning_rate_factor(step, 2, 10) for step in range(10)]
    assert factors[0] == pytest.approx(0.5) and factors[1] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[1:], factors[2:], strict=False))
    assert factors[-1] > 0
    assert np.isclose(max(factors), 1.0)


def test_a_listing_holds_a_querys_rated_clauses_then_its_hard_zeros() -> None:
    listings = build_listings(rated(), QUERIES, Recipe(loss="listwise", list_size=4,
                                                       hard_pool=1))
    escrow = next(x for x in listings if x.query_id == "escrow")
    assert escrow.query == QUERIES["escrow"]
    # half the list for rated clauses, best first: the two-star one (rating 1) is left out
    assert escrow.ratings == (4, 2, 0)
    assert escrow.passages[2] == "The custodian's fees are paid by the buyer."  # the hard zero
    cap = next(x for x in listings if x.query_id == "cap")
    assert cap.ratings == (3, 0)


def test_a_listing_keeps_near_misses_when_there_is_room_and_needs_a_positive() -> None:
    listings = build_listings(rated(), QUERIES, Recipe(loss="listwise", list_size=8))
    escrow = next(x for x in listings if x.query_id == "escrow")
    assert escrow.ratings == (4, 2, 1, 0, 0)
    near_misses_only = [Rated("cap", "c-near", 1, "Damages are discussed.", 0.9),
                        Rated("cap", "c-zero", 0, "Fees are due.", 0.5)]
    assert build_listings(near_misses_only, QUERIES, Recipe(loss="listwise")) == []


def test_listwise_loss_is_lowest_when_scores_follow_the_ratings() -> None:
    query = torch.tensor([1.0, 0.0])
    ratings = torch.tensor([4.0, 2.0, 0.0])
    ordered = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])  # cosines 1, 0.8, 0
    reversed_ = ordered.flip(0)
    good = listwise_loss(query, ordered, ratings, scale=20.0)
    bad = listwise_loss(query, reversed_, ratings, scale=20.0)
    assert float(good) < float(bad)
    # the target is the ratings normalised: the best-rated clause gets two thirds of the mass
    scores = 20.0 * ordered @ query
    expected = -(ratings / 6 * torch.log_softmax(scores, dim=0)).sum()
    assert float(good) == pytest.approx(float(expected))


def test_blend_moves_each_weight_back_toward_the_base_by_the_share() -> None:
    tuned, base = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    with torch.no_grad():
        tuned.weight.fill_(1.0)
        tuned.bias.fill_(4.0)
        base.weight.fill_(3.0)
        base.bias.fill_(0.0)
    blend(tuned, base, 0.25)
    assert torch.allclose(tuned.weight, torch.full((2, 2), 1.5))  # 0.75 x 1 + 0.25 x 3
    assert torch.allclose(tuned.bias, torch.full((2,), 3.0))
    assert torch.allclose(base.weight, torch.full((2, 2), 3.0))  # the base is left alone
