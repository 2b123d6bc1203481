"""Whom the drafting favours: who may, must, must not, owns, waives or is not liable."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.adapters.bank_yaml import load_bank
from server.core.favour import NEEDS, RULES, favoured, lean, terms
from server.core.topics import Perspective, Stance

CUSTOMER, VENDOR = Perspective.CUSTOMER, Perspective.VENDOR
BANK = Path(__file__).resolve().parents[2] / "clause_bank"


@pytest.mark.parametrize(("text", "side"), [
    # a ban burdens the party it names; a permission favours it
    ("Vendor shall not use Customer Data to train any model.", CUSTOMER),
    ("Vendor may use Customer Data to train its models.", VENDOR),
    ("We will never sell your prompts to anyone.", CUSTOMER),
    ("We can use what you upload to make our assistants better.", VENDOR),
    # an obligation, a warranty or an indemnity burdens its party
    ("Supplier shall publish a list of the foundation models it relies on.", CUSTOMER),
    ("Provider warrants that the scoring engine has been tested for disparate impact.",
     CUSTOMER),
    ("Licensee shall indemnify Licensor against claims arising from its prompts.", VENDOR),
    # exemptions and disclaimers favour their party, though they read like bans
    ("Company shall not be liable for any loss caused by an Output.", VENDOR),
    ("THE COMPANY SHALL NOT BE LIABLE FOR ANY INACCURATE OUTPUT.", VENDOR),
    ("Provider does not warrant that Outputs are free of errors.", VENDOR),
    ("Vendor shall have no confidentiality obligation for prompts.", VENDOR),
    # giving up rights
    ("Client shall have no right to inspect the training pipeline.", VENDOR),
    ("Subscriber irrevocably waives any claim to the model weights.", VENDOR),
    ("Buyer is solely responsible for checking every generated answer.", VENDOR),
    # who owns
    ("Every Output shall vest in Licensee as soon as it is generated.", CUSTOMER),
    ("Fine-tuned weights are owned exclusively by Provider.", VENDOR),
    ("Consultant hereby assigns to Client all rights in the Deliverables.", CUSTOMER),
    ("Client Data shall remain Client's sole and exclusive property.", CUSTOMER),
    # a permission limited to a purpose restricts its party
    ("Vendor may use Telemetry solely to keep the Services running securely.", CUSTOMER),
    ("Customer may use Outputs for internal purposes only.", VENDOR),
    # liability caps and their carve-outs
    ("Vendor's aggregate liability shall not exceed the fees paid in the prior year.", VENDOR),
    ("Vendor's liability for a leak of Customer Data shall be unlimited.", CUSTOMER),
    ("No cap applies to Vendor's liability for a breach of Section 8.", CUSTOMER),
    ("Vendor's liability for data claims is hereby made subject to the cap in Section 11.",
     VENDOR),
    # positions stated without the party as subject
    ("Outputs and the rights in them belong to Provider.", VENDOR),
    ("Client Data will not be used to improve any model.", CUSTOMER),
    ("Chat logs shall not be kept by Provider once a session ends.", CUSTOMER),
    ("Nothing in this Agreement restricts Provider from offering similar Outputs to others.",
     VENDOR),
    ("Licensee grants Supplier a revocable licence to use Inputs solely to run the Services.",
     CUSTOMER),
    # indemnities and remedies, section numbers and asides included
    ("Supplier's indemnity under Section 12.3 extends to claims about Outputs.", CUSTOMER),
    ("Supplier's indemnity does not extend to claims about Outputs.", VENDOR),
    ("Licensee's sole and exclusive remedy for a faulty Output is a re-run.", VENDOR),
    ("Vendor is responsible, at its own cost, for meeting every AI law that applies.", CUSTOMER),
    ("YOU ARE SOLELY RESPONSIBLE FOR CHECKING OUTPUTS BEFORE RELYING ON THEM.", VENDOR),
    ("Vendor's liability for any breach of its duties about Customer Data, including a use of "
     "that data for training that Section 6.2 forbids, is subject to the cap in Section 14.2.",
     VENDOR),
    # online terms: contractions, and restraints stated in the present tense
    ("We'll tell you before we switch the model behind a feature.", CUSTOMER),
    ("We don't share your prompts with advertisers.", CUSTOMER),
    ("You don't need to credit us when you publish an answer.", CUSTOMER),
    ("You won't be charged for generations that fail.", CUSTOMER),
    ("WE WON'T SELL YOUR PROMPTS TO ANYONE.", CUSTOMER),
    ("You can’t resell what the assistant writes.", VENDOR),
    ("You’re responsible for checking what the assistant writes before you rely on it.", VENDOR),
    ("Vendor does not accept any liability for Outputs.", VENDOR),
    # ownership stated as "the property of" or as a work made for hire
    ("Usage statistics are the property of Supplier.", VENDOR),
    ("Each report the tool drafts is a work made for hire for Client.", CUSTOMER),
    ("Contractor shall be free to use generative tools in the work.", VENDOR),
    # what binds a party, and who keeps control
    ("The steering group's advice does not bind Supplier.", VENDOR),
    ("No usage policy of Provider shall bind Customer unless Customer signs it.", CUSTOMER),
    ("Provider retains sole control over which model answers each request.", VENDOR),
])
def test_the_drafting_favours_the_side_its_terms_protect(text: str, side: Perspective) -> None:
    assert favoured(lean(text)) is side


@pytest.mark.parametrize("text", [
    "Fees are due thirty days after the invoice date.",
    # a promise the promisor controls binds it too loosely to favour the other side
    "Vendor shall use commercially reasonable efforts to reduce bias in the models.",
    # one term each way
    "Customer owns the Outputs but grants Vendor a licence to use them for any purpose.",
    # "customer" in lower case is a word, not the party
    "An output shown to another customer shall be reported within a day.",
    # what a party does not do for the other restrains nothing (only data and rights do)
    "Vendor does not monitor the models for drift.",
])
def test_the_drafting_can_be_silent_or_balanced(text: str) -> None:
    assert favoured(lean(text)) is None


def test_each_term_is_read_once_by_the_first_rule_that_claims_it() -> None:
    found = terms("Provider shall not be liable for Outputs, and Client shall not rely on them.")
    assert [(t.kind, t.favours) for t in found] == [("exemption", VENDOR),
                                                    ("prohibition", VENDOR)]


def test_the_rules_read_the_bank_s_one_sided_exemplars_the_right_way_round() -> None:
    # The clause bank was written apart from these rules: where they speak on a one-sided
    # exemplar, they should nearly always name the side its position favours.
    right = wrong = 0
    for position in load_bank(BANK).positions():
        if position.stance is Stance.NEUTRAL:
            continue
        for text in (position.text, *position.exemplars):
            side = favoured(lean(text))
            if side is not None:
                expected = CUSTOMER if position.stance is Stance.CUSTOMER else VENDOR
                right, wrong = right + (side is expected), wrong + (side is not expected)
    assert right + wrong > 500
    assert right / (right + wrong) >= 0.93


def test_each_rule_s_needed_word_is_written_in_that_rule() -> None:
    patterns = {kind: pattern.lower() for kind, pattern, _ in RULES}
    for kind, word in NEEDS.items():
        assert word in patterns[kind], kind


def test_a_rule_still_reads_its_word_in_capitals() -> None:
    assert [t.kind for t in terms("VENDOR IRREVOCABLY WAIVES ANY CLAIM TO OUTPUTS.")] == ["waiver"]
