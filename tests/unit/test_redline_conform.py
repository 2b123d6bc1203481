"""Playbook language conformed to the paragraph's party names and quote style."""

from __future__ import annotations

import pytest

from server.core.redline_conform import conform, match_quotes, party_name

TARGET = "Vendor shall not use Customer Data to train. Customer's consent is required."


def test_party_names_follow_the_paragraph() -> None:
    paragraph = "Provider may process Client Data for Client."
    assert conform(TARGET, paragraph) == (
        "Provider shall not use Client Data to train. Client's consent is required.")


def test_a_compound_the_paragraph_itself_uses_is_kept() -> None:
    paragraph = "Provider may process Customer Data for the Client."
    assert conform("Vendor shall not use Customer Data.", paragraph) == (
        "Provider shall not use Customer Data.")


def test_the_article_comes_along_when_the_paragraph_always_writes_it() -> None:
    paragraph = "The Supplier may process data. Fees are payable to the Supplier."
    assert conform("Vendor's liability is capped. Vendor shall notify.", paragraph) == (
        "The Supplier's liability is capped. The Supplier shall notify.")


def test_a_name_the_paragraph_already_shares_is_not_touched() -> None:
    paragraph = "Vendor and Provider agree."
    assert conform("Vendor shall not train.", paragraph) == "Vendor shall not train."


def test_pronouns_where_grammar_is_certain() -> None:
    paragraph = "We may use your Content to improve the Services."
    assert conform("Vendor shall not use Customer Content to train. Notice goes to Customer.",
                   paragraph) == "We shall not use your Content to train. Notice goes to you."


@pytest.mark.parametrize("target", [
    "Vendor uses data.",                       # "we uses" would be ungrammatical
    "Vendor shall not train its models.",      # "its" would have to become "our"
    "The Vendor shall not train.",             # "the we"
])
def test_pronouns_are_not_guessed(target: str) -> None:
    assert conform(target, "We may use your data.") == target


def test_party_name_is_the_most_used_then_the_earliest() -> None:
    assert party_name("Provider and Supplier; Supplier", ("Provider", "Supplier")) == "Supplier"
    assert party_name("Provider and Supplier", ("Provider", "Supplier")) == "Provider"
    assert party_name("the provider", ("Provider",)) is None


def test_quotes_follow_the_paragraph() -> None:
    assert match_quotes('"Data" is Vendor\'s', "the “Service” and Provider’s") == (
        "“Data” is Vendor’s")
    assert match_quotes("“Data” is Vendor’s", 'the "Service"') == '"Data" is Vendor\'s'
    assert match_quotes('"Data"', "no quotes here") == '"Data"'


def test_a_defined_term_ending_in_the_name_does_not_block_renaming() -> None:
    target = "Vendor shall not share Customer Data with a Third-Party AI Provider."
    got = conform(target, "Provider may share Client prompts with its partners.")
    assert got == "Provider shall not share Client Data with a Third-Party AI Provider."
