"""Whole-document review with the real model, witnessed by LibreOffice.

One sample, one LibreOffice start (slow on two cores), several checks. The sample is reviewed as
python-docx writes it and as LibreOffice re-saves it; LibreOffice opens inputs and outputs; with
all changes accepted an output reads as the engine's suggested text for each redlined paragraph
(and as before everywhere else); with all changes rejected it reads as its input did; the earlier
reviewer's changes and comment survive. A third document carries hand-made edits between kept
words (the engine's redlines often replace whole sentences), read back the same way.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from lxml import etree

from server.adapters.review_docx import (
    Markup,
    ReviewParagraph,
    open_document,
    review_paragraphs,
    save_document,
)
from server.core.engine import SuggestionEngine
from server.core.redline import word_diff
from server.core.topics import Perspective
from server.review import ReviewResult, review_document
from tests import review_samples as sample

pytestmark = [pytest.mark.model, pytest.mark.slow]

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
AUTHOR = "Clausewise Test"
LO_CHECK = Path(__file__).parent.parent / "lo_check.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-uno


@dataclass(frozen=True)
class Witnessed:
    """A review and what LibreOffice read from its input and its output."""

    result: ReviewResult
    paragraphs: list[ReviewParagraph]
    output: bytes
    before: dict[str, Any]
    after: dict[str, Any]


@pytest.fixture(scope="module")
def review_engine(real_engine: SuggestionEngine) -> SuggestionEngine:
    """The session's real engine on the built-in bank."""
    return real_engine


@pytest.fixture(scope="module")
def witnesses(review_engine: SuggestionEngine, tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, Witnessed]:
    """The sample as python-docx writes it and as LibreOffice re-saves it, each reviewed and
    read back through one LibreOffice."""
    folder = tmp_path_factory.mktemp("review-lo")
    made = folder / "made.docx"
    made.write_bytes(sample.sample_bytes())
    resaved = folder / "resaved.docx"
    with _libreoffice(folder) as pipe:
        _lo_check(pipe, "--resave", str(made), str(resaved))
        inputs = {"python-docx": made, "libreoffice": resaved}
        results, files = {}, []
        for name, source in inputs.items():
            data = source.read_bytes()
            results[name] = review_document(data, review_engine, Perspective.CUSTOMER,
                                            author=AUTHOR)
            target = folder / f"{name}-reviewed.docx"
            target.write_bytes(results[name].document or b"")
            files += [source, target]
        hand = folder / "hand-edits.docx"
        hand.write_bytes(_hand_edited(made.read_bytes()))
        report = json.loads(_lo_check(pipe, *map(str, files), str(hand)))
    HAND_REPORT.update(report[str(hand)], source=report[str(made)])
    return {name: Witnessed(results[name],
                            review_paragraphs(open_document(source.read_bytes())),
                            results[name].document or b"",
                            report[str(source)],
                            report[str(folder / f"{name}-reviewed.docx")])
            for name, source in inputs.items()}


HAND_REPORT: dict[str, Any] = {}  # LibreOffice's reading of `_hand_edited`, filled above


def _edit_words(text: str) -> str:
    """A clause with changes between kept words: one word inserted, one replaced, one struck."""
    words = text.split(" ")
    if len(words) < 6:
        return f"Subject to Schedule 2, {text}"
    words.insert(1, "expressly")
    words[3] = words[3].upper() + "-amended"
    del words[5]
    return " ".join(words)


def _hand_edited(data: bytes) -> bytes:
    """Every plain paragraph redlined toward `_edit_words` by our writer, without the engine."""
    document = open_document(data)
    markup = Markup(document, AUTHOR, datetime(2026, 11, 27, tzinfo=UTC))
    for paragraph in review_paragraphs(document):
        if paragraph.editable and paragraph.text.strip():
            assert markup.redline(paragraph, word_diff(paragraph.text,
                                                       _edit_words(paragraph.text)))
            markup.comment(paragraph, ["hand edit"])
    return save_document(document)


def test_edits_between_kept_words_read_back_in_libreoffice(
        witnesses: dict[str, Witnessed]) -> None:
    source = HAND_REPORT["source"]
    paragraphs = witnesses["python-docx"].paragraphs
    expected = [_edit_words(p.text) if p.editable and p.text.strip() else p.text
                for p in paragraphs]
    assert expected != source["accepted"]
    assert HAND_REPORT["accepted"] == expected
    assert HAND_REPORT["rejected"] == source["rejected"]
    edited = sum(1 for p in paragraphs if p.editable and p.text.strip())
    assert HAND_REPORT["comments"] == source["comments"] + edited


