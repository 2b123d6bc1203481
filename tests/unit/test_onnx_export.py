"""The ONNX export's cache directory: made once, keyed by digest, never left half-written.

The export itself is replaced by a small writer here (the real one takes seconds and is
exercised in tests/integration/test_onnx_backend.py); what is tested is the bookkeeping.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server import __main__ as cli
from server.adapters import onnx_export
from server.adapters.embedding import SentenceTransformerEmbedder, check_backend
from server.adapters.onnx_export import FP32_FILE, INT8_FILE, MARKER, exported_model
from server.settings import Settings

SOURCE = Path("/models/minilm")


class CountingExport:
    """Writes the files an export leaves, and counts how often it ran."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self, source: Path, out: Path) -> None:
        self.calls += 1
        for name in (FP32_FILE, INT8_FILE):
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(b"onnx")
        if self.fail:
            raise RuntimeError("exporter crashed")
        (out / MARKER).write_text(json.dumps({FP32_FILE: "f" * 12, INT8_FILE: "i" * 12}))


@pytest.fixture
def export(monkeypatch: pytest.MonkeyPatch) -> CountingExport:
    counting = CountingExport()
    monkeypatch.setattr(onnx_export, "_export", counting)
    return counting


def test_first_load_exports_into_the_cache_and_later_loads_reuse_it(
        export: CountingExport, tmp_path: Path) -> None:
    first = exported_model(SOURCE, "abc123", tmp_path)
    second = exported_model(SOURCE, "abc123", tmp_path)
    assert first == second
    assert first.parent == tmp_path / "onnx"
    assert (first / INT8_FILE).is_file()
    assert export.calls == 1
    assert onnx_export.file_digest(first, INT8_FILE) == "i" * 12
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no build left behind


def test_new_weights_get_their_own_export(export: CountingExport, tmp_path: Path) -> None:
    assert exported_model(SOURCE, "abc123", tmp_path) != exported_model(SOURCE, "def456",
                                                                        tmp_path)
    assert export.calls == 2


def test_an_unfinished_export_is_redone(export: CountingExport, tmp_path: Path) -> None:
    stale = onnx_export.export_directory(SOURCE, "abc123", tmp_path)
    (stale / "onnx").mkdir(parents=True)
    (stale / FP32_FILE).write_bytes(b"torn")  # no marker: a crash mid-way in an old layout
    assert exported_model(SOURCE, "abc123", tmp_path) == stale
    assert export.calls == 1
    assert onnx_export.is_complete(stale)
    assert (stale / FP32_FILE).read_bytes() == b"onnx"


def test_a_failed_export_leaves_nothing_that_looks_finished(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(onnx_export, "_export", CountingExport(fail=True))
    with pytest.raises(RuntimeError, match="exporter crashed"):
        exported_model(SOURCE, "abc123", tmp_path)
    assert list((tmp_path / "onnx").iterdir()) == []


def test_backend_names_are_checked() -> None:
    assert check_backend("onnx") == "onnx"
    with pytest.raises(ValueError, match="'gpu': use one of torch, onnx, onnx-fp32"):
        check_backend("gpu")
    with pytest.raises(ValueError, match="unknown embedding backend 'tensorrt'"):
        SentenceTransformerEmbedder(backend="tensorrt")


def test_settings_read_the_backend() -> None:
    assert Settings.from_env({}).backend == "torch"
    assert Settings.from_env({"REDLINE_BACKEND": "onnx"}).backend == "onnx"
    with pytest.raises(ValueError, match="REDLINE_BACKEND: unknown embedding backend 'ONNX'"):
        Settings.from_env({"REDLINE_BACKEND": "ONNX"})


def test_a_bad_backend_stops_the_cli_with_a_clear_message(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("REDLINE_BACKEND", "cuda")
    assert cli.main(["bank", "check"]) == 2
    error = capsys.readouterr().err
    assert "REDLINE_BACKEND: unknown embedding backend 'cuda'" in error
    assert "Traceback" not in error
