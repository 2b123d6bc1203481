"""GET /api/v1/clauses/search through the test client, on the fixture bank and a made-up corpus."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from server import create_app
from server.settings import Settings
from tests.fakes import HashingEmbedder

SEARCH = "/api/v1/clauses/search"


def results(client: FlaskClient, **params: str) -> list[dict[str, object]]:
    response = client.get(SEARCH, query_string=params)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    found: list[dict[str, object]] = response.get_json()["results"]
    return found


def test_finds_the_position_and_says_why(client: FlaskClient) -> None:
    found = results(client, q="a separate higher cap of three times the fees for data breaches")
    best = found[0]
    assert best["kind"] == "position" and best["id"] == "lc-c-fb1"
    assert best["topic"] == "liability-cap" and best["label"] == "Super-cap"
    assert best["perspective"] == "customer" and best["position"] == "fallback"
    assert best["text"] == "Liability for data breaches is capped at three times the annual fees."
    assert isinstance(best["score"], float) and 0 <= best["score"] <= 1
    reason = str(best["reason"])
    assert "close in meaning" in reason.lower() and "shares the terms" in reason
    assert "breach" in reason and "cap" in reason
    scores = [r["score"] for r in found]
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert len(found) == 10


def test_search_is_not_taken_for_a_clause_id(client: FlaskClient) -> None:
    response = client.get(SEARCH, query_string={"q": "training"})
    assert response.status_code == 200 and "results" in response.get_json()
    assert client.get("/api/v1/clauses/tu-c-pref").get_json()["id"] == "tu-c-pref"


def test_topic_perspective_and_limit_filter(client: FlaskClient) -> None:
    found = results(client, q="train models on customer data", topic="training-use",
                    perspective="vendor", limit="2")
    assert len(found) == 2
    assert {(r["topic"], r["perspective"]) for r in found} == {("training-use", "vendor")}
    assert len(results(client, q="cap", limit="500")) == 12  # all the bank has; capped at 50
    assert results(client, q="   ") == []


@pytest.mark.parametrize(("params", "field"), [
    ({}, "q"),
    ({"q": ""}, "q"),
    ({"q": "cap", "limit": "0"}, "limit"),
    ({"q": "cap", "limit": "ten"}, "limit"),
    ({"q": "cap", "topic": "weather"}, "topic"),
    ({"q": "cap", "perspective": "judge"}, "perspective"),
])
def test_bad_parameters_get_the_one_error_shape(client: FlaskClient, params: dict[str, str],
                                                field: str) -> None:
    response = client.get(SEARCH, query_string=params)
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == {"code", "message", "description", "errors"}
    assert body["code"] == 400 and field in body["errors"]


def test_an_overlong_query_is_refused_without_echoing_it(settings: Settings) -> None:
    app = create_app(replace(settings, max_text_chars=50), embedder=HashingEmbedder(), load="now")
    response = app.test_client().get(SEARCH, query_string={"q": "confidential " * 10})
    assert response.status_code == 400
    assert "confidential" not in response.get_data(as_text=True)


def test_precedents_are_searched_beside_the_bank(settings: Settings, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in [
        {"_id": "esc-1", "text": "The escrow agent releases the source code on insolvency."},
        {"_id": "law-1", "text": "The laws of Ontario govern this agreement.", "title": "Law"},
    ]), encoding="utf-8")
    app = create_app(replace(settings, precedents=corpus), embedder=HashingEmbedder(),
                     load="now")
    client = app.test_client()
    found = results(client, q="source code escrow released on insolvency")
    assert found[0] == {**found[0], "kind": "precedent", "id": "esc-1"}
    assert "topic" not in found[0] and "label" not in found[0]
    law = next(r for r in results(client, q="Ontario law", limit="50") if r["id"] == "law-1")
    assert law["label"] == "Law"
    # a topic filter keeps only the playbook's positions (precedents carry no topic)
    assert {r["kind"] for r in results(client, q="escrow", topic="liability-cap")} == {
        "position"}
    # a perspective filter keeps every precedent
    assert {"esc-1", "law-1"} <= {str(r["id"]) for r in results(
        client, q="escrow Ontario", perspective="vendor", limit="50")}


def test_a_broken_corpus_makes_search_unavailable_not_wrong(settings: Settings,
                                                            tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"_id": "x", "text": "Private words of a clause."}\n{oops\n',
                      encoding="utf-8")
    app = create_app(replace(settings, precedents=corpus), embedder=HashingEmbedder(),
                     load="now")
    response = app.test_client().get(SEARCH, query_string={"q": "clause"})
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == 503 and "InvalidCorpus" in body["description"]
    assert "Private words" not in response.get_data(as_text=True)
