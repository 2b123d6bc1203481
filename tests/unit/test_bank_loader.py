"""The strict YAML loader: one broken-bank fixture per kind of error, overlays, edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from server import create_app
from server.__main__ import main
from server.adapters.bank_yaml import BankProblem, InvalidBank, load_bank
from server.core.topics import Kind, Perspective
from server.settings import Settings
from tests.fakes import HashingEmbedder

FIXTURES = Path(__file__).parents[1] / "fixtures"
BROKEN = FIXTURES / "broken_banks"
BANK = FIXTURES / "bank"
OVERLAY = FIXTURES / "overlay"

# (file name, line, field, message) of the single problem each fixture holds.
ONE_PROBLEM = {
    "duplicate_key": ("training-use.yaml", 8, "customer.preferred.label", "duplicate key"),
    "unknown_field": ("training-use.yaml", 17, "customer.unacceptable[0].notes",
                      "unknown field (known: id, label, text, reason, exemplars)"),
    "missing_field": ("training-use.yaml", 21, "vendor.preferred.reason", "missing field"),
    "invalid_yaml": ("training-use.yaml", 7, "(file)",
                     "not valid YAML: mapping values are not allowed here at column 11"),
    "missing_preferred": ("training-use.yaml", 20, "vendor.preferred",
                          "missing field (every side needs one)"),
}


def problems_of(directory: Path, overlay: Path | None = None) -> list[BankProblem]:
    """The problems loading reports (the test fails if loading succeeds)."""
    with pytest.raises(InvalidBank) as raised:
        load_bank(directory, overlay)
    return raised.value.problems


def short(problem: BankProblem) -> tuple[str, int, str, str]:
    """A problem with its file reduced to the file name."""
    return Path(problem.file).name, problem.line, problem.field, problem.message


@pytest.mark.parametrize("name", sorted(ONE_PROBLEM))
def test_each_broken_fixture_reports_its_problem(name: str) -> None:
    assert [short(p) for p in problems_of(BROKEN / name)] == [ONE_PROBLEM[name]]


def test_unknown_topic_names_the_fixed_ids() -> None:
    [problem] = problems_of(BROKEN / "unknown_topic")
    assert short(problem)[:3] == ("training-use.yaml", 1, "topic")
    assert problem.message.startswith("unknown topic id 'model-weights' (the fixed ids: ")
    assert "training-use" in problem.message and "standards-certification" in problem.message


def test_empty_texts_are_reported_whether_blank_or_absent() -> None:
    assert [short(p) for p in problems_of(BROKEN / "empty_text")] == [
        ("training-use.yaml", 8, "customer.preferred.text", "empty text"),
        ("training-use.yaml", 24, "vendor.preferred.reason", "empty text"),
    ]


def test_wrong_types_say_what_was_found() -> None:
    assert [short(p) for p in problems_of(BROKEN / "wrong_type")] == [
        ("training-use.yaml", 7, "customer.preferred.label",
         "expected text, got a number (put it in quotes)"),
        ("training-use.yaml", 10, "customer.preferred.exemplars",
         "expected a list of texts, got text"),
    ]


def test_duplicate_id_across_files_points_at_both() -> None:
    [problem] = problems_of(BROKEN / "duplicate_id")
    assert short(problem)[:3] == ("training-use.yaml", 6, "customer.preferred.id")
    first = BROKEN / "duplicate_id" / "liability-cap.yaml"
    assert problem.message == f"duplicate id 'c-pref' (first at {first}:14)"


def test_topic_in_two_files_names_the_other_file() -> None:
    [problem] = problems_of(BROKEN / "topic_in_two_files")
    assert short(problem)[:3] == ("b-training.yaml", 1, "topic")
    other = BROKEN / "topic_in_two_files" / "a-training.yaml"
    assert problem.message == f"topic 'training-use' also in {other}"


def test_every_problem_is_reported_at_once() -> None:
    found = {(name, line, field) for name, line, field, _ in map(short, problems_of(
        BROKEN / "several_problems"))}
    assert found == {
        ("governance.yaml", 4, "summary"),  # duplicate key
        ("governance.yaml", 9, "customer.preferred.text"),  # empty
        ("governance.yaml", 19, "customer.fallbacks[0].owner"),  # unknown field
        ("governance.yaml", 14, "customer.fallbacks[0].reason"),  # missing field
        ("governance.yaml", 26, "vendor.fallbacks[0].exemplars"),  # wrong type
        ("governance.yaml", 21, "vendor.preferred"),  # side without preferred
        ("training-use.yaml", 1, "topic"),  # unknown topic id
        ("training-use.yaml", 15, "vendor.preferred.label"),  # wrong type
        ("training-use.yaml", 18, "vendor.preferred.exemplars"),  # empty list
        ("training-use.yaml", 6, "customer.preferred.id"),  # duplicate id across files
    }


def test_the_report_is_one_line_per_problem() -> None:
    with pytest.raises(InvalidBank) as raised:
        load_bank(BROKEN / "several_problems")
    lines = str(raised.value).splitlines()
    assert len(lines) == len(raised.value.problems) == 10
    assert all(line.count(": ") >= 2 and ".yaml:" in line for line in lines)


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        ("", "(file)", "empty file"),
        ("- topic: training-use\n", "(file)", "expected a mapping of fields, got a list"),
        ("topic: training-use\n---\ntopic: indemnity\n", "(file)",
         "not valid YAML: expected a single document in the stream, "
         "but found another document at column 1"),
    ],
)
def test_whole_file_problems(tmp_path: Path, content: str, field: str, message: str) -> None:
    write(tmp_path, "x.yaml", content)
    [problem] = problems_of(tmp_path)
    assert (problem.field, problem.message) == (field, message)


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_bytes(b"topic: \xff\xfe\n")
    assert [p.message for p in problems_of(tmp_path)] == ["not UTF-8 text"]


def test_yml_files_are_not_silently_skipped(tmp_path: Path) -> None:
    write(tmp_path, "training-use.yaml", (BANK / "training-use.yaml").read_text())
    write(tmp_path, "liability-cap.yml", (BANK / "liability-cap.yaml").read_text())
    assert [short(p) for p in problems_of(tmp_path)] == [
        ("liability-cap.yml", 1, "(file)", "bank files must end in .yaml")]


def test_missing_or_empty_directory(tmp_path: Path) -> None:
    assert [p.message for p in problems_of(tmp_path / "nope")] == ["no such directory"]
    assert [p.message for p in problems_of(tmp_path)] == ["no .yaml files"]


def test_a_broken_preferred_position_is_not_also_reported_missing(tmp_path: Path) -> None:
    text = (BANK / "training-use.yaml").read_text()
    start = text.index("  preferred:\n    id: tu-c-pref")
    end = text.index("  fallbacks:")
    write(tmp_path, "training-use.yaml", text[:start] + "  preferred: [oops]\n" + text[end:])
    assert [(p.field, p.message) for p in problems_of(tmp_path)] == [
        ("customer.preferred", "expected a mapping of fields, got a list")]


def test_a_topic_without_a_side_is_reported(tmp_path: Path) -> None:
    text = (BANK / "training-use.yaml").read_text()
    write(tmp_path, "training-use.yaml", text[:text.index("vendor:")])
    assert [short(p) for p in problems_of(tmp_path)] == [
        ("training-use.yaml", 1, "vendor", "missing field (every topic needs both sides)")]


def test_the_fixture_bank_loads_in_playbook_order() -> None:
    bank = load_bank(BANK)
    assert [t.id for t in bank] == ["training-use", "liability-cap"]  # the TOPICS order
    training = bank.topic("training-use")
    assert training is not None
    assert [p.id for p in training.side(Perspective.CUSTOMER)] == [
        "tu-c-pref", "tu-c-fb1", "tu-c-bad"]
    assert training.preferred(Perspective.VENDOR).exemplars == (
        "We may use your content to improve our models.",)


def test_overlay_replaces_by_id_adds_positions_and_topics() -> None:
    plain = load_bank(BANK)
    bank = load_bank(BANK, OVERLAY / "firm")
    assert [t.id for t in bank] == ["training-use", "liability-cap", "governance"]
    training = bank.topic("training-use")
    assert training is not None
    assert training.title == "Training and fine-tuning on customer data"
    assert training.summary == plain.topic("training-use").summary  # type: ignore[union-attr]
    fallbacks = training.fallbacks(Perspective.CUSTOMER)
    assert [(p.id, p.rank, p.label) for p in fallbacks] == [
        ("tu-c-fb1", 1, "Opt-in training, revocable"),  # replaced in place, keeps its rank
        ("tu-c-fb2", 2, "Isolated fine-tuning"),  # added, ranked after the kept ones
    ]
    assert fallbacks[1].kind is Kind.FALLBACK and fallbacks[1].topic == "training-use"
    # Everything the overlay does not mention is the built-in bank's, unchanged.
    untouched = [p for p in plain.positions() if p.id != "tu-c-fb1"]
    assert all(bank.position(p.id) == p for p in untouched)
    governance = bank.topic("governance")
    assert governance is not None and governance.preferred(Perspective.VENDOR).id == "gov-v-pref"
    assert len(bank.positions()) == len(plain.positions()) + 3


def test_an_overlay_replacing_a_preferred_position_keeps_one_preferred(tmp_path: Path) -> None:
    write(tmp_path, "training-use.yaml", """topic: training-use
