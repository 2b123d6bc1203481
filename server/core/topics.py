"""The fixed vocabulary of the playbook: topic ids, perspectives, position kinds, verdicts."""

from __future__ import annotations

from enum import StrEnum

TOPICS: dict[str, str] = {
    "ai-disclosure": "Disclosure of AI components, features and models",
    "ai-use-restriction": "Restrictions on AI use",
    "input-ownership": "Ownership of inputs and Customer Data",
    "output-ownership": "Ownership of AI outputs",
    "training-use": "Training and model improvement on customer data",
    "derivative-data": "Derivative, usage and aggregated data",
    "third-party-ai": "Third-party AI providers and flow-down terms",
    "confidentiality-leakage": "Confidentiality inside AI systems",
    "liability-cap": "Liability caps and exclusions for AI and data harms",
    "indemnity": "Indemnities for outputs and models",
    "governance": "AI governance, notice and approval of changes",
    "accuracy-bias": "Accuracy, drift, bias and human oversight",
    "compliance-law": "Compliance with AI-relevant law",
    "standards-certification": "AI and security standards and certifications",
}


class Perspective(StrEnum):
    """The side the lawyer acts for."""

    CUSTOMER = "customer"
    VENDOR = "vendor"

    @property
    def other(self) -> Perspective:
        """The counterparty's side."""
        return Perspective.VENDOR if self is Perspective.CUSTOMER else Perspective.CUSTOMER


class Kind(StrEnum):
    """Where a position sits in a side's playbook."""

    PREFERRED = "preferred"
    FALLBACK = "fallback"
    UNACCEPTABLE = "unacceptable"


class Verdict(StrEnum):
    """The playbook's judgement of a paragraph for one side."""

    ACCEPTABLE = "acceptable"
    NEEDS_REVIEW = "needs-review"
    UNACCEPTABLE = "unacceptable"


class Stance(StrEnum):
    """Whom a paragraph's position favours, independent of who reads it."""

    CUSTOMER = "customer-favourable"
    NEUTRAL = "neutral"
    VENDOR = "vendor-favourable"


def stance_of(perspective: Perspective, kind: Kind) -> Stance:
    """The stance a side's position of this kind takes (its preferred favours itself)."""
    if kind is Kind.FALLBACK:
        return Stance.NEUTRAL
    favours_self = kind is Kind.PREFERRED
    return favouring(perspective if favours_self else perspective.other)


def favouring(perspective: Perspective) -> Stance:
    """The stance that favours this side."""
    return Stance.CUSTOMER if perspective is Perspective.CUSTOMER else Stance.VENDOR


def verdict_for(perspective: Perspective, stance: Stance) -> Verdict:
    """How a side judges a paragraph of this stance."""
    if stance is Stance.NEUTRAL:
        return Verdict.NEEDS_REVIEW
    return Verdict.ACCEPTABLE if stance is favouring(perspective) else Verdict.UNACCEPTABLE
