"""`make eval`: the engine against two baselines on the dev set, in one run.

Prints topic top-1 accuracy, suggestions on off-topic paragraphs, and verdict accuracy per
perspective (all stances, and clearly one-sided ones) for:
- bm25: the bank's nearest exemplar by BM25; its position's topic and stance;
- nearest: the bank's nearest exemplar by cosine of the same embeddings;
- engine: the shipped engine (see server/core/engine.py: abstention by nearest exemplars
  against off-topic sentences, topic and stance by small classifiers on embeddings and cues);
- engine-no-cues: the engine with its stance classifiers blind to the lexical cues.
Abstention thresholds are tuned per method on the dev set's odd-numbered half ("tune") and
reported on the even half ("held") and on everything, so the comparison is fair and the
held-out numbers are not fitted. Every method is also reported on the blind test set
(eval/testset.jsonl, "test"): written apart from the dev set, the bank and the engine, and never
used to choose anything (eval/README.md).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np

from server.core.bm25 import BM25
from server.core.engine import SuggestionEngine
from server.core.redline import change_runs, char_diff, word_diff, words_kept
from server.core.topics import Perspective, Stance, Verdict, verdict_for
from server.services import build_engine
from server.settings import Settings

DEVSET = Path(__file__).with_name("devset.jsonl")
TESTSET = Path(__file__).with_name("testset.jsonl")
Prediction = list[tuple[str, dict[Perspective, Verdict]]]  # (topic, verdict per side), ranked
P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled dev-set paragraph."""

    id: str
    text: str
    topics: tuple[str, ...]
    stance: Stance | None

    @property
    def on_topic(self) -> bool:
        """Whether the paragraph raises any topic."""
        return bool(self.topics)


def load_devset(path: Path = DEVSET) -> list[Example]:
    """The dev set's paragraphs and labels."""
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            stance = Stance(row["stance"]) if row.get("stance") else None
            examples.append(Example(row["id"], row["text"], tuple(row["topics"]), stance))
    return examples


@dataclass(frozen=True, slots=True)
class Scores:
    """What make eval reports for one method on one set of examples."""

    topic_top1: float
    topic_strict: float
    off_topic_flagged: float
    unlabelled_topics: float  # topics raised per on-topic paragraph that its labels do not name
    verdict: dict[Perspective, float]
    verdict_one_sided: dict[Perspective, float]
    opposite: float  # one-sided paragraphs given the other side's verdict: the harmful error

    @property
    def objective(self) -> float:
        """What threshold tuning maximises: right topics, few false alarms."""
        return self.topic_top1 - self.off_topic_flagged


def score(examples: Sequence[Example], predictions: Sequence[Prediction]) -> Scores:
    """Compare predictions with the labels."""
    on = [(e, p) for e, p in zip(examples, predictions, strict=True) if e.on_topic]
    off = [(e, p) for e, p in zip(examples, predictions, strict=True) if not e.on_topic]
    top1 = np.mean([bool(p) and p[0][0] in e.topics for e, p in on]) if on else 0.0
    strict = np.mean([bool(p) and p[0][0] == e.topics[0] for e, p in on]) if on else 0.0
    flagged = np.mean([bool(p) for _, p in off]) if off else 0.0
    unlabelled = np.mean([sum(t not in e.topics for t, _ in p) for e, p in on]) if on else 0.0

    def verdicts(one_sided: bool) -> dict[Perspective, float]:
        result = {}
        for side in Perspective:
            hits = []
            for e, p in on:
                if e.stance is None or (one_sided and e.stance is Stance.NEUTRAL):
                    continue
                got = next((v for topic, v in p if topic == e.topics[0]), None)
                hits.append(got is not None and got[side] is verdict_for(side, e.stance))
            result[side] = float(np.mean(hits)) if hits else 0.0
        return result

    def opposite() -> float:
        flips = []
        for e, p in on:
            if e.stance is None or e.stance is Stance.NEUTRAL:
                continue
            got = next((v for topic, v in p if topic == e.topics[0]), None)
            flips.append(got is not None and got[Perspective.CUSTOMER] is verdict_for(
                Perspective.CUSTOMER, Stance.CUSTOMER if e.stance is Stance.VENDOR
                else Stance.VENDOR))
        return float(np.mean(flips)) if flips else 0.0

    return Scores(float(top1), float(strict), float(flagged), float(unlabelled),
                  verdicts(False), verdicts(True), opposite())


def engine_method(engine: SuggestionEngine) -> Callable[[str], Prediction]:
    """The shipped engine as a predictor."""
    def predict(text: str) -> Prediction:
        return [(f.topic, {side: f.verdict(side) for side in Perspective})
                for f in engine.findings(text)]
    return predict


def nearest_method(engine: SuggestionEngine, threshold: float) -> Callable[[str], Prediction]:
    """Plain nearest-neighbour cosine over all exemplars, same embeddings as the engine."""
    index = engine.index

    def predict(text: str) -> Prediction:
        vector = engine.memo.embed([text])[0]
        sims = index.vectors @ vector
        best = int(sims.argmax())
        if sims[best] < threshold:
            return []
        position = index.positions[best]
        return [(position.topic, {s: verdict_for(s, position.stance) for s in Perspective})]
    return predict


def bm25_method(engine: SuggestionEngine, bm25: BM25, threshold: float
                ) -> Callable[[str], Prediction]:
    """Plain BM25 over all exemplars: the best-scoring exemplar's topic and stance."""
    index = engine.index

    def predict(text: str) -> Prediction:
        scores = bm25.scores(text)
        best = int(scores.argmax())
        # BM25 grows with query length; normalise by query terms so one threshold fits all.
        if scores[best] / max(len(text.split()), 1) ** 0.5 < threshold:
            return []
        position = index.positions[best]
        return [(position.topic, {s: verdict_for(s, position.stance) for s in Perspective})]
    return predict


