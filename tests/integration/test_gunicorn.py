"""gunicorn serves the real app (real model) on loopback: readiness, suggestions, shared
metrics, a killed worker, a graceful reload, and refusing to start when it must."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.served import (
    BIN,
    FIXTURE_BANK,
    ROOT,
    Service,
    free_port,
    gunicorn,
    run_to_exit,
)

pytestmark = [pytest.mark.model, pytest.mark.slow]
RISKY = "The provider may use customer data to train its models."


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """Two workers forked from the preloaded app, with gunicorn's access log on."""
    # Rate limits off: every request here comes from one address as fast as it can.
    service = gunicorn(tmp_path_factory.mktemp("gunicorn"), WEB_CONCURRENCY="2",
                       GUNICORN_ACCESSLOG="-", REDLINE_RATE_LIMIT="0")
    try:
        service.wait_ready()
        yield service
    finally:
        status = service.stop()
    assert status == 0, service.output()


def wait_for_workers(service: Service, count: int, other_than: set[int] = frozenset(),
                     seconds: float = 60) -> set[int]:
    """Wait until `count` workers run, none of them in `other_than`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = service.workers()
        if len(now) == count and not now & other_than:
            return now
        time.sleep(0.2)
    raise AssertionError(f"workers {service.workers()}; wanted {count} new ones")


def healthz_count(service: Service) -> int:
    text = service.call("GET", "/metrics").body.decode()
    found = re.search(r'clausewise_http_requests_total\{route="/healthz",method="GET",'
                      r'status="200"\} (\d+)', text)
    return int(found.group(1)) if found else 0


def test_ready_with_the_real_model(served: Service) -> None:
    reply = served.call("GET", "/readyz")
    assert reply.status == 200
    assert reply.json()["status"] == "ready" and reply.json()["positions"] > 0


def test_suggest_through_gunicorn(served: Service) -> None:
    reply = served.call("POST", "/api/v1/suggest", {"text": RISKY, "perspective": "customer"})
    assert reply.status == 200
    assert reply.headers["Cache-Control"] == "no-store"
    [first, *_] = reply.json()["suggestions"]
    assert (first["topic"], first["verdict"]) == ("training-use", "unacceptable")


def test_bad_input_is_the_json_error_shape(served: Service) -> None:
    reply = served.call("POST", "/api/v1/suggest", raw=b"{not json",
                        headers={"Content-Type": "application/json"})
    assert reply.status == 400 and reply.json()["code"] == 400


def test_metrics_add_up_across_workers(served: Service) -> None:
    before = healthz_count(served)
    for _ in range(30):
        assert served.call("GET", "/healthz").status == 200
    # whichever worker answers the scrape reports all workers' requests
    assert {healthz_count(served) for _ in range(6)} == {before + 30}


def test_a_killed_worker_is_replaced_and_service_continues(served: Service) -> None:
    [victim, *_] = sorted(wait_for_workers(served, 2))
    before = healthz_count(served)
    os.kill(victim, signal.SIGKILL)
    wait_for_workers(served, 2, other_than={victim})
    assert served.call("POST", "/api/v1/suggest", {"text": RISKY}).status == 200
    assert served.call("GET", "/healthz").status == 200
    assert healthz_count(served) >= before + 1  # counts survive the worker that made them


def test_graceful_reload_replaces_workers_without_failing_requests(served: Service) -> None:
    old = wait_for_workers(served, 2)
    served.process.send_signal(signal.SIGHUP)
    statuses = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        statuses.append(served.call("POST", "/api/v1/suggest", {"text": RISKY}).status)
        if not served.workers() & old and len(served.workers()) == 2:
            break
    assert not served.workers() & old
    assert set(statuses) == {200}
    assert served.call("GET", "/readyz").status == 200


def test_request_log_lines_carry_sizes_and_hashes_not_text(served: Service) -> None:
    text = "Vendor may use telemetry zx81-marker from the service to improve models."
    served.call("POST", "/api/v1/suggest", {"text": text})
    time.sleep(0.5)
    log = served.output()
    assert re.search(rf"POST /api/v1/suggest 200 [\d.]+ms chars={len(text)} sha=[0-9a-f]{{12}}",
                     log)
    assert "zx81-marker" not in log


def test_gunicorn_logs_carry_no_query_or_text(served: Service) -> None:
    mark = "QZX-GUNICORN-5512"
    served.call("POST", "/api/v1/suggest", {"text": f"{mark} Vendor may train on our data."})
    served.call("GET", f"/api/v1/clauses/search?q={mark}")
    served.call("GET", f"/api/v1/nope?q={mark}")
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as raw:
        raw.sendall(f"GET /api/v1/clauses/search?q={mark}\r\n\r\n".encode())  # no version
        assert raw.recv(1024).startswith(b"HTTP/1.1 400")
    time.sleep(0.5)
    log = served.output()
    assert '"GET /api/v1/clauses/search"' in log  # gunicorn's access log is on, without query
    assert "Invalid request" in log
    assert mark not in log


# Refusing to start: a clear message and a non-zero exit, never a half-working server.

def corrupt_bank(tmp: Path) -> Path:
    bank = tmp / "bank"
    shutil.copytree(FIXTURE_BANK, bank)
    (bank / "training-use.yaml").write_text("topic: training-use\ntitle: [unclosed\n")
    return bank


def gunicorn_command(*args: str) -> list[str]:
    return [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), *args]


def test_gunicorn_refuses_a_corrupt_bank(tmp_path: Path) -> None:
    result = run_to_exit(gunicorn_command("-b", f"127.0.0.1:{free_port()}"), tmp_path,
                         REDLINE_BANK=str(corrupt_bank(tmp_path)))
    assert result.returncode == 3, result.stderr
    assert "not starting" in result.stderr and "training-use.yaml" in result.stderr
    assert "Booting worker" not in result.stderr


def test_gunicorn_refuses_a_missing_model(tmp_path: Path) -> None:
    result = run_to_exit(gunicorn_command("-b", f"127.0.0.1:{free_port()}"), tmp_path,
                         REDLINE_MODEL=str(tmp_path / "no-such-model"))
    assert result.returncode == 3, result.stderr
    assert "not starting" in result.stderr and "no-such-model" in result.stderr


@pytest.mark.parametrize("where", ["environment", "command line"])
def test_gunicorn_refuses_a_network_address_without_authentication(tmp_path: Path,
                                                                   where: str) -> None:
    address = f"0.0.0.0:{free_port()}"
    if where == "environment":  # refused before the model loads
        result = run_to_exit(gunicorn_command(), tmp_path, GUNICORN_BIND=address)
    else:  # -b is only known once gunicorn has read its options: refused before listening
        result = run_to_exit(gunicorn_command("-b", address), tmp_path)
    assert result.returncode == 2, result.stderr
    assert "REDLINE_ALLOW_ANONYMOUS" in result.stderr
    assert "Listening at" not in result.stderr and "Booting worker" not in result.stderr


def serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "server", "serve", "--port", str(free_port()), *args]


def test_serve_refuses_a_corrupt_bank(tmp_path: Path) -> None:
    result = run_to_exit(serve_command(), tmp_path, REDLINE_BANK=str(corrupt_bank(tmp_path)))
    assert result.returncode != 0 and "training-use.yaml" in result.stderr


def test_serve_refuses_a_missing_model(tmp_path: Path) -> None:
    result = run_to_exit(serve_command(), tmp_path, REDLINE_MODEL=str(tmp_path / "no-model"))
    assert result.returncode != 0 and "model" in result.stderr and "no-model" in result.stderr


def test_serve_refuses_a_network_address_without_authentication(tmp_path: Path) -> None:
    result = run_to_exit(serve_command("--host", "0.0.0.0"), tmp_path)
    assert result.returncode == 2 and "REDLINE_ALLOW_ANONYMOUS" in result.stderr
