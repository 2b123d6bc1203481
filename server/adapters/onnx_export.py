"""A one-time ONNX export of the local embedding model, kept in the cache directory.

The packaged model ships safetensors only. The first start with an ONNX backend exports it
from those local files (optimum's exporter; nothing is fetched) and quantizes a copy to int8
for avx512_vnni; later starts only load the files. The export lives under REDLINE_CACHE_DIR,
keyed by the weights' digest, never beside the installed package.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

EXPORT_VERSION = "1"  # bump when the export or quantization recipe changes
FP32_FILE = "onnx/model.onnx"
INT8_FILE = "onnx/model_qint8_avx512_vnni.onnx"
MARKER = "export.json"  # written last: a directory without it is not finished


def export_directory(source: Path, digest: str, cache_dir: Path) -> Path:
    """Where the export of this model version lives in the cache."""
    return cache_dir / "onnx" / f"{source.name}-{digest}-v{EXPORT_VERSION}"


def exported_model(source: Path, digest: str, cache_dir: Path) -> Path:
    """The directory of the exported model, exporting it first when the cache lacks it."""
    target = export_directory(source, digest, cache_dir)
    if is_complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built aside and renamed into place, so a crash or a concurrent start never sees half.
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        log.info("exporting the embedding model to ONNX (once) into %s", target)
        _export(source, building)
        if target.exists() and not is_complete(target):
            shutil.rmtree(target, ignore_errors=True)  # left by an older, interrupted layout
        try:
            building.rename(target)
        except OSError:
            if not is_complete(target):  # another process finished first: use theirs
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return target


def is_complete(directory: Path) -> bool:
    """Whether the directory holds a finished export."""
    return (directory / MARKER).is_file()


def file_digest(directory: Path, file_name: str) -> str:
    """The digest of one exported file, as recorded when it was written."""
    recorded: dict[str, str] = json.loads((directory / MARKER).read_text(encoding="utf-8"))
    return recorded[file_name]


def _export(source: Path, out: Path) -> None:
    """Export fp32 ONNX from the local weights, quantize it, and record the files' digests."""
    import torch
    from optimum.exporters.onnx import main_export
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    # The sentence-transformers configuration (pooling, normalisation, tokenizer), no weights.
    shutil.copytree(source, out, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.safetensors", "*.bin", "*.onnx", "*.md"))
    with warnings.catch_warnings():
        # The exporter's own notices (the TorchScript exporter's deprecation, constants
        # frozen while tracing) concern the export, not the model; the exported model's
        # agreement with the torch model is what the tests check.
        warnings.simplefilter("ignore", DeprecationWarning)
        tracer_warning = torch.jit.TracerWarning  # type: ignore[attr-defined]  # not in __all__
        warnings.simplefilter("ignore", tracer_warning)
        main_export(str(source), out / "onnx", task="feature-extraction",
                    library_name="transformers", local_files_only=True,
                    do_validation=False, no_post_process=True)
    model = SentenceTransformer(str(out), device="cpu", backend="onnx", local_files_only=True,
                                model_kwargs={"file_name": FP32_FILE,
                                              "provider": "CPUExecutionProvider"})
    export_dynamic_quantized_onnx_model(model, "avx512_vnni", str(out))
    digests = {name: _sha256(out / name) for name in (FP32_FILE, INT8_FILE)}
    (out / MARKER).write_text(json.dumps(digests, indent=1), encoding="utf-8")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:12]
