"""Where a paragraph's sentences begin and end: one split for matching and for redlines.

A sentence ends at . ; : ! or ? (with any closing quotes or brackets) before whitespace and a
capital, digit or opening bracket, so "(a)" lists and "e.g. the" stay whole; every line break
also ends one. Matching reads the same sentences the redliner edits, so a unit the engine
judged can be found again, character for character, in the paragraph.
"""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"[.;:!?][\"'”’)\]]*(\s+)(?=[\"'“‘(\[]?[A-Z0-9(])")
_LINE = re.compile(r"[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Offsets of the text's sentences: each trimmed of whitespace, none empty."""
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        start = line.start()
        for boundary in _BOUNDARY.finditer(line.group()):
            spans.append((start, line.start() + boundary.start(1)))
            start = line.start() + boundary.end(1)
        spans.append((start, line.end()))
    trimmed = []
    for start, end in spans:
        piece = text[start:end]
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            trimmed.append((start + left, start + right))
    return trimmed


def sentences(text: str) -> list[str]:
    """The text's sentences, trimmed."""
    return [text[start:end] for start, end in sentence_spans(text)]
