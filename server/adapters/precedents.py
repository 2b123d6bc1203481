"""Precedent corpora in BEIR format (corpus.jsonl: one {"_id", "text"[, "title"]} per line).

A firm points REDLINE_PRECEDENTS at such a file (or a folder holding corpus.jsonl); search
indexes it beside the clause bank. The clauses are read into memory only: what is kept on
disk is the cache of their passage vectors, never their text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from server.core.search import Document


@dataclass(frozen=True)
class InvalidCorpus(Exception):
    """A corpus line that cannot be read, named by file and line."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def corpus_file(path: Path) -> Path:
    """The corpus.jsonl itself, when given the folder that holds it."""
    return path / "corpus.jsonl" if path.is_dir() else path


def read_precedents(path: Path) -> list[Document]:
    """Every clause of the corpus as a precedent document, in file order."""
    source = corpus_file(path)
    documents: list[Document] = []
    seen: set[str] = set()
    with source.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            document = _precedent(line, source.name, number)
            if document.id in seen:
                raise InvalidCorpus(source.name, number, f"duplicate _id {document.id[:60]!r}")
            seen.add(document.id)
            documents.append(document)
    return documents


def _precedent(line: str, file: str, number: int) -> Document:
    """One corpus line as a document; the error names the field, never the clause text."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise InvalidCorpus(file, number, f"not JSON ({error.msg})") from None
    if not isinstance(record, dict):
        raise InvalidCorpus(file, number, "not a JSON object")
    identifier, text = record.get("_id"), record.get("text")
    if not isinstance(identifier, str) or not identifier:
        raise InvalidCorpus(file, number, "'_id' must be a non-empty string")
    if not isinstance(text, str) or not text.strip():
        raise InvalidCorpus(file, number, "'text' must be a non-empty string")
    title = record.get("title")
    label = title if isinstance(title, str) and title.strip() else None
    return Document(kind="precedent", id=identifier, text=text, label=label)
