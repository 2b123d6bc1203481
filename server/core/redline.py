"""Redlines: the word-level edit that moves a paragraph toward a playbook position.

(First cut: a word diff of the paragraph against the target; the surgical engine replaces it.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from diff_match_patch import diff_match_patch

OpKind = Literal["equal", "delete", "insert"]
_DMP_KIND: dict[int, OpKind] = {0: "equal", -1: "delete", 1: "insert"}
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True, slots=True)
class Op:
    """One run of the edit: text kept, struck or inserted."""

    op: OpKind
    text: str


@dataclass(frozen=True, slots=True)
class Redline:
    """The ops of an edit and the paragraph they produce; strategy names how it was built."""

    ops: tuple[Op, ...]
    text: str
    strategy: str


def word_diff(before: str, after: str) -> tuple[Op, ...]:
    """Word-level diff: tokens are mapped to characters so no op splits a word."""
    tokens: dict[str, str] = {}

    def encode(text: str) -> str:
        symbols = (tokens.setdefault(t, chr(0xE000 + len(tokens))) for t in _TOKEN.findall(text))
        return "".join(symbols)

    a, b = encode(before), encode(after)
    decode = {v: k for k, v in tokens.items()}
    dmp = diff_match_patch()
    diffs = dmp.diff_main(a, b, False)
    dmp.diff_cleanupSemantic(diffs)
    return tuple(Op(_DMP_KIND[kind], "".join(decode[c] for c in chars)) for kind, chars in diffs
                 if chars)


def propose(paragraph: str, target: str, offends: Callable[[str], bool]) -> Redline:
    """The edit from the paragraph toward the target position's language."""
    del offends  # sentence scoping comes with the surgical engine
    return Redline(word_diff(paragraph, target), target, "replace")
