"""Cross-validation over queries: sibling groups, folds, summaries and the nested knob choice."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from server.core.search import Tuning
from server.search_bench import Query, read_all_ratings
from server.search_cv import (
    Fold,
    assign_folds,
    holds_model,
    knob_grid,
    nested_choice,
    paired_gain,
    recipe_label,
    sibling_groups,
    summarise,
)
from server.search_train import Recipe


def query(name: str, category: str = "", parent: str = "") -> Query:
    return Query(name, f"text of {name}", "train", category, parent)


def test_queries_sharing_most_positives_or_a_parent_are_one_group() -> None:
    queries = [query("cap"), query("cap-twin"), query("escrow"), query("escrow-child",
                                                                        parent="escrow"),
               query("law")]
    ratings = {
        "cap": {"c1": 4, "c2": 3, "c3": 2, "z": 0},
        "cap-twin": {"c1": 3, "c2": 2, "c4": 2, "z": 0},  # shares 2 of 4 positives
        "escrow": {"e1": 4, "z": 0},
        "escrow-child": {"e9": 3},  # nothing shared, but derived from escrow
        "law": {"c1": 1, "l1": 4},  # c1 is only two-star for it: not a shared positive
    }
    groups = sibling_groups(queries, ratings, overlap=0.25)
    assert groups == [("cap", "cap-twin"), ("escrow", "escrow-child"), ("law",)]


def test_siblings_are_joined_transitively_and_unrated_queries_left_out() -> None:
    queries = [query("a"), query("b"), query("c"), query("unrated")]
    ratings = {"a": {"x": 4, "y": 4}, "b": {"y": 4, "z": 4}, "c": {"z": 4, "w": 4}}
    assert sibling_groups(queries, ratings, overlap=0.3) == [("a", "b", "c")]
    assert sibling_groups(queries, ratings, overlap=0.5) == [("a",), ("b",), ("c",)]


def made_up_groups() -> tuple[list[tuple[str, ...]], dict[str, str]]:
    """23 queries: a big category with three sibling pairs, and small ones."""
    groups: list[tuple[str, ...]] = [(f"big-{i}",) for i in range(11)]
    groups += [("pair-a1", "pair-a2"), ("pair-b1", "pair-b2"), ("pair-c1", "pair-c2")]
    groups += [(f"small-{i}",) for i in range(6)]
    category = {q: ("big" if q.startswith(("big", "pair")) else "small")
                for g in groups for q in g}
    return groups, category


def test_every_query_is_held_out_once_and_never_trained_on_in_its_fold() -> None:
    groups, category = made_up_groups()
    everyone = {q for g in groups for q in g}
    folds = assign_folds(groups, category, 5, seed=0)
    assert [f.number for f in folds] == [1, 2, 3, 4, 5]
    held = [q for f in folds for q in f.held]
    assert sorted(held) == sorted(everyone)  # once each
    for fold in folds:
        assert not set(fold.held) & set(fold.fit)
        assert set(fold.held) | set(fold.fit) == everyone


@pytest.mark.parametrize("seed", range(4))
def test_siblings_share_a_fold_and_categories_and_sizes_are_spread(seed: int) -> None:
    groups, category = made_up_groups()
    folds = assign_folds(groups, category, 5, seed)
    fold_of = {q: f.number for f in folds for q in f.held}
    for group in groups:
        assert len({fold_of[q] for q in group}) == 1
    sizes = [len(f.held) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for kind in ("big", "small"):
        counts = [sum(category[q] == kind for q in f.held) for f in folds]
        assert max(counts) - min(counts) <= 2  # a pair may tip one fold by two


def test_folds_follow_the_seed_and_repeat_with_it() -> None:
    groups, category = made_up_groups()
    assert assign_folds(groups, category, 5, 1) == assign_folds(list(reversed(groups)),
                                                                category, 5, 1)
    plans = {tuple(f.held for f in assign_folds(groups, category, 5, s)) for s in range(5)}
    assert len(plans) > 1


def test_more_folds_than_groups_is_refused() -> None:
    with pytest.raises(ValueError, match="folds"):
        assign_folds([("a",), ("b", "c")], {}, 3, seed=0)


def test_a_query_rated_in_two_qrels_files_is_refused(tmp_path: Path) -> None:
    header = "query-id\tcorpus-id\tscore\n"
    (tmp_path / "train.tsv").write_text(header + "q1\tc1\t3\nq2\tc1\t0\n", encoding="utf-8")
    (tmp_path / "valid.tsv").write_text(header + "q3\tc2\t4\n", encoding="utf-8")
    (tmp_path / "test.tsv").write_text(header + "q2\tc2\t1\n", encoding="utf-8")
    merged = read_all_ratings([tmp_path / "train.tsv", tmp_path / "valid.tsv"])
    assert sorted(merged) == ["q1", "q2", "q3"]
    with pytest.raises(ValueError, match="more than one"):
        read_all_ratings([tmp_path / "train.tsv", tmp_path / "test.tsv"])


FOLDS = [Fold(1, ("a", "b"), ("c", "d")), Fold(2, ("c", "d"), ("a", "b"))]


def test_summary_pools_queries_and_reports_each_folds_mean() -> None:
    scored = {"a": (80.0, 90.0), "b": (60.0, 70.0), "c": (40.0, 50.0), "d": (20.0, 30.0)}
    summary = summarise(scored, FOLDS, subset={"d"})
    assert summary.ndcg5 == pytest.approx(50.0) and summary.ndcg10 == pytest.approx(60.0)
    assert summary.folds5 == pytest.approx((70.0, 30.0))
    assert summary.subset5 == pytest.approx(20.0)
    assert summarise(scored, FOLDS, subset=set()).subset5 is None


def test_paired_gain_is_the_mean_per_query_difference_with_its_standard_error() -> None:
    reference = {"a": (50.0, 0.0), "b": (50.0, 0.0), "c": (50.0, 0.0), "d": (50.0, 0.0)}
    scored = {"a": (52.0, 0.0), "b": (54.0, 0.0), "c": (52.0, 0.0), "d": (54.0, 0.0)}
    gain, error = paired_gain(scored, reference)
    assert gain == pytest.approx(3.0)
    assert error == pytest.approx((4 / 3) ** 0.5 / 2)  # sample sd of 2, 4, 2, 4 over root 4
    assert paired_gain(reference, reference) == (0.0, 0.0)


def test_nested_choice_picks_each_folds_row_on_the_other_folds_only() -> None:
    rows = {
        # best on fold 2's queries, worst on fold 1's
        "good-on-2": {"a": (10.0, 10.0), "b": (10.0, 10.0), "c": (90.0, 90.0),
                      "d": (90.0, 90.0)},
        "good-on-1": {"a": (80.0, 80.0), "b": (80.0, 80.0), "c": (20.0, 20.0),
                      "d": (20.0, 20.0)},
    }
    chosen, labels = nested_choice(rows, FOLDS)
    # fold 1 is scored with the row that looked best on fold 2, and the reverse
    assert labels == ["good-on-2", "good-on-1"]
    assert chosen == {"a": (10.0, 10.0), "b": (10.0, 10.0), "c": (20.0, 20.0),
                      "d": (20.0, 20.0)}


def test_knob_grid_starts_with_the_shipped_tuning_and_has_no_duplicates() -> None:
    grid = knob_grid([0.9, 1.0], [(0, 0.0), (10, 2.0), (5, 1.0)])
    assert grid[0] == Tuning()
    assert len(grid) == len(set(grid)) == 6
    assert all(t.feedback_weight == 0.0 for t in grid if t.feedback_docs == 0)
    pairs = {(t.semantic_weight, t.feedback_docs) for t in grid}
    assert pairs == set(itertools.product([0.9, 1.0], [0, 10, 5]))


def test_recipe_label_names_only_what_differs_from_the_default() -> None:
    assert recipe_label(Recipe()) == "default"
    assert recipe_label(Recipe(epochs=2, loss="listwise")) == "epochs=2,loss=listwise"


def test_a_kept_model_is_reused_only_for_its_recipe_and_queries(tmp_path: Path) -> None:
    fold = Fold(1, ("a",), ("b", "c"))
    record = {"recipe": {"epochs": 2, "seed": 0}, "fit": ["b", "c"]}  # an older, shorter record
    (tmp_path / "training.json").write_text(json.dumps(record), encoding="utf-8")
    assert holds_model(tmp_path, Recipe(epochs=2), fold)
    assert not holds_model(tmp_path, Recipe(epochs=1), fold)
    assert not holds_model(tmp_path, Recipe(epochs=2), Fold(1, ("b",), ("a", "c")))
    assert not holds_model(tmp_path / "missing", Recipe(epochs=2), fold)
    (tmp_path / "training.json").write_text(json.dumps({"recipe": {"no-such-knob": 1}}),
                                            encoding="utf-8")
    assert not holds_model(tmp_path, Recipe(), fold)