def tune(examples: Sequence[Example], make: Callable[[P], Callable[[str], Prediction]],
         grid: Sequence[P]) -> P:
    """The parameters on the grid that maximise the objective on these examples."""
    return max(grid, key=lambda t: score(examples, [make(t)(e.text) for e in examples]).objective)


def steps(low: float, high: float, step: float) -> list[float]:
    """Evenly spaced values from low to high inclusive."""
    return [round(low + i * step, 4) for i in range(int(round((high - low) / step)) + 1)]


def report(name: str, parameter: str, split: dict[str, Scores]) -> None:
    """One method's line per split."""
    for label, s in split.items():
        print(f"{name:<16} {label:<5} top1 {s.topic_top1:6.1%}  strict {s.topic_strict:6.1%}  "
              f"off-topic flagged {s.off_topic_flagged:6.1%}  "
              f"unlabelled {s.unlabelled_topics:4.2f}  "
              f"verdict cust {s.verdict[Perspective.CUSTOMER]:6.1%} "
              f"vend {s.verdict[Perspective.VENDOR]:6.1%}  "
              f"one-sided cust {s.verdict_one_sided[Perspective.CUSTOMER]:6.1%} "
              f"vend {s.verdict_one_sided[Perspective.VENDOR]:6.1%}  "
              f"opposite {s.opposite:5.1%}  ({parameter})")


def redline_quality(engine: SuggestionEngine, examples: Sequence[Example]) -> None:
    """Surgical redlines against replacing the paragraph (word diff) and a character diff.

    On every (paragraph, side, topic) the engine flags: share of original words kept, number
    of separate change runs, and whether the edited text is then assessed acceptable (a
    redline that does not fix the issue is a failed redline; a topic no longer raised counts
    as fixed).
    """
    rows: dict[str, list[tuple[float, int, bool]]] = {"surgical": [], "replace-paragraph": [],
                                                      "char-diff": []}
    for example in examples:
        for side in Perspective:
            for suggestion in engine.suggest(example.text, side):
                if suggestion.redline is None:
                    continue
                topic = engine.bank.topic(suggestion.topic)
                assert topic is not None
                target = topic.preferred(side).text
                for name, ops, after in (
                    ("surgical", suggestion.redline.ops, suggestion.redline.text),
                    ("replace-paragraph", word_diff(example.text, target), target),
                    ("char-diff", char_diff(example.text, target), target),
                ):
                    fixed = engine.verdict(after, suggestion.topic, side) in (
                        None, Verdict.ACCEPTABLE)
                    rows[name].append((words_kept(ops), change_runs(ops), fixed))
    print(f"redlines on {len(rows['surgical'])} flagged (paragraph, side, topic) cases:")
    for name, values in rows.items():
        kept, runs, repaired = (float(np.mean([float(v[i]) for v in values])) if values else 0.0
                             for i in range(3))
        print(f"{name:<18} words kept {kept:6.1%}  change runs {runs:5.2f}  "
              f"assessed acceptable after {repaired:6.1%}")


def main() -> int:
    """Run every method on the dev set and print the comparison."""
    started = time.perf_counter()
    examples = load_devset()
    tune_set = examples[0::2]
    held_set = examples[1::2]
    test_set = load_devset(TESTSET)
    settings = Settings.from_env()
    engine = build_engine(settings)
    bank = engine.bank
    print(f"dev set: {len(examples)} paragraphs ({sum(e.on_topic for e in examples)} on topic), "
          f"test set: {len(test_set)} ({sum(e.on_topic for e in test_set)} on topic), "
          f"bank: {len(bank.positions())} positions, {len(engine.index.texts)} exemplar rows")

    def run(name: str, make: Callable[[P], Callable[[str], Prediction]],
            grid: Sequence[P]) -> None:
        chosen = tune(tune_set, make, grid)
        predict = make(chosen)
        split = {s: score(subset, [predict(e.text) for e in subset])
                 for s, subset in (("tune", tune_set), ("held", held_set), ("all", examples),
                                   ("test", test_set))}
        report(name, f"{chosen} tuned on 'tune'", split)

    bm25 = BM25(engine.index.texts)
    run("bm25", lambda t: bm25_method(engine, bm25, t), steps(0.0, 6.0, 0.25))
    run("nearest", lambda t: nearest_method(engine, t), steps(0.30, 0.80, 0.02))
    base = engine.tuning
    knobs = [(t, m) for t in steps(0.40, 0.60, 0.05) for m in steps(0.0, 0.15, 0.025)]
    for name, variant in (("engine-no-cues", replace(base, stance_cues=False)),
                          ("engine-no-drafting", replace(base, drafting_side=False)),
                          ("engine", base)):
        tuned = engine.with_tuning(variant)
        run(name, lambda knob, e=tuned: engine_method(  # type: ignore[misc]
            e.with_tuning(replace(e.tuning, topic_threshold=knob[0],
                                  background_margin=knob[1]))), knobs)
    print(f"shipped engine: {base}")
    shipped = engine_method(engine)
    report("engine-shipped", "as shipped", {
        s: score(subset, [shipped(e.text) for e in subset])
        for s, subset in (("held", held_set), ("all", examples), ("test", test_set))})
    redline_quality(engine, examples)
    print(f"eval took {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
