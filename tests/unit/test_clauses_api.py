"""GET /api/v1/clauses and /api/v1/clauses/<id> through the test client, on the fixture bank."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from server import create_app
from server.adapters.bank_yaml import load_bank
from server.core.bank import position_record
from server.settings import Settings

BANK = load_bank(Path(__file__).parents[1] / "fixtures" / "bank")


def ids(response_json: dict[str, list[dict[str, object]]]) -> list[object]:
    return [clause["id"] for clause in response_json["clauses"]]


def test_all_clauses_in_playbook_order(client: FlaskClient) -> None:
    response = client.get("/api/v1/clauses")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["clauses"] == [position_record(p) for p in BANK.positions()]
    assert ids(body)[:3] == ["tu-c-pref", "tu-c-fb1", "tu-c-bad"]


def test_a_clause_carries_kind_rank_and_stance(client: FlaskClient) -> None:
    [bad] = [c for c in client.get("/api/v1/clauses").get_json()["clauses"]
             if c["id"] == "lc-c-bad"]
    assert bad["kind"] == "unacceptable" and bad["rank"] == 1
    assert bad["stance"] == "vendor-favourable"  # the customer's unacceptable favours the vendor
    assert bad["topic"] == "liability-cap" and bad["perspective"] == "customer"
    assert bad["text"].startswith("In no event shall Vendor's total liability")
    assert bad["exemplars"] == [
        "The supplier's aggregate liability shall not exceed the fees paid in the last twelve "
        "months."]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("topic=liability-cap", ["lc-c-pref", "lc-c-fb1", "lc-c-bad",
                                 "lc-v-pref", "lc-v-fb1", "lc-v-bad"]),
        ("perspective=vendor", ["tu-v-pref", "tu-v-fb1", "tu-v-bad",
                                "lc-v-pref", "lc-v-fb1", "lc-v-bad"]),
        ("topic=training-use&perspective=customer", ["tu-c-pref", "tu-c-fb1", "tu-c-bad"]),
        ("topic=governance", []),  # a valid topic id this bank has no positions for
        ("topic=&perspective=", [p.id for p in BANK.positions()]),  # empty means no filter
    ],
)
def test_filters(client: FlaskClient, query: str, expected: list[str]) -> None:
    response = client.get(f"/api/v1/clauses?{query}")
    assert response.status_code == 200
    assert ids(response.get_json()) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [("topic=model-weights", "topic"), ("perspective=judge", "perspective"),
     ("topic=Training-Use", "topic")],
)
def test_unknown_filter_is_400_in_the_one_error_shape(
    client: FlaskClient, query: str, field: str
) -> None:
    response = client.get(f"/api/v1/clauses?{query}")
    assert response.status_code == 400
    error = response.get_json()
    assert error["code"] == 400 and error["message"] == "Bad Request"
    assert error["description"] and field in error["errors"]


def test_one_clause_by_id(client: FlaskClient) -> None:
    response = client.get("/api/v1/clauses/tu-v-fb1")
    assert response.status_code == 200
    position = BANK.position("tu-v-fb1")
    assert position is not None
    assert response.get_json() == position_record(position)


def test_unknown_clause_is_json_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/clauses/no-such-clause")
    assert response.status_code == 404
    error = response.get_json()
    assert error["code"] == 404 and "no-such-clause" in error["description"]
    assert error["errors"] == {"id": "unknown clause id"}


def test_503_while_the_engine_is_not_loaded(settings: Settings) -> None:
    client = create_app(settings, load="never").test_client()
    for url in ("/api/v1/clauses", "/api/v1/clauses/tu-v-fb1"):
        response = client.get(url)
        assert response.status_code == 503
        assert response.get_json()["code"] == 503 and response.headers["Retry-After"]


def test_other_methods_are_405(client: FlaskClient) -> None:
    response = client.post("/api/v1/clauses", json={})
    assert response.status_code == 405
    assert response.get_json()["code"] == 405
