"""The redline engine: word diffs a lawyer reads as few changes, and sentence-scoped strategies."""

from __future__ import annotations

import pytest

from server.core.redline import (
    Op,
    after_text,
    change_runs,
    char_diff,
    propose,
    propose_many,
    read_sentences,
    tokens,
    word_diff,
    words_kept,
    words_split,
)
from server.core.redline_html import redline_html

TRAINING = "Vendor shall not use Customer Data to train or improve any model."
FIVE = ("Provider will host the Services in the European Union. "
        "Provider may use Client Data to train and improve its models. "
        "Provider will keep Client Data confidential. "
        "Client may export its data at any time. "
        "Provider will delete Client Data on termination.")


def about_training(sentence: str) -> bool:
    return "train" in sentence


def changes(ops: tuple[Op, ...]) -> list[tuple[str, str]]:
    return [(op.op, op.text) for op in ops if op.op != "equal"]


def test_thirty_to_sixty_days_is_one_change() -> None:
    ops = word_diff("within thirty (30) days of notice", "within sixty (60) days of notice")
    assert ops == (Op("equal", "within "), Op("delete", "thirty (30)"),
                   Op("insert", "sixty (60)"), Op("equal", " days of notice"))


def test_the_character_baseline_splits_those_words() -> None:
    ops = char_diff("within thirty (30) days", "within sixty (60) days")
    assert words_split(ops) > 0 and change_runs(ops) > 1


def test_changes_joined_by_a_connective_read_as_one() -> None:
    assert changes(word_diff("Inputs or Outputs", "Prompts or Results")) == [
        ("delete", "Inputs or Outputs"), ("insert", "Prompts or Results")]


def test_a_substantive_word_between_changes_is_kept() -> None:
    ops = word_diff("may train and improve its models",
                    "shall train, fine-tune or improve any model")
    assert "improve" not in "".join(op.text for op in ops if op.op != "equal")


def test_a_line_break_between_changes_is_never_struck() -> None:
    ops = word_diff("alpha\nbeta", "gamma\ndelta")
    assert Op("equal", "\n") in ops


def test_a_possessive_changes_as_a_whole_word() -> None:
    assert changes(word_diff("Customer consent", "Customer's consent")) == [
        ("delete", "Customer"), ("insert", "Customer's")]


