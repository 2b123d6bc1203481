"""Clause search on the real model and the built-in clause bank."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

pytestmark = pytest.mark.model

QUERIES = [
    # a lawyer's words, not the bank's: (query, the topic of the first result, how many of
    # the top 5 must be on it)
    ("a liability cap that excludes confidentiality breaches", "liability-cap", 4),
    ("a fallback on training with opt-out", "training-use", 2),
    ("vendor must tell us before switching on new AI features", "governance", 3),
    ("who owns what the model generates", "output-ownership", 4),
]


@pytest.mark.parametrize(("query", "topic", "on_topic"), QUERIES)
def test_a_lawyers_query_finds_positions_of_its_topic(real_client: FlaskClient, query: str,
                                                       topic: str, on_topic: int) -> None:
    response = real_client.get("/api/v1/clauses/search", query_string={"q": query, "limit": 5})
    assert response.status_code == 200
    found = response.get_json()["results"]
    assert len(found) == 5
    assert found[0]["kind"] == "position" and found[0]["topic"] == topic
    assert sum(r["topic"] == topic for r in found) >= on_topic


def test_the_side_filter_returns_that_sides_fallbacks(real_client: FlaskClient) -> None:
    response = real_client.get("/api/v1/clauses/search", query_string={
        "q": "a fallback on training with opt-out", "perspective": "customer",
        "topic": "training-use"})
    found = response.get_json()["results"]
    assert found and {r["perspective"] for r in found} == {"customer"}
    assert "fallback" in {r["position"] for r in found[:3]}


def test_naming_fallback_brings_fallbacks_first(real_client: FlaskClient) -> None:
    response = real_client.get("/api/v1/clauses/search", query_string={
        "q": "a fallback on training with opt-out", "limit": 3})
    found = response.get_json()["results"]
    assert [r["position"] for r in found] == ["fallback"] * 3
    assert found[0]["topic"] == "training-use"
