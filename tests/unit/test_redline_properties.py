"""Invariants of every redline, on arbitrary text (hypothesis)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from html import unescape

from hypothesis import given, settings
from hypothesis import strategies as st

from server.core.redline import (
    Op,
    after_text,
    before_text,
    change_runs,
    char_diff,
    normalize,
    propose,
    propose_many,
    tokens,
    unicode_tokens,
    word_diff,
    words_kept,
    words_split,
)
from server.core.redline_html import redline_html

# Pieces that exercise what contracts contain: defined terms, numbers, brackets, both quote
# styles, labels, accents (composed and combining), whitespace runs and line breaks.
PIECES = ["Provider", "Client", "Customer", "Vendor", "we", "you", "your", "may", "shall", "not",
          "use", "Data", "train", "models", "thirty", "sixty", "(30)", "(60)", "days", "7.3",
          "(a)", "(b)", "Section", "Model Training.", "Notwithstanding", "the", "of", "and",
          "or", "’s", "'s", "“", "”", '"', "'", ".", ",", ";", ":", "(", ")", "[", "]", "-",
          " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u2028", "\u00a0", "é", "e\u0301", "ß",
          "日本語", "Ωmega", "1,000", "e.g.", "and/or", "fine-tune", "; and", ". ", ".  "]

contract_text = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
texts = st.one_of(contract_text, any_text)
# no deadline: speed is measured in bench/, never in unit tests
untimed = settings(deadline=None)
offends_functions = st.functions(like=lambda sentence: True, returns=st.booleans(), pure=True)


def assert_well_formed(ops: Sequence[Op]) -> None:
    """No empty op; neighbours differ in kind; within a change the delete comes first."""
    assert all(op.text for op in ops)
    for left, right in zip(ops, ops[1:], strict=False):
        assert left.op != right.op
        assert (left.op, right.op) != ("insert", "delete")


@untimed
@given(texts, texts)
def test_word_diff_reconstructs_both_texts(before: str, after: str) -> None:
    ops = word_diff(before, after)
    assert before_text(ops) == before
    assert after_text(ops) == after
    assert_well_formed(ops)


@untimed
@given(texts, texts)
def test_word_diff_never_splits_a_word(before: str, after: str) -> None:
    assert words_split(word_diff(before, after)) == 0


@untimed
@given(texts, texts)
def test_keeping_spacing_changes_only_whitespace_of_the_result(before: str, after: str) -> None:
    ops = word_diff(before, after, keep_spacing=True)
    assert before_text(ops) == before
    assert after_text(ops).split() == after.split()
    assert_well_formed(ops)
    assert words_split(ops) == 0


@untimed
@given(texts)
def test_a_text_against_itself_is_all_kept(text: str) -> None:
    ops = word_diff(text, text)
    assert ops == ((Op("equal", text),) if text else ())
    assert words_kept(ops) == 1.0 and change_runs(ops) == 0


@settings(deadline=None, max_examples=300)
@given(texts, texts, offends_functions)
def test_propose_keeps_the_invariants_for_any_offends(
        paragraph: str, target: str, offends: Callable[[str], bool]) -> None:
    redline = propose(paragraph, target, offends)
    assert before_text(redline.ops) == paragraph
    assert after_text(redline.ops) == redline.text
    assert_well_formed(redline.ops)
    assert words_split(redline.ops) == 0
    assert redline.strategy in {"edit-sentence", "replace-sentence", "carve-out",
                                "replace-paragraph", "no-change"}
    assert 0.0 <= words_kept(redline.ops) <= 1.0


@untimed
@given(texts, st.lists(texts, min_size=1, max_size=3), offends_functions)
def test_propose_many_matches_propose_one_by_one(
        paragraph: str, targets: list[str], offends: Callable[[str], bool]) -> None:
    assert propose_many(paragraph, targets, offends) == [
        propose(paragraph, t, offends) for t in targets]


@untimed
@given(texts, texts)
def test_char_diff_reconstructs_both_texts(before: str, after: str) -> None:
    ops = char_diff(before, after)
    assert before_text(ops) == before and after_text(ops) == after
    assert_well_formed(ops)


@untimed
@given(st.lists(st.builds(Op, st.sampled_from(["equal", "delete", "insert"]), texts)))
def test_normalize_keeps_both_texts_and_merges(ops: list[Op]) -> None:
    merged = normalize(ops)
    assert before_text(merged) == before_text(ops)
    assert after_text(merged) == after_text(ops)
    assert_well_formed(merged)


@untimed
@given(texts, texts)
def test_html_holds_only_our_tags_and_escapes_the_rest(before: str, after: str) -> None:
    ops = word_diff(before, after)
    html = redline_html(ops)
    assert set(re.findall(r"<[^>]*>", html)) <= {"<ins>", "</ins>", "<del>", "</del>"}
    struck = "".join(re.findall(r"<del>(.*?)</del>", html, re.S))
    assert unescape(struck) == "".join(op.text for op in ops if op.op == "delete")
    assert unescape(re.sub(r"<del>.*?</del>|</?ins>", "", html, flags=re.S)) == after


ascii_pieces = [piece for piece in PIECES if piece.isascii()] + ["\x1c", "\v", "_", "1,", ",5",
                                                               "a'", "-b", "./", "x.y.z"]
ascii_text = st.one_of(st.lists(st.sampled_from(ascii_pieces), max_size=40).map("".join),
                       st.text(st.characters(max_codepoint=127), max_size=60))


@untimed
@given(ascii_text)
def test_the_ascii_tokenizer_splits_as_the_general_one(text: str) -> None:
    assert tokens(text) == unicode_tokens(text)
    assert "".join(tokens(text)) == text
