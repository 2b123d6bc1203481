"""The Word playbook: export, import, round trips, and the errors for documents it cannot read."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from docx.text.paragraph import Paragraph

from server.__main__ import main
from server.adapters.bank_docx import UnreadablePlaybook, read_playbook, write_playbook
from server.adapters.bank_yaml import BUILT_IN_BANK, load_bank
from server.core.bank import ClauseBank

FIXTURES = Path(__file__).parents[1] / "fixtures"
BANK = FIXTURES / "bank"
BAD_INPUT = 2


def export(bank_dir: Path, out: Path, *extra: str) -> int:
    return main(["bank", "export-docx", str(out), "--bank", str(bank_dir), *extra])


def import_(playbook: Path, outdir: Path) -> int:
    return main(["bank", "import-docx", str(playbook), str(outdir)])


def round_trip(tmp_path: Path, bank_dir: Path, *extra: str) -> ClauseBank:
    """The bank after export to .docx and import back into YAML files."""
    playbook = tmp_path / "playbook.docx"
    assert export(bank_dir, playbook, *extra) == 0
    assert import_(playbook, tmp_path / "imported") == 0
    return load_bank(tmp_path / "imported")


def test_round_trip_of_the_fixture_bank(tmp_path: Path) -> None:
    assert round_trip(tmp_path, BANK) == load_bank(BANK)
    assert sorted(p.name for p in (tmp_path / "imported").iterdir()) == [
        "liability-cap.yaml", "training-use.yaml"]


def test_round_trip_of_the_built_in_bank(tmp_path: Path) -> None:
    built_in = load_bank(BUILT_IN_BANK)
    assert len(built_in.topics) >= 1  # the real playbook, whatever its size today
    assert round_trip(tmp_path, BUILT_IN_BANK) == built_in


def test_round_trip_of_a_layered_bank_gives_one_plain_bank(tmp_path: Path) -> None:
    overlay = FIXTURES / "overlay" / "firm"
    layered = load_bank(BANK, overlay)
    assert round_trip(tmp_path, BANK, "--overlay", str(overlay)) == layered


def test_line_breaks_quotes_and_unicode_survive(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    text = (BANK / "training-use.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "    text: Vendor shall not use Customer Data, Inputs or Outputs to train, fine-tune or "
        "improve any model.\n",
        "    text: |-\n      1. Vendor shall not train on Customer Data.\n"
        "      2. \u201cInputs\u201d include prompts; fees in \u20ac are unaffected: "
        "see \u00a7 4.\n",
    )
    (source / "training-use.yaml").write_text(text, encoding="utf-8")
    original = load_bank(source)
    assert "\n2. \u201cInputs\u201d" in original.positions()[0].text  # the edit took effect
    assert round_trip(tmp_path, source) == original


def styled(path: Path) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in docx.Document(str(path)).paragraphs if p.text]


def test_the_playbook_structure(tmp_path: Path) -> None:
    playbook = tmp_path / "playbook.docx"
    assert export(BANK, playbook) == 0
    paragraphs = styled(playbook)
    assert paragraphs[0] == ("Title", "Clause bank playbook")
    start = paragraphs.index(("Heading 1", "Training on customer data"))
    assert paragraphs[start:start + 12] == [
        ("Heading 1", "Training on customer data"),
        ("Normal", "Topic id: training-use"),
        ("Normal", "Whether the vendor may train or improve models on what the customer submits."),
        ("Heading 2", "Customer perspective"),
        ("Heading 3", "Preferred: No training on Customer Data"),
        ("Normal", "Position id: tu-c-pref"),
        ("Quote", "Vendor shall not use Customer Data, Inputs or Outputs to train, fine-tune or "
                  "improve any model."),
        ("Normal", "Reason: Training on our data could leak it into a model other customers use."),
        ("List Bullet", "The provider will not use customer data to train models."),
        ("List Bullet", "Supplier must not train machine learning models on client inputs."),
        ("Heading 3", "Fallback 1: Opt-in training only"),
        ("Normal", "Position id: tu-c-fb1"),
    ]
    headings = [text for style, text in paragraphs if style.startswith("Heading")]
    assert headings.count("Vendor perspective") == 2
    assert "Unacceptable 1: Unlimited liability" in headings


def edit(path: Path, change: Callable[[list[Paragraph]], None]) -> Path:
    """Change a saved playbook as a lawyer would in Word, and save it."""
    document = docx.Document(str(path))
    change(document.paragraphs)
    document.save(str(path))
    return path


def find(paragraphs: list[Paragraph], text: str) -> Paragraph:
    return next(p for p in paragraphs if p.text == text)


def remove(paragraph: Paragraph) -> None:
    paragraph._element.getparent().remove(paragraph._element)


@pytest.fixture
def playbook(tmp_path: Path) -> Path:
    """The fixture bank exported as a playbook document."""
    path = tmp_path / "playbook.docx"
    write_playbook(load_bank(BANK), path)
    return path


def test_edits_made_in_word_are_imported(playbook: Path) -> None:
    def change(paragraphs: list[Paragraph]) -> None:
        reason = find(paragraphs, "Reason: Consent keeps control with us.")
        reason.text = "Reason: Consent keeps the decision with us"
        reason.add_run(", and we can withdraw it.")  # Word often splits text into runs
        bullet = find(paragraphs, "Provider may use anonymised customer data to improve models.")
        bullet.insert_paragraph_before("Vendor may improve models with de-identified data.",
                                       style="List Bullet")
        bullet.insert_paragraph_before("")  # blank lines are ignored

    bank = read_playbook(edit(playbook, change))
    fallback = bank.position("tu-c-fb1")
    assert fallback is not None
    assert fallback.reason == "Consent keeps the decision with us, and we can withdraw it."
    vendor = bank.position("tu-v-fb1")
    assert vendor is not None and vendor.exemplars == (
        "Vendor may improve models with de-identified data.",
        "Provider may use anonymised customer data to improve models.",
    )


def broken(paragraphs: list[Paragraph], what: str) -> None:
    if what == "missing-position-id":
        remove(find(paragraphs, "Position id: tu-c-fb1"))
    elif what == "bad-side-heading":
        find(paragraphs, "Customer perspective").text = "Both sides"
    elif what == "out-of-order":
        find(paragraphs, "Fallback 1: Opt-in training only").text = "Fallback 2: Opt-in training"
    elif what == "stray-paragraph":
        find(paragraphs, "Position id: lc-v-bad").insert_paragraph_before("Partner: ask Sam.")
    elif what == "unknown-topic":
        find(paragraphs, "Topic id: liability-cap").text = "Topic id: liability"
    elif what == "missing-reason":
        remove(find(paragraphs, "Reason: Predictable exposure."))
    elif what == "bad-position-heading":
        find(paragraphs, "Preferred: One cap for everything").text = "Best case: one cap"
    elif what == "unnumbered-fallback":
        find(paragraphs, "Fallback 1: Super-cap").text = "Fallback: Super-cap"
    elif what == "no-label":
        find(paragraphs, "Unacceptable 1: Total training ban").text = "Unacceptable 1:"


BROKEN_DOCUMENTS = {
    "missing-position-id": "missing 'Position id: ...' line",
    "bad-side-heading": "Heading 2 'Both sides' is not 'Customer perspective' or",
    "out-of-order": "fallback 2 is out of order; expected fallback 1 here",
    "stray-paragraph": "unexpected paragraph 'Partner: ask Sam.' (style 'Normal') in a position",
    "unknown-topic": "unknown topic id 'liability'",
    "missing-reason": "missing 'Reason: ...' line",
    "bad-position-heading": "Heading 3 'Best case: one cap' does not start with 'Preferred:'",
    "unnumbered-fallback": "a fallback needs its number: 'Fallback 1: Super-cap'",
    "no-label": "the position heading has no label after the colon",
}


@pytest.mark.parametrize("what", sorted(BROKEN_DOCUMENTS))
def test_a_playbook_out_of_structure_is_refused_and_nothing_written(
    playbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], what: str
) -> None:
    edit(playbook, lambda paragraphs: broken(paragraphs, what))
    outdir = tmp_path / "out"
    assert import_(playbook, outdir) == BAD_INPUT
    assert not outdir.exists()
    errors = capsys.readouterr().err
    assert BROKEN_DOCUMENTS[what] in errors
    assert all(line.startswith(f"{playbook}: ") for line in errors.splitlines())
    assert "paragraph " in errors


def test_every_structural_problem_is_reported_at_once(playbook: Path) -> None:
    def change(paragraphs: list[Paragraph]) -> None:
        for what in ("missing-position-id", "out-of-order", "unknown-topic", "missing-reason"):
            broken(paragraphs, what)

    with pytest.raises(UnreadablePlaybook) as raised:
        read_playbook(edit(playbook, change))
    assert len(raised.value.problems) == 4


def test_a_playbook_the_loader_rejects_writes_nothing(
    playbook: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def change(paragraphs: list[Paragraph]) -> None:
        find(paragraphs, "Position id: lc-v-fb1").text = "Position id: lc-c-fb1"

    outdir = tmp_path / "out"
    assert import_(edit(playbook, change), outdir) == BAD_INPUT
    assert not outdir.exists()
    error = capsys.readouterr().err
    assert "liability-cap.yaml: vendor.fallbacks[0].id: duplicate id 'lc-c-fb1'" in error
    assert "(first at liability-cap.yaml:" in error  # no temporary paths leak into the report


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a Word document", "not a Word document (.docx)"),
        (None, "no topics: expected a Heading 1 per topic"),
    ],
)
def test_a_file_that_is_not_a_playbook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    path = tmp_path / "letter.docx"
    if content is None:
        document = docx.Document()
        document.add_paragraph("Dear Sam, please find the contract attached.")
        document.save(str(path))
    else:
        path.write_bytes(content)
    assert import_(path, tmp_path / "out") == BAD_INPUT
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_table_is_refused_rather_than_dropped(playbook: Path, tmp_path: Path) -> None:
    document = docx.Document(str(playbook))
    document.add_table(rows=1, cols=2).cell(0, 0).text = "Extra exemplar"
    document.save(str(playbook))
    with pytest.raises(UnreadablePlaybook, match="tables"):
        read_playbook(playbook)


def test_import_refuses_a_directory_that_already_holds_a_bank(
    playbook: Path, tmp_path: Path
) -> None:
    outdir = tmp_path / "out"
    outdir.mkdir()
    (outdir / "indemnity.yaml").write_text("topic: indemnity\n")
    assert import_(playbook, outdir) == BAD_INPUT
    assert [p.name for p in outdir.iterdir()] == ["indemnity.yaml"]


def test_import_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert import_(tmp_path / "nope.docx", tmp_path / "out") == BAD_INPUT
    assert "no such file" in capsys.readouterr().err


def test_export_of_an_invalid_bank_reports_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "playbook.docx"
    assert export(FIXTURES / "broken_banks" / "missing_field", out) == 1
    assert "vendor.preferred.reason: missing field" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("name", ["playbook.txt", "missing/playbook.docx"])
def test_export_to_a_bad_path(tmp_path: Path, name: str) -> None:
    assert export(BANK, tmp_path / name) == BAD_INPUT
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_a_playbook_saved_again_by_an_office_suite_still_imports(
    playbook: Path, tmp_path: Path
) -> None:
    """LibreOffice rewrites the whole package (styles, runs, ids), as Word does on save."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice is installed by tools/system-deps.sh"
    resaved = tmp_path / "resaved"
    subprocess.run(
        [soffice, "--headless", "--norestore",
         f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
         "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(resaved), str(playbook)],
        check=True, capture_output=True, timeout=180,
    )
    rewritten = resaved / "playbook.docx"
    assert rewritten.read_bytes() != playbook.read_bytes()
    assert read_playbook(rewritten) == load_bank(BANK)
