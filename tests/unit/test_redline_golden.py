"""Golden redlines for representative cases; tools/regen_redline_golden.py rewrites them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.redline_golden import case_files, expected_for, load


def test_there_are_golden_cases() -> None:
    assert len(case_files()) >= 10


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.stem)
def test_redline_matches_its_golden_file(path: Path) -> None:
    case = load(path)
    assert "expected" in case, "new case: run tools/regen_redline_golden.py --write and review"
    assert expected_for(case) == case["expected"]


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.stem)
def test_golden_ops_rebuild_the_paragraph_and_the_text(path: Path) -> None:
    case = load(path)
    ops = case["expected"]["ops"]
    assert "".join(text for op, text in ops if op != "insert") == case["paragraph"]
    assert "".join(text for op, text in ops if op != "delete") == case["expected"]["text"]