vendor:
  preferred:
    id: tu-v-pref
    label: Improvement, de-identified
    text: Vendor may use de-identified Customer Data to improve its services.
    reason: A narrower right is easier to agree.
    exemplars:
      - We may improve our services with de-identified data.
""")
    topic = load_bank(BANK, tmp_path).topic("training-use")
    assert topic is not None
    assert topic.preferred(Perspective.VENDOR).label == "Improvement, de-identified"
    assert [p.kind for p in topic.side(Perspective.VENDOR)].count(Kind.PREFERRED) == 1


def test_broken_overlay_reports_every_problem() -> None:
    found = [short(p) for p in problems_of(BANK, OVERLAY / "broken")]
    assert [(name, line, field) for name, line, field, _ in found] == [
        ("governance.yaml", 1, "title"),
        ("governance.yaml", 1, "summary"),
        ("training-use.yaml", 11, "customer.fallbacks[0].id"),
        ("training-use.yaml", 4, "customer.preferred.id"),
        ("governance.yaml", 1, "vendor"),
    ]
    messages = [message for *_, message in found]
    assert messages[2].startswith("id 'lc-c-fb1' belongs to topic 'liability-cap'")
    assert messages[3].startswith("a second preferred position for customer (the first is "
                                  "'tu-c-pref'")


def test_duplicate_ids_inside_an_overlay_are_reported(tmp_path: Path) -> None:
    position = """    - id: tu-c-fb9
      label: {label}
      text: Vendor may use Customer Data for training with consent.
      reason: Consent keeps control with us.
      exemplars:
        - Training needs consent.
