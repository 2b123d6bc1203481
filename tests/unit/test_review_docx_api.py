"""POST /api/v1/review and `python -m server review`, on the fixture bank and the fake embedder."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import werkzeug.formparser
from docx import Document
from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.__main__ import parser
from server.adapters.review_docx import open_document, review_paragraphs
from server.api.review import DOCX
from server.core.topics import Perspective
from server.review import review_document
from server.review_command import run_review_command
from server.services import Services, build_engine
from server.settings import Settings
from tests import review_samples as sample
from tests.fakes import HashingEmbedder
from tests.unit.test_review_docx import _accepted, _ole, _rejected, _zip

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _post(client: FlaskClient, data: bytes, *, json: bool = False, filename: str = "c.docx",
          **fields: str) -> Any:
    form: dict[str, Any] = {"file": (io.BytesIO(data), filename), **fields}
    headers = {"Accept": "application/json"} if json else {}
    return client.post("/api/v1/review", data=form, headers=headers,
                       content_type="multipart/form-data")


def _engine(app: Flask) -> Any:
    state: Services = app.extensions["clausewise"]
    return state.ready_engine()


def test_review_returns_the_marked_up_docx_as_an_attachment(client: FlaskClient,
                                                            app: Flask) -> None:
    data = sample.sample_bytes()
    response = _post(client, data, filename="msa draft 3.docx", author="Jane Counsel")
    assert response.status_code == 200
    assert response.mimetype == DOCX
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "msa_draft_3-reviewed.docx" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    out = response.data
    Document(io.BytesIO(out))  # python-docx reopens it
    expected = review_document(data, _engine(app), Perspective.CUSTOMER, markup=False)
    suggested = {i.index: i.suggestion.redline.text for i in expected.issues
                 if i.suggestion.redline is not None and i.suggestion is next(
                     j.suggestion for j in expected.issues if j.index == i.index)}
    paragraphs = review_paragraphs(open_document(data))
    assert suggested
    accepted, rejected = _accepted(out), _rejected(out)
    for paragraph in paragraphs:
        if paragraph.index in suggested and paragraph.editable:
            assert accepted[paragraph.index] == suggested[paragraph.index]
        else:
            assert accepted[paragraph.index] == paragraph.text
        assert rejected[paragraph.index] == _rejected_original(paragraph.text)
    authors = {e.get(f"{W}author") for e in _revisions(out)}
    assert authors == {"Jane Counsel", "Counterparty"}


def _rejected_original(text: str) -> str:
    """A sample paragraph with its pending changes (by the counterparty) rejected."""
    return "Fees are due sixty thirty days after invoice." if text.startswith(
        "Fees are due") else text


def _revisions(data: bytes) -> list[Any]:
    from lxml import etree

    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml"))
    return [e for e in root.iter() if e.tag in (f"{W}ins", f"{W}del")]


def test_json_lists_the_issues_with_ops_that_spell_each_paragraph(client: FlaskClient) -> None:
    data = sample.sample_bytes()
    response = _post(client, data, json=True)
    assert response.status_code == 200 and response.is_json
    body = response.get_json()
    texts = [p.text for p in review_paragraphs(open_document(data))]
    assert body["paragraphs"] == len(texts)
    assert body["issues"]
    for issue in body["issues"]:
        assert set(issue) >= {"index", "topic", "verdict", "reason", "redline", "fallbacks"}
        assert issue["verdict"] in ("needs-review", "unacceptable")
        ops = issue["redline"]["ops"]
        assert "".join(o["text"] for o in ops if o["op"] != "insert") == texts[issue["index"]]
        assert "".join(o["text"] for o in ops if o["op"] != "delete") == issue["redline"]["text"]
    counted = sum(row["count"] for row in body["summary"])
    assert counted == len(body["issues"])


def test_the_json_verdicts_follow_the_perspective(client: FlaskClient, app: Flask) -> None:
    data = sample.sample_bytes()
    for side in ("customer", "vendor"):
        body = _post(client, data, json=True, perspective=side).get_json()
        expected = review_document(data, _engine(app), Perspective(side), markup=False)
        assert [(i["index"], i["topic"], i["verdict"]) for i in body["issues"]] == [
            (i.index, i.suggestion.topic, i.suggestion.verdict.value) for i in expected.issues]


def _legacy_doc() -> bytes:
    return _ole(["WordDocument", "1Table"])


@pytest.mark.parametrize(("data", "status", "words"), [
    (b"just some text", 415, "not a .docx"),
    (_legacy_doc(), 415, "legacy Word .doc"),
    (_ole(["EncryptionInfo", "EncryptedPackage"]), 415, "password-protected"),
    (sample.sample_bytes()[:3000], 400, "damaged"),
    (b"", 400, "empty"),
])
def test_bad_uploads_get_a_clear_error_in_the_one_shape(client: FlaskClient, data: bytes,
                                                        status: int, words: str) -> None:
    response = _post(client, data)
    assert response.status_code == status
    body = response.get_json()
    assert set(body) >= {"code", "message", "description"} and body["code"] == status
    assert words in body["description"]


def test_zip_bomb_is_413(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDLINE_MAX_DOCX_UNCOMPRESSED", "5000000")
    bomb = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": bytes(20_000_000)})
    response = _post(client, bomb)
    assert response.status_code == 413
    assert "expand to" in response.get_json()["description"]


def test_oversized_upload_is_413(settings: Settings) -> None:
    small = create_app(replace(settings, max_upload_bytes=4096), embedder=HashingEmbedder(),
                       load="now")
    response = _post(small.test_client(), sample.sample_bytes())
    assert response.status_code == 413
    assert response.get_json()["code"] == 413


@pytest.mark.parametrize(("form", "field"), [
    ({"perspective": "landlord"}, "perspective"),
    ({"author": "x" * 101}, "author"),
])
def test_bad_form_fields_are_400(client: FlaskClient, form: dict[str, str], field: str) -> None:
    response = _post(client, sample.sample_bytes(), **form)
    assert response.status_code == 400
    assert field in response.get_json()["errors"]


def test_missing_file_and_wrong_body_type(client: FlaskClient) -> None:
    missing = client.post("/api/v1/review", data={"perspective": "customer"},
                          content_type="multipart/form-data")
    assert missing.status_code == 400 and "file" in missing.get_json()["errors"]
    as_json = client.post("/api/v1/review", json={"text": "a clause"})
    assert as_json.status_code == 415


@pytest.fixture
def no_temporary_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records any attempt to create a temporary file (werkzeug's spooling included)."""
    attempts: list[str] = []

    def refuse(name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            attempts.append(name)
            raise AssertionError(f"{name} called: contract text must stay in memory")
        return record

    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp",
                 "mkdtemp"):
        monkeypatch.setattr(tempfile, name, refuse(name))
    monkeypatch.setattr(werkzeug.formparser, "SpooledTemporaryFile",
                        refuse("SpooledTemporaryFile"))
    yield attempts