@pytest.mark.parametrize(("text", "expected"), [
    ("fine-tune 7.3 Customer’s 1,000", ["fine-tune", " ", "7.3", " ", "Customer’s", " ", "1,000"]),
    ("a, b", ["a", ",", " ", "b"]),
    ("cafe\u0301  x", ["cafe\u0301", "  ", "x"]),
])
def test_tokens_keep_words_whole(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_labels_and_a_heading_are_set_aside() -> None:
    text = "7.3 Model Training. Provider may train models.\n(b) Client may object."
    sentences = read_sentences(text)
    assert [text[s.start:s.end] for s in sentences] == [
        "Model Training.", "Provider may train models.", "Client may object."]
    assert [s.heading for s in sentences] == [True, False, False]
    assert text[sentences[2].label_start:sentences[2].start] == "(b) "


def test_one_offending_sentence_of_five_is_the_only_one_edited() -> None:
    redline = propose(FIVE, TRAINING, about_training)
    assert redline.strategy == "edit-sentence"
    kept = "".join(op.text for op in redline.ops if op.op == "equal")
    for sentence in FIVE.split(". "):
        if "train" not in sentence:
            assert sentence in kept
    assert "Provider shall not use Client Data to train" in redline.text
    assert "sentence 2 of 5" in redline.note


def test_when_no_sentence_offends_a_rider_is_added_and_nothing_struck() -> None:
    redline = propose(FIVE, TRAINING, lambda s: False)
    assert redline.strategy == "carve-out"
    assert [op.op for op in redline.ops] == ["equal", "insert", "equal"]
    assert redline.ops[1].text == (" Notwithstanding the foregoing, Provider shall not use Client"
                                   " Data to train or improve any model.")
    assert redline.ops[0].text.endswith("improve its models.")  # after the nearest sentence


def test_when_every_sentence_offends_the_body_is_replaced_but_not_its_number() -> None:
    paragraph = "7.3 Model Training. Provider may train on Client Data. Provider may sell it."
    redline = propose(paragraph, TRAINING, lambda s: True)
    assert redline.strategy == "replace-paragraph"
    assert redline.text == "7.3 Model Training. " + TRAINING.replace(
        "Vendor", "Provider").replace("Customer", "Client")
    assert redline.ops[0].op == "equal" and redline.ops[0].text.startswith("7.3 Model Training. ")


def test_a_rewrite_that_would_shred_the_sentence_replaces_it_whole() -> None:
    paragraph = "Provider keeps all rights in everything derived from usage."
    redline = propose(paragraph, TRAINING, lambda s: True)
    assert redline.strategy == "replace-sentence"
    assert changes(redline.ops) == [
        ("delete", "keeps all rights in everything derived from usage"),
        ("insert", "shall not use Customer Data to train or improve any model")]  # one change


def test_a_second_offending_sentence_is_struck_with_its_space() -> None:
    paragraph = ("Provider may train on Client Data. Client may export its data. "
                 "Provider may also sell Client Data to model trainers.")
    redline = propose(paragraph, TRAINING, about_training)
    assert redline.text.endswith("Client may export its data.")
    assert ("delete", " Provider may also sell Client Data to model trainers.") in changes(
        redline.ops)


def test_an_edited_list_item_keeps_its_own_ending() -> None:
    paragraph = "(a) Provider may train models on Client Data; and\n(b) Client may object."
    redline = propose(paragraph, TRAINING, about_training)
    assert redline.text.startswith("(a) Provider shall not")
    assert "; and\n(b) Client may object." in redline.text


def test_a_paragraph_that_already_says_it_is_left_alone() -> None:
    redline = propose("Intro. " + TRAINING, TRAINING, lambda s: True)
    assert redline.strategy == "no-change" and redline.text == "Intro. " + TRAINING


def test_curly_quotes_and_double_spaces_outside_the_change_survive() -> None:
    paragraph = "Provider’s “Platform” is hosted.  Provider may use Client Data to train models."
    redline = propose(paragraph, "Vendor's models are not trained on Customer Data.",
                      about_training)
    assert redline.text.startswith("Provider’s “Platform” is hosted.  ")
    assert "'" not in redline.text


def test_offends_is_asked_once_per_sentence_for_all_targets() -> None:
    asked: list[str] = []

    def offends(sentence: str) -> bool:
        asked.append(sentence)
        return "train" in sentence

    propose_many(FIVE, [TRAINING, "Vendor may train only with consent."], offends)
    assert len(asked) == 5


def test_measures_count_kept_words_and_change_runs() -> None:
    ops = (Op("equal", "a b "), Op("delete", "c"), Op("insert", "x"), Op("equal", " d"),
           Op("insert", " e"))
    assert words_kept(ops) == 0.75
    assert change_runs(ops) == 2
    assert words_kept((Op("equal", "ca"), Op("insert", "r"), Op("equal", "t"))) == 0.0
    assert after_text(ops) == "a b x d e"


def test_html_marks_changes_and_escapes_text() -> None:
    ops = (Op("equal", "a <b> & "), Op("delete", "\"c\""), Op("insert", "d\n"))
    assert redline_html(ops) == "a &lt;b&gt; &amp; <del>&quot;c&quot;</del><ins>d\n</ins>"


def test_a_list_lead_in_that_offends_brings_its_items() -> None:
    paragraph = ("Fees are fixed. You agree that the AI Features: (a) may train on your data; "
                 "(b) may keep your data; and (c) may share it. Notices go by email.")
    redline = propose(paragraph, TRAINING, lambda s: s.startswith("You agree"))
    assert redline.text == "Fees are fixed. " + TRAINING + " Notices go by email."


def test_a_rider_never_lands_between_list_items() -> None:
    paragraph = "Provider shall:\n(a) use Client Data to improve models.\n(b) invoice monthly."
    redline = propose(paragraph, TRAINING, lambda s: False)
    assert redline.strategy == "carve-out"
    assert redline.text.startswith(paragraph)  # appended after the last item


def test_a_sentence_without_a_full_stop_does_not_gain_one() -> None:
    redline = propose("Provider may use Client Data to train models", TRAINING, lambda s: True)
    assert not redline.text.endswith(".")


def test_a_capitalised_disclaimer_names_its_parties_too() -> None:
    paragraph = "PROVIDER DOES NOT WARRANT OUTPUTS. CLIENT RELIES ON THEM AT ITS OWN RISK."
    redline = propose(paragraph, "Vendor warrants Outputs to Customer.", lambda s: False)
    assert "Provider warrants Outputs to Client." in redline.text
