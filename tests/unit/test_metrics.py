"""/metrics: Prometheus text with counts and timings per route, shared by forked workers."""

from __future__ import annotations

import os
import re

from flask.testing import FlaskClient

from server.api.metrics import BUCKETS, OTHER, UNMATCHED, SharedCounters

SAMPLE = re.compile(r'^[a-z_]+(\{([a-z]+="[^"]*",?)+\})? [0-9.e+-]+$')


def metric(text: str, line_start: str) -> float:
    [value] = [line.rsplit(" ", 1)[1] for line in text.splitlines()
               if line.startswith(line_start)]
    return float(value)


def test_counts_by_route_rule_method_and_status(client: FlaskClient) -> None:
    for _ in range(3):
        client.post("/api/v1/suggest", json={"text": "Vendor may train on customer data."})
    client.post("/api/v1/suggest", json={})
    client.get("/api/v1/no-such-route")
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, 'clausewise_http_requests_total{route="/api/v1/suggest",method="POST",'
                        'status="200"}') == 3
    assert metric(text, 'clausewise_http_requests_total{route="/api/v1/suggest",method="POST",'
                        'status="400"}') == 1
    assert metric(text, f'clausewise_http_requests_total{{route="{UNMATCHED}",method="GET",'
                        'status="404"}') == 1
    assert "no-such-route" not in text  # paths are never labels, only rules


def test_histogram_is_cumulative_and_adds_up(client: FlaskClient) -> None:
    for _ in range(4):
        client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    buckets = [metric(text, f'clausewise_http_request_duration_seconds_bucket{{route="/healthz"'
                            f',le="{edge}"}}') for edge in (*map(str, BUCKETS), "+Inf")]
    assert buckets == sorted(buckets) and buckets[-1] == 4
    assert metric(text, 'clausewise_http_request_duration_seconds_count{route="/healthz"}') == 4
    assert 0 < metric(text, 'clausewise_http_request_duration_seconds_sum{route="/healthz"}') < 4


def test_exposition_is_well_formed(client: FlaskClient) -> None:
    client.get("/readyz")
    response = client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    for line in response.get_data(as_text=True).splitlines():
        assert line.startswith("# ") or SAMPLE.match(line), line
    assert metric(response.get_data(as_text=True), "clausewise_ready") == 1


def test_forked_processes_add_to_the_same_counters() -> None:
    counters = SharedCounters()
    counters.lay_out(["/a", "/b"])
    counters.observe("/a", "GET", 200, 0.01)
    for _ in range(2):  # the second child reuses the first child's slot after it died
        child = os.fork()
        if child == 0:
            for _ in range(5):
                counters.observe("/a", "GET", 200, 0.02)
            counters.observe("/elsewhere", "POST", 418, 0.5)
            os._exit(0)
        os.waitpid(child, 0)
    text = "\n".join(counters.exposition(ready=False))
    a_ok = 'clausewise_http_requests_total{route="/a",method="GET",status="200"}'
    assert metric(text, a_ok) == 11
    assert metric(text, f'clausewise_http_requests_total{{route="{OTHER}",method="POST",'
                        'status="other"}') == 2
    assert metric(text, "clausewise_ready") == 0