"""
    write(tmp_path, "training-use.yaml", "topic: training-use\ncustomer:\n  fallbacks:\n"
          + position.format(label="One") + position.format(label="Two"))
    [problem] = problems_of(BANK, tmp_path)
    assert short(problem)[1:3] == (10, "customer.fallbacks[1].id")
    assert problem.message.startswith("duplicate id 'tu-c-fb9'")


def test_check_prints_the_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bank", "check", str(BANK)]) == 0
    assert capsys.readouterr().out == "ok: 2 topics, 12 positions, 14 exemplars\n"


def test_check_with_an_overlay(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bank", "check", str(BANK), "--overlay", str(OVERLAY / "firm")]) == 0
    assert capsys.readouterr().out == "ok: 3 topics, 15 positions, 17 exemplars\n"


def test_check_prints_every_problem_one_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    directory = BROKEN / "several_problems"
    assert main(["bank", "check", str(directory)]) == 1
    with pytest.raises(InvalidBank) as raised:
        load_bank(directory)
    assert capsys.readouterr().out.splitlines() == [str(p) for p in raised.value.problems]


def test_check_defaults_to_the_bank_the_service_would_load(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDLINE_BANK", str(BANK))
    monkeypatch.setenv("REDLINE_BANK_OVERLAY", str(OVERLAY / "broken"))
    assert main(["bank", "check"]) == 1
    assert "overlay/broken/governance.yaml:1: title: missing field" in capsys.readouterr().out


def refuse_to_run(*args: object, **kwargs: object) -> None:
    raise AssertionError("serve started on an invalid bank")


def test_serve_refuses_an_invalid_bank_before_serving(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(Flask, "run", refuse_to_run)
    assert main(["serve", "--bank", str(BROKEN / "missing_field")]) == 1
    report = capsys.readouterr().err.splitlines()
    assert report[0] == "serve: the clause bank is invalid (1 problem):"
    assert report[1].endswith("missing_field/training-use.yaml:21: vendor.preferred.reason: "
                              "missing field")


def test_serve_refuses_an_invalid_overlay(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(Flask, "run", refuse_to_run)
    monkeypatch.setenv("REDLINE_BANK_OVERLAY", str(OVERLAY / "broken"))
    assert main(["serve", "--bank", str(BANK)]) == 1
    assert "a second preferred position" in capsys.readouterr().err


def test_the_preloading_app_gunicorn_uses_fails_on_an_invalid_bank(tmp_path: Path) -> None:
    settings = Settings(bank_dir=BROKEN / "duplicate_key", cache_dir=tmp_path)
    with pytest.raises(InvalidBank, match="customer.preferred.label: duplicate key"):
        create_app(settings, embedder=HashingEmbedder(), load="now")


def test_an_empty_side_or_an_unknown_tag_is_named_plainly(tmp_path: Path) -> None:
    text = (BANK / "training-use.yaml").read_text()
    text = text.replace("topic: training-use", "topic: !topic training-use")
    write(tmp_path, "training-use.yaml", text[:text.index("vendor:")] + "vendor:\n")
    assert [(p.field, p.message) for p in problems_of(tmp_path)] == [
        ("topic", "expected text, got a '!topic' value (put it in quotes)"),
        ("vendor", "expected a mapping of fields, got nothing"),
    ]