@pytest.fixture(params=["python-docx", "libreoffice"])
def witnessed(request: pytest.FixtureRequest, witnesses: dict[str, Witnessed]) -> Witnessed:
    """Each reviewed document in turn: ours, and one written by another program."""
    return witnesses[request.param]


@contextmanager
def _libreoffice(folder: Path) -> Iterator[str]:
    """A headless LibreOffice with its own profile, listening on a fresh pipe; ended after."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is missing: run tools/system-deps.sh"
    pipe = f"clausewise-{uuid.uuid4().hex}"
    profile = folder / "lo-profile"
    office = subprocess.Popen(
        [soffice, "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
         f"-env:UserInstallation={profile.as_uri()}", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        yield pipe
    finally:
        _stop(office)
        shutil.rmtree(profile, ignore_errors=True)


def _lo_check(pipe: str, *arguments: str) -> str:
    # LibreOffice restarts itself once while it sets up a fresh profile; a UNO client
    # connected across that restart dies of SIGSEGV. Only such a death is tried again.
    for _ in range(3):
        checked = subprocess.run([SYSTEM_PYTHON, str(LO_CHECK), "--pipe", pipe, *arguments],
                                 capture_output=True, text=True, timeout=240, check=False)
        if checked.returncode != -signal.SIGSEGV:
            break
        time.sleep(2)
    assert checked.returncode == 0, checked.stderr[-2000:]
    return checked.stdout


def _stop(office: subprocess.Popen[bytes]) -> None:
    """End the LibreOffice we started (its whole process group), waiting for it."""
    try:
        os.killpg(office.pid, signal.SIGTERM)
        office.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(office.pid, signal.SIGKILL)
        office.wait(timeout=20)
    except ProcessLookupError:
        pass


@pytest.fixture
def applied(witnessed: Witnessed) -> Iterator[dict[int, str]]:
    """Suggested text per paragraph whose redline became tracked changes."""
    found = {}
    for issue in witnessed.result.issues:
        if issue.applied:
            assert issue.suggestion.redline is not None
            found[issue.index] = issue.suggestion.redline.text
    yield found


def test_libreoffice_sees_the_same_paragraphs_we_reviewed(witnessed: Witnessed) -> None:
    ours = [p.text for p in witnessed.paragraphs]
    assert len(witnessed.before["accepted"]) == len(ours)
    assert witnessed.before["accepted"] == ours  # our reading: pending insertions in


def test_the_sample_gets_redlines_in_formatted_runs_and_in_a_table(
        witnessed: Witnessed, applied: dict[int, str]) -> None:
    texts = [p.text for p in witnessed.paragraphs]
    assert texts.index(sample.TRAINING) in applied
    assert texts.index(sample.TABLE_TRAINING) in applied


def test_accepting_all_changes_gives_the_suggested_text(witnessed: Witnessed,
                                                        applied: dict[int, str]) -> None:
    after, before = witnessed.after["accepted"], witnessed.before["accepted"]
    assert len(after) == len(before)
    for index, text in enumerate(after):
        assert text == applied.get(index, before[index]), index


def test_rejecting_all_changes_gives_the_original(witnessed: Witnessed) -> None:
    assert witnessed.after["rejected"] == witnessed.before["rejected"]
    assert "Fees are due sixty thirty days after invoice." in witnessed.after["rejected"]


def test_every_flagged_paragraph_gets_one_comment_and_existing_ones_stay(
        witnessed: Witnessed) -> None:
    flagged = {issue.index for issue in witnessed.result.issues}
    assert flagged
    assert witnessed.before["comments"] == 1
    assert witnessed.after["comments"] == 1 + len(flagged)
    texts = [c.text for c in Document(io.BytesIO(witnessed.output)).comments]
    assert sample.EXISTING_COMMENT in texts


def test_tracked_changes_carry_our_author_and_the_earlier_ones_stay(witnessed: Witnessed,
                                                                    applied: dict[int, str]
                                                                    ) -> None:
    assert applied
    authors = witnessed.after["redline_authors"]
    assert authors["Counterparty"] == witnessed.before["redline_authors"]["Counterparty"] == 2
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(witnessed.output)).read(
        "word/document.xml"))
    ours = [e for e in root.iter(f"{W}ins", f"{W}del") if e.get(f"{W}author") == AUTHOR]
    assert authors[AUTHOR] >= len({e.getparent() for e in ours}) > 0
    ids = [e.get(f"{W}id") for e in root.iter(f"{W}ins", f"{W}del")]
    assert len(ids) == len(set(ids))
