"""The engine's decisions on the fixture bank with the fake embedder."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from server.adapters.bank_yaml import load_bank
from server.core.engine import SuggestionEngine, _topics_raised
from server.core.topics import Perspective, Stance, Verdict
from tests.conftest import FIXTURES
from tests.fakes import HashingEmbedder


@pytest.fixture(scope="module")
def engine() -> SuggestionEngine:
    return SuggestionEngine(load_bank(FIXTURES / "bank"), HashingEmbedder())


def test_paragraph_about_no_topic_gets_nothing(engine: SuggestionEngine) -> None:
    assert engine.suggest("Invoices are payable in euros within forty days.",
                          Perspective.CUSTOMER) == []


def test_paragraph_on_two_topics_gets_two_suggestions(engine: SuggestionEngine) -> None:
    text = ("The provider may use customer data to train its models. "
            "The supplier's aggregate liability shall not exceed the fees paid in the last "
            "twelve months.")
    topics = {s.topic for s in engine.suggest(text, Perspective.CUSTOMER)}
    assert topics == {"training-use", "liability-cap"}


def test_the_same_text_reads_oppositely_for_the_two_sides(engine: SuggestionEngine) -> None:
    text = "The provider may use customer data to train its models."
    [for_customer] = engine.suggest(text, Perspective.CUSTOMER)
    [for_vendor] = engine.suggest(text, Perspective.VENDOR)
    assert for_customer.stance is for_vendor.stance is Stance.VENDOR
    assert for_customer.verdict is Verdict.UNACCEPTABLE
    assert for_vendor.verdict is Verdict.ACCEPTABLE and for_vendor.redline is None


def test_unacceptable_suggestion_offers_ranked_fallbacks_with_redlines(
    engine: SuggestionEngine,
) -> None:
    [suggestion] = engine.suggest("The provider may use customer data to train its models.",
                                  Perspective.CUSTOMER)
    assert suggestion.reason
    assert [f.id for f in suggestion.fallbacks] == ["tu-c-fb1"]
    assert all(f.redline is not None for f in suggestion.fallbacks)
    assert 0.0 <= suggestion.score <= 1.0


def test_headings_take_no_position(engine: SuggestionEngine) -> None:
    assert engine.suggest("7.3 Training on Customer Data.", Perspective.CUSTOMER) == []
    assert engine.suggest("MASTER SUBSCRIPTION AGREEMENT", Perspective.VENDOR) == []


def test_a_sentence_raises_a_second_topic_it_is_nearly_as_likely_about() -> None:
    probabilities = np.array([[0.55, 0.35, 0.10], [0.80, 0.15, 0.05]], dtype=np.float32)
    raised = _topics_raised(probabilities, second=0.3)
    assert raised.tolist() == [[True, True, False], [True, False, False]]


def test_the_bank_s_own_language_reads_as_its_position(engine: SuggestionEngine) -> None:
    # Repeated bank language is not left to the classifiers: it takes its position's stance
    # outright, so every one of its units reads with certainty.
    for position in engine.bank.positions():
        finding = next(f for f in engine.findings(position.text) if f.topic == position.topic)
        certain = [1.0 if stance is position.stance else 0.0 for stance in Stance]
        assert all(list(r.stance_scores) == certain for r in finding.readings), position.id



ASIDE = "Each invoice is the property of Client once issued."  # raises no topic, leans customer


def test_sentences_that_raise_no_topic_speak_where_the_topic_s_own_are_silent(
    engine: SuggestionEngine,
) -> None:
    silent = "Customer data may be used to train the provider's models."
    [alone] = engine.findings(silent)
    [with_aside] = engine.findings(f"{silent} {ASIDE}")
    assert [r.unit for r in with_aside.readings] == [r.unit for r in alone.readings]
    assert [r.lean for r in alone.readings] == [0]
    customer = list(Stance).index(Stance.CUSTOMER)
    assert with_aside.stance_scores[customer] > alone.stance_scores[customer]


def test_an_aside_does_not_move_the_playbook_s_own_language(engine: SuggestionEngine) -> None:
    grant = "The provider may use customer data to train its models."
    [alone] = engine.findings(grant)
    [with_aside] = engine.findings(f"{grant} {ASIDE}")
    assert with_aside.stance is alone.stance is Stance.VENDOR
    assert with_aside.stance_scores == alone.stance_scores


def test_the_neighbours_vote_moves_mass_among_topics_only(engine: SuggestionEngine) -> None:
    topic = engine.bank.topics[0]
    text = next(p for p in engine.bank.positions() if p.topic == topic.id).exemplars[0]
    vectors = engine.embedder.embed([text])
    closeness = engine._closeness(vectors @ engine.index.vectors.T)
    alone = engine.with_tuning(replace(engine.tuning, neighbour_vote=0.0))
    plain = alone._topic_probabilities(vectors, closeness)
    voted = engine._topic_probabilities(vectors, closeness)
    t = engine.index.topic_ids.index(topic.id)
    assert voted[0, -1] == pytest.approx(plain[0, -1])  # how likely "none" is: unchanged
    assert voted[0].sum() == pytest.approx(1.0)
    assert voted[0, t] > plain[0, t]  # its own exemplar's topic gains
