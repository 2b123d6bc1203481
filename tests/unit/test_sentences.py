"""The one sentence split that matching and redlines share."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from server.core.matching import units
from server.core.redline import read_sentences
from server.core.sentences import sentence_spans, sentences
from tests.fakes import HashingEmbedder


def test_sentences_keep_numbered_lists_together() -> None:
    text = "7.3 Training. Vendor shall not train (a) on Inputs; or (b) on Outputs. Fees are due."
    assert sentences(text) == [
        "7.3 Training.",
        "Vendor shall not train (a) on Inputs; or (b) on Outputs.",
        "Fees are due.",
    ]


def test_sentence_spans_are_exact_offsets_and_keep_closing_quotes() -> None:
    text = "  It is called the “Service.” Provider may host it.\nClient may pay; Client may not "
    spans = [text[a:b] for a, b in sentence_spans(text)]
    assert spans == ["It is called the “Service.”", "Provider may host it.", "Client may pay;",
                     "Client may not"]


def test_a_line_break_ends_a_sentence() -> None:
    assert sentences("Vendor may train on Inputs\nCustomer may opt out") == [
        "Vendor may train on Inputs", "Customer may opt out"]


_CLAUSE_TEXT = st.lists(
    st.sampled_from(["Vendor", "may", "train", "on", "“Inputs.”", "(a)", "Outputs;", "e.g.",
                     "Section 4.2.", "Customer", "shall", "not!", "[Fees]", "\n", "  "]),
    max_size=25).map(" ".join)


@given(_CLAUSE_TEXT)
def test_every_sentence_the_redliner_edits_lies_in_a_unit_the_engine_judged(text: str) -> None:
    # The redliner strikes a sentence when it lies in a unit read as offending; with two
    # different splits a closing quote or bracket fell between them and the match was lost.
    # Both set aside labels ("(a)") and a leading heading, which are never edited.
    judged = units(text, HashingEmbedder())
    for s in read_sentences(text):
        sentence = text[s.start:s.end]
        assert s.heading or any(sentence in unit for unit in judged), (sentence, judged)
