"""`python -m server review IN.docx -o OUT.docx`: whole-document review from the command line.

Progress goes to stderr (tqdm); the per-topic, per-verdict summary goes to stdout. Bad input
is reported in one line on stderr with exit status 2; the output file is written only when the
review succeeded, and nothing else is written to disk.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from server.adapters.review_docx import DocxLimits, UnreadableDocument
from server.core.embedding import Embedder
from server.core.topics import Perspective
from server.review import ReviewResult, review_document
from server.services import build_engine
from server.settings import Settings

USAGE_ERROR = 2


def run_review_command(args: argparse.Namespace, embedder: Embedder | None = None) -> int:
    """Review args.input for args.perspective and write args.output; returns the exit status.

    `embedder` replaces the real model (tests); None loads the one the settings name.
    """
    source, target = Path(args.input), Path(args.output)
    problem = _paths_problem(source, target)
    if problem:
        return _fail(problem)
    try:
        data = source.read_bytes()
        limits = DocxLimits.from_env()
    except (OSError, ValueError) as error:
        return _fail(f"cannot read {source}: {_plain(error)}")
    settings = Settings.from_env()
    if args.bank:
        settings = replace(settings, bank_dir=Path(args.bank))
    engine = build_engine(settings, embedder)
    with tqdm(total=None, unit="para", desc="review", file=sys.stderr, leave=False) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            result = review_document(data, engine, Perspective(args.perspective),
                                     author=args.author, limits=limits, progress=progress)
        except UnreadableDocument as error:
            return _fail(f"{source}: {error}")
    assert result.document is not None  # markup was asked for
    try:
        target.write_bytes(result.document)
    except OSError as error:
        return _fail(f"cannot write {target}: {_plain(error)}")
    print_summary(result, target, sys.stdout)
    return 0


def _paths_problem(source: Path, target: Path) -> str | None:
    if not source.is_file():
        return f"no such file: {source}"
    if target.exists() and target.resolve() == source.resolve():
        return "the output would overwrite the input; choose another -o path"
    return None


def print_summary(result: ReviewResult, target: Path, out: TextIO) -> None:
    """Issues per topic and verdict, then totals."""
    counts = result.summary()
    applied = sum(1 for i in result.issues if i.applied)
    out.write(f"{result.paragraphs} paragraphs reviewed, {len(result.issues)} issues, "
              f"{applied} redlines applied -> {target}\n")
    for (topic, verdict), count in sorted(counts.items()):
        out.write(f"  {topic:<24} {verdict:<13} {count}\n")


def _plain(error: Exception) -> str:
    return getattr(error, "strerror", None) or type(error).__name__


def _fail(message: str) -> int:
    print(f"review: {message}", file=sys.stderr)
    return USAGE_ERROR