def test_a_large_upload_is_reviewed_in_memory(client: FlaskClient,
                                              no_temporary_files: list[str]) -> None:
    buffer = io.BytesIO(sample.sample_bytes())
    with zipfile.ZipFile(buffer, "a") as archive:  # an unreferenced media part, incompressible
        archive.writestr("word/media/scan.bin", os.urandom(700_000))
    assert len(buffer.getvalue()) > 600_000  # over werkzeug's 500 kB spooling threshold
    # Encoded here: the test client would spool a large form to a temporary file itself.
    boundary = "cw-boundary-7f3a"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.docx\"\r\nContent-Type: {DOCX}\r\n\r\n").encode()
    body += buffer.getvalue() + f"\r\n--{boundary}--\r\n".encode()
    response = client.post("/api/v1/review", data=body, headers={"Accept": "application/json"},
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 200
    assert response.get_json()["paragraphs"] > 10
    assert no_temporary_files == []


def test_a_bad_upload_leaves_the_worker_serving(client: FlaskClient) -> None:
    assert _post(client, b"PK\x03\x04garbage").status_code == 400
    assert _post(client, sample.sample_bytes(), json=True).status_code == 200


# --- the command line ---------------------------------------------------------------------


def _run(argv: list[str]) -> int:
    args = parser().parse_args(["review", *argv, "--bank", str(Path("tests/fixtures/bank"))])
    return run_review_command(args, embedder=HashingEmbedder())


def test_cli_writes_the_marked_up_copy_and_prints_the_summary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = tmp_path / "in.docx", tmp_path / "out.docx"
    source.write_bytes(sample.sample_bytes())
    assert _run([str(source), "-o", str(target), "--author", "Jane Counsel"]) == 0
    out = target.read_bytes()
    assert {e.get(f"{W}author") for e in _revisions(out)} == {"Jane Counsel", "Counterparty"}
    printed = capsys.readouterr().out.splitlines()
    engine = build_engine(Settings(bank_dir=Path("tests/fixtures/bank"),
                                   cache_dir=tmp_path / "cache"), HashingEmbedder())
    expected = review_document(sample.sample_bytes(), engine, Perspective.CUSTOMER,
                               markup=False)
    assert expected.issues
    assert printed[0].startswith(f"{expected.paragraphs} paragraphs reviewed, "
                                 f"{len(expected.issues)} issues")
    assert sorted(tuple(line.split()) for line in printed[1:]) == sorted(
        (topic, verdict, str(count)) for (topic, verdict), count in expected.summary().items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "in.docx", "out.docx"]


@pytest.mark.parametrize(("content", "words"), [
    (b"not a document", "not a .docx"),
    (_legacy_doc(), "legacy Word .doc"),
    (_ole(["EncryptionInfo"]), "password-protected"),
])
def test_cli_refuses_bad_input_with_exit_2_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, words: str) -> None:
    source, target = tmp_path / "in.docx", tmp_path / "out.docx"
    source.write_bytes(content)
    assert _run([str(source), "-o", str(target)]) == 2
    assert words in capsys.readouterr().err
    assert not target.exists()


