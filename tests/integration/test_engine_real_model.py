"""The engine on the real model and the built-in clause bank."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from server.core.engine import SuggestionEngine
from server.core.topics import Perspective, Stance, Verdict, verdict_for

CONTRASTS = [
    # (text, topic, customer's verdict)
    ("Vendor shall not use Customer Data to train models.", "training-use",
     Verdict.ACCEPTABLE),
    ("Vendor may use Customer Data to train models.", "training-use", Verdict.UNACCEPTABLE),
    ("Provider will not use Client prompts or outputs to improve its AI models.",
     "training-use", Verdict.ACCEPTABLE),
    ("Provider may use Client prompts and outputs to improve its AI models.",
     "training-use", Verdict.UNACCEPTABLE),
    # who benefits, where the embedding reads the two sides alike (server/core/favour.py)
    ("All Outputs generated for Licensee shall vest in Licensee on creation.",
     "output-ownership", Verdict.ACCEPTABLE),
    ("All Outputs generated for Licensee shall vest in Licensor on creation.",
     "output-ownership", Verdict.UNACCEPTABLE),
    ("Customer shall have no right to audit Vendor's AI models, training data or governance "
     "controls.", "governance", Verdict.UNACCEPTABLE),
    ("Customer may audit Vendor's AI models, training data and governance controls once a "
     "year.", "governance", Verdict.ACCEPTABLE),
]


@pytest.mark.parametrize(("text", "topic", "verdict"), CONTRASTS)
def test_negation_and_modality_decide_the_verdict(
    real_engine: SuggestionEngine, text: str, topic: str, verdict: Verdict
) -> None:
    assert real_engine.verdict(text, topic, Perspective.CUSTOMER) is verdict


@pytest.mark.parametrize("text", [
    "This Agreement is governed by the laws of the State of New York.",
    "All invoices are payable within thirty (30) days of receipt in United States dollars.",
    "Notices shall be sent by courier to the addresses set out on the cover page.",
])
def test_boilerplate_gets_no_suggestion(real_client: FlaskClient, text: str) -> None:
    response = real_client.post("/api/v1/suggest", json={"text": text})
    assert response.status_code == 200
    assert response.get_json() == {"suggestions": []}


def test_response_honours_the_op_contract(real_client: FlaskClient) -> None:
    text = ("12.4 Improvement. We may use your content, including prompts and outputs, to "
            "train and improve our models. You are responsible for your use of the Service.")
    body = real_client.post("/api/v1/suggest", json={"text": text}).get_json()
    [first, *_] = body["suggestions"]
    assert first["topic"] == "training-use" and first["verdict"] == "unacceptable"
    ops = first["redline"]["ops"]
    assert "".join(o["text"] for o in ops if o["op"] != "insert") == text
    assert "".join(o["text"] for o in ops if o["op"] != "delete") == first["redline"]["text"]
    assert first["fallbacks"] and all(f["text"] and f["reason"] for f in first["fallbacks"])


def test_every_exemplar_lands_on_its_own_topic(real_engine: SuggestionEngine) -> None:
    positions = real_engine.bank.positions()
    pairs = [(p.topic, text) for p in positions for text in p.exemplars]
    findings = real_engine.findings_many([text for _, text in pairs])
    hits = sum(bool(f) and f[0].topic == topic
               for (topic, _), f in zip(pairs, findings, strict=True))
    rate = hits / len(pairs)
    print(f"exemplars on their own topic: {hits}/{len(pairs)} = {rate:.1%}")
    assert rate >= 0.97


def test_the_playbook_s_own_language_reads_as_its_position(
        real_engine: SuggestionEngine) -> None:
    # A lawyer who applies our redline or inserts our fallback must not then be told the
    # inserted words are unacceptable: every position's text gets its own verdict for both sides.
    positions = real_engine.bank.positions()
    findings = real_engine.findings_many([p.text for p in positions])
    wrong = []
    for position, found in zip(positions, findings, strict=True):
        finding = next((f for f in found if f.topic == position.topic), None)
        for side in Perspective:
            got = finding.verdict(side) if finding else None
            if got is not verdict_for(side, position.stance):
                wrong.append((position.id, side.value, got))
    assert wrong == []


def _swap_parties(text: str) -> str:
    return re.sub(r"\b(Vendor|Customer)\b",
                  lambda m: "Customer" if m.group() == "Vendor" else "Vendor", text)


def test_the_playbook_s_language_with_the_parties_swapped_is_not_taken_as_its_position(
        real_engine: SuggestionEngine) -> None:
    # "Vendor owns all Outputs" embeds within 0.98 of the bank's "Customer owns all Outputs":
    # a mirror-image sentence must be read on its merits, never given the original's stance.
    mirrors = [(p, _swap_parties(p.text)) for p in real_engine.bank.positions()
               if {"Vendor", "Customer"} <= set(re.findall(r"\b(?:Vendor|Customer)\b", p.text))]
    assert len(mirrors) > 50
    taken = []
    for position, found in zip(mirrors, real_engine.findings_many([m for _, m in mirrors]),
                               strict=True):
        certain = tuple(1.0 if s is position[0].stance else 0.0 for s in Stance)
        if any(r.stance_scores == certain for f in found for r in f.readings):
            taken.append(position[0].id)
    assert taken == []
