"""POST /api/v1/suggest through the test client, on the fake embedder."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient


def test_risky_paragraph_gets_an_unacceptable_suggestion(client: FlaskClient) -> None:
    text = "The provider may use customer data to train its models."
    response = client.post("/api/v1/suggest", json={"text": text, "perspective": "customer"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    [suggestion] = response.get_json()["suggestions"]
    assert suggestion["topic"] == "training-use"
    assert suggestion["verdict"] == "unacceptable"
    ops = suggestion["redline"]["ops"]
    assert "".join(o["text"] for o in ops if o["op"] != "insert") == text
    assert "".join(o["text"] for o in ops if o["op"] != "delete") == suggestion["redline"]["text"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "text"),
        ({"text": "   "}, 400, "text"),
        ({"text": 5}, 400, "text"),
        ({"text": "x", "perspective": "judge"}, 400, "perspective"),
        ({"text": "x" * 20_001}, 413, "text"),
    ],
)
def test_bad_input_gets_the_one_error_shape(
    client: FlaskClient, body: dict[str, object], status: int, field: str
) -> None:
    response = client.post("/api/v1/suggest", json=body)
    assert response.status_code == status
    error = response.get_json()
    assert error["code"] == status and error["description"] and field in error["errors"]


def test_wrong_content_type_is_415(client: FlaskClient) -> None:
    response = client.post("/api/v1/suggest", data="text=hi")
    assert response.status_code == 415
    assert response.get_json()["code"] == 415


def test_invalid_json_is_400(client: FlaskClient) -> None:
    response = client.post("/api/v1/suggest", data="{not json", content_type="application/json")
    assert response.status_code == 400


def test_unknown_route_is_json_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.get_json()["code"] == 404