def test_cli_refuses_a_missing_input_and_overwriting_the_input(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run([str(tmp_path / "absent.docx"), "-o", str(tmp_path / "o.docx")]) == 2
    source, original = tmp_path / "in.docx", sample.sample_bytes()
    source.write_bytes(original)
    assert _run([str(source), "-o", str(source)]) == 2
    assert source.read_bytes() == original
    assert "overwrite" in capsys.readouterr().err


def test_each_flagged_paragraph_has_one_comment_with_reasons_and_ranked_fallbacks(
        app: Flask) -> None:
    engine = _engine(app)
    result = review_document(sample.sample_bytes(), engine, Perspective.CUSTOMER,
                             author="Jane Counsel")
    assert result.document is not None
    document = Document(io.BytesIO(result.document))
    ours = {str(c.comment_id): c for c in document.comments if c.author == "Jane Counsel"}
    flagged = sorted({i.index for i in result.issues})
    assert len(ours) == len(flagged)
    elements = list(document.element.body.iter(f"{W}p"))
    for index in flagged:
        anchor = elements[index].find(f"{W}commentRangeStart")
        assert anchor is not None
        text = ours[anchor.get(f"{W}id")].text
        issues = [i for i in result.issues if i.index == index]
        assert ("Redline applied as tracked changes." in text) is any(i.applied for i in issues)
        for issue in issues:
            s = issue.suggestion
            title = engine.bank.topic(s.topic).title
            assert f"{title} ({s.topic}): {s.verdict.value}" in text
            assert s.reason in text
            ranked = [text.index(f"Fallback {n}, {f.label}: {f.text}")
                      for n, f in enumerate(s.fallbacks, start=1)]
            assert ranked == sorted(ranked)


def test_a_malformed_multipart_body_is_400(client: FlaskClient) -> None:
    response = client.post("/api/v1/review", data=b"--x\r\nnot a part header\r\n\r\n--x",
                           content_type="multipart/form-data; boundary=x")
    assert response.status_code == 400
    assert response.get_json()["code"] == 400
