"""Lexical cues and canonical party names: what the embedding cannot tell apart, the cues can."""

from __future__ import annotations

import pytest

from server.core.cues import CUE_NAMES, cues
from server.core.matching import canonical_parties


def shown(text: str) -> set[str]:
    """The names of the cues the text shows."""
    return {name for name, on in zip(CUE_NAMES, cues(text), strict=True) if on}


@pytest.mark.parametrize("vendor", ["Vendor", "Provider", "Consultant", "Contractor", "We"])
def test_a_vendor_ban_and_a_vendor_permission_differ(vendor: str) -> None:
    banned = shown(f"{vendor} shall not use Customer Data to train models.")
    allowed = shown(f"{vendor} may use Customer Data to train models.")
    assert "vendor_forbidden" in banned and "vendor_permitted" not in banned
    assert "vendor_permitted" in allowed and "vendor_forbidden" not in allowed


def test_the_customer_side_is_read_as_the_customer() -> None:
    text = "Client shall not use the Outputs to develop a competing model."
    assert {"customer_forbidden", "negation"} <= shown(text)
    assert not shown(text) & {"vendor_forbidden", "vendor_permitted"}


def test_consent_carve_outs_and_disclaimers_are_cues() -> None:
    assert {"consent", "exception"} <= shown(
        "Vendor shall not train on Inputs unless Customer gives prior written consent.")
    assert "disclaimer" in shown("OUTPUTS ARE PROVIDED AS IS AND VENDOR DISCLAIMS ALL WARRANTIES.")


def test_parties_are_named_canonically_before_embedding() -> None:
    assert canonical_parties("Consultant shall not train on Client Data.") == (
        "Vendor shall not train on Customer Data.")
    assert canonical_parties("Provider may use Licensee inputs.") == (
        "Vendor may use Customer inputs.")


@pytest.mark.parametrize(("drafted", "read"), [
    ("Processor shall not use Controller Personal Data to train any model.",
     "Vendor shall not use Customer Personal Data to train any model."),
    ("The Authority may audit the Contractor's AI systems.",
     "The Customer may audit the Vendor's AI systems."),
    ("The Firm shall not use generative AI on Client matters.",
     "The Vendor shall not use generative AI on Customer matters."),
    ("Seller warrants the Outputs.", "Vendor warrants the Outputs."),
])
def test_dpa_public_sector_and_law_firm_parties_are_named_canonically(drafted: str,
                                                                       read: str) -> None:
    assert canonical_parties(drafted) == read


@pytest.mark.parametrize("kept", [
    "the Supervisory Authority may ask for the records",
    "each Sub-Processor is bound in writing",
])
def test_names_that_are_not_the_parties_are_kept(kept: str) -> None:
    assert canonical_parties(kept) == kept


@pytest.mark.parametrize("claim", [
    "owns all Outputs", "retains all right, title and interest in Outputs",
    "reserves all rights in and to Outputs"])
def test_who_owns_is_a_cue_however_it_is_said(claim: str) -> None:
    assert "ownership_vendor" in shown(f"Company {claim}.")
    assert "ownership_customer" in shown(f"Subscriber {claim}.")


def test_cues_read_capitals_as_lower_case() -> None:
    assert shown("VENDOR SHALL NOT TRAIN ON CUSTOMER DATA.") == shown(
        "Vendor shall not train on Customer Data.")
