"""A canary paragraph goes through every endpoint, on success and error paths, with debug
logging on; it must appear in no log line, no file the service wrote, and no metric.

In process (every log record, stdout and stderr, the cache and temp directories, /metrics) and
through `python -m server serve` (the Werkzeug server's own request log).
"""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from docx import Document
from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.adapters.embedding import SentenceTransformerEmbedder
from server.security.api_keys import key_digest
from server.settings import Settings
from tests.integration.served import FIXTURE_BANK, dev_server

pytestmark = pytest.mark.model

MARK = "QZX-CANARY-7731"
CANARY = (f"{MARK}: the Vendor may use Customer Data, including the privileged memo of "
          "Quillfeather LLP, to train and improve its models without notice.")
KEY = "confidentiality-test-key"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class Everything(logging.Handler):
    """Keeps every record, formatted with its arguments and any traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[Everything]:
    """Debug logging on for every logger, as REDLINE_LOG_LEVEL=DEBUG does."""
    root = logging.getLogger()
    handler, level = Everything(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh directory for everything tempfile creates during the test."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.fixture
def canary_app(real_embedder: SentenceTransformerEmbedder, tmp_path: Path) -> Flask:
    """The real model on the fixture bank, with a key, a low rate limit and small limits."""
    settings = Settings(bank_dir=FIXTURE_BANK, cache_dir=tmp_path / "cache", log_level="DEBUG",
                        api_keys=(key_digest(KEY),), rate_limit_per_minute=60,
                        rate_limit_burst=40, max_json_bytes=64 * 1024, max_text_chars=2000)
    return create_app(settings, embedder=real_embedder, load="now")


def canary_docx() -> bytes:
    document = Document()
    document.add_paragraph("1. Services. Vendor provides the hosted platform.")
    document.add_paragraph(CANARY)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def send_everything(client: FlaskClient) -> list[int]:
    """The canary through every route and error path; the statuses seen."""
    auth = {"X-API-Key": KEY}
    statuses = []

    def post(path: str, **kwargs: object) -> None:
        headers = {**auth, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        statuses.append(client.post(path, headers=headers, **kwargs).status_code)  # type: ignore[arg-type]

    def get(path: str, **kwargs: object) -> None:
        headers = {**auth, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        statuses.append(client.get(path, headers=headers, **kwargs).status_code)  # type: ignore[arg-type]

    post("/api/v1/suggest", json={"text": CANARY, "perspective": "customer"})  # success
    post("/api/v1/suggest", json={"text": CANARY, "perspective": "vendor"})
    post("/api/v1/suggest", json={"text": CANARY * 20})  # text over the limit: 413
    post("/api/v1/suggest", json={"text": CANARY, "perspective": CANARY})  # 400
    post("/api/v1/suggest", json={"text": CANARY, "perspective": "judge"})  # 400
    post("/api/v1/suggest", json={"text": CANARY * 600})  # body over the limit: 413
    post("/api/v1/suggest", data="{" + CANARY, content_type="application/json")  # bad JSON
    post("/api/v1/suggest", data=CANARY, content_type="text/plain")  # 415
    post("/api/v1/suggest", json={CANARY: CANARY})  # no text
    post("/api/v1/suggest", json={"text": CANARY}, headers={"X-API-Key": CANARY})  # 401
    post("/api/v1/suggest", json={"text": CANARY},
         headers={"X-API-Key": "", "Authorization": f"Bearer {CANARY}"})  # 401
    get(f"/api/v1/clauses/search?q={CANARY}")
    get(f"/api/v1/clauses/search?q={CANARY}&topic={CANARY}&limit={CANARY}")
    get(f"/api/v1/clauses?topic={CANARY}")
    get(f"/api/v1/clauses/{MARK}")
    get(f"/api/v1/{MARK}?q={CANARY}")  # unknown route
    document = canary_docx()
    for accept in ("application/json", DOCX):
        post("/api/v1/review", data={"file": (io.BytesIO(document), "memo.docx")},
             headers={"Accept": accept})
    post("/api/v1/review", data={"file": (io.BytesIO(document), "memo.docx"),
                                 "perspective": CANARY, "author": CANARY})
    post("/api/v1/review", data={"file": (io.BytesIO(CANARY.encode()), "memo.docx")})
    post("/api/v1/review", data={"file": (io.BytesIO(b"PK\x03\x04" + CANARY.encode()),
                                          "memo.docx")})
    return statuses


def leaks_in(directory: Path) -> list[str]:
    """Files under the directory that hold the canary, also inside zip containers."""
    found = []
    for path in directory.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if MARK.encode() in data or MARK.encode("utf-16-le") in data:
            found.append(str(path))
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                if any(MARK.encode() in archive.read(name) for name in archive.namelist()):
                    found.append(f"{path} (zipped)")
    return found


def test_canary_reaches_no_log_file_or_metric(canary_app: Flask, logs: Everything,
                                              temp_dir: Path, tmp_path: Path,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    client = canary_app.test_client()
    statuses = send_everything(client)
    assert statuses[:2] == [200, 200]  # suggest answered
    assert statuses[9:12] == [401, 401, 200]  # refused credentials; search answered
    assert statuses[16:18] == [200, 200]  # review answered, as JSON and as .docx
    assert {400, 413, 415} <= set(statuses)
    metrics = client.get("/metrics").get_data(as_text=True)
    printed = capfd.readouterr()

    assert any("/api/v1/suggest 200" in line for line in logs.lines)  # logging did happen
    assert [line for line in logs.lines if MARK in line] == []
    assert MARK not in printed.out and MARK not in printed.err
    assert "clausewise_http_requests_total" in metrics and MARK not in metrics
    assert leaks_in(tmp_path) == []
    assert (tmp_path / "cache").exists()  # the bank's vectors were written, without text


def test_rate_limited_and_crashing_requests_leak_nothing(canary_app: Flask, logs: Everything,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    client = canary_app.test_client()
    engine = canary_app.extensions["clausewise"].engine

    def explode(text: str, *args: object) -> object:
        raise ValueError(f"could not process {text!r}")  # a library quoting its input

    monkeypatch.setattr(engine, "suggest", explode)
    crashed = client.post("/api/v1/suggest", json={"text": CANARY}, headers={"X-API-Key": KEY})
    assert crashed.status_code == 500 and MARK not in crashed.get_data(as_text=True)
    statuses = {client.post("/api/v1/suggest", json={"text": CANARY},
                            headers={"X-API-Key": KEY}).status_code for _ in range(45)}
    assert 429 in statuses
    assert [line for line in logs.lines if MARK in line] == []


def test_dev_server_logs_no_canary(tmp_path: Path) -> None:
    service = dev_server(tmp_path, REDLINE_LOG_LEVEL="DEBUG")
    try:
        service.wait_ready()
        assert service.call("POST", "/api/v1/suggest", {"text": CANARY}).status == 200
        service.call("POST", "/api/v1/suggest", {"text": CANARY, "perspective": "judge"})
        service.call("POST", "/api/v1/suggest", raw=("{" + CANARY).encode(),
                     headers={"Content-Type": "application/json"})
        service.call("GET", f"/api/v1/clauses/search?q={MARK}")
        service.call("GET", f"/api/v1/nope?q={MARK}")
        metrics = service.call("GET", "/metrics").body.decode()
    finally:
        service.stop()
    output = service.output()
    assert "/api/v1/suggest 200" in output  # the app's own request lines are there
    assert MARK not in output and MARK not in metrics
    assert leaks_in(tmp_path / "cache") == [] and leaks_in(tmp_path / "tmp") == []
