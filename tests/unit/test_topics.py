"""Stance and verdict: how each side reads each kind of position."""

from __future__ import annotations

import pytest

from server.core.topics import Kind, Perspective, Stance, Verdict, stance_of, verdict_for


@pytest.mark.parametrize(
    ("side", "kind", "stance"),
    [
        (Perspective.CUSTOMER, Kind.PREFERRED, Stance.CUSTOMER),
        (Perspective.CUSTOMER, Kind.UNACCEPTABLE, Stance.VENDOR),
        (Perspective.VENDOR, Kind.PREFERRED, Stance.VENDOR),
        (Perspective.VENDOR, Kind.UNACCEPTABLE, Stance.CUSTOMER),
        (Perspective.VENDOR, Kind.FALLBACK, Stance.NEUTRAL),
    ],
)
def test_stance_of_a_position(side: Perspective, kind: Kind, stance: Stance) -> None:
    assert stance_of(side, kind) is stance


@pytest.mark.parametrize(
    ("side", "stance", "verdict"),
    [
        (Perspective.CUSTOMER, Stance.CUSTOMER, Verdict.ACCEPTABLE),
        (Perspective.CUSTOMER, Stance.VENDOR, Verdict.UNACCEPTABLE),
        (Perspective.VENDOR, Stance.CUSTOMER, Verdict.UNACCEPTABLE),
        (Perspective.VENDOR, Stance.VENDOR, Verdict.ACCEPTABLE),
        (Perspective.CUSTOMER, Stance.NEUTRAL, Verdict.NEEDS_REVIEW),
    ],
)
def test_verdict_for_a_side(side: Perspective, stance: Stance, verdict: Verdict) -> None:
    assert verdict_for(side, stance) is verdict
