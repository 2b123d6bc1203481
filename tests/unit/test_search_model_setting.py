"""REDLINE_SEARCH_MODEL: a separate (fine-tuned) model for clause search."""

from __future__ import annotations

from pathlib import Path

from server.serving import model_problem
from server.settings import Settings


def test_the_search_model_is_read_from_the_environment_and_unset_by_default() -> None:
    assert Settings.from_env({}).search_model is None
    assert Settings.from_env({"REDLINE_SEARCH_MODEL": "/models/tuned"}).search_model == (
        "/models/tuned")


def test_a_missing_search_model_stops_the_service_before_it_starts(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    problem = model_problem(Settings(search_model=str(missing)))
    assert problem is not None and "REDLINE_SEARCH_MODEL" in problem and str(missing) in problem
    tmp_path.joinpath("present").mkdir()
    assert model_problem(Settings(search_model=str(tmp_path / "present"))) is None
