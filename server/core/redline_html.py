"""A redline as HTML for the task pane: struck text in <del>, inserted text in <ins>.

Every text is escaped, so contract text can never inject markup. Whitespace and line breaks are
left as they are; the pane shows them with `white-space: pre-wrap`, which keeps double spaces
and tabs that `<br>` alone would lose.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from server.core.redline import Op

_TAGS = {"equal": ("", ""), "delete": ("<del>", "</del>"), "insert": ("<ins>", "</ins>")}


def redline_html(ops: Iterable[Op]) -> str:
    """The ops as HTML: kept text plain, struck text in <del>, inserted text in <ins>."""
    parts = []
    for op in ops:
        opening, closing = _TAGS[op.op]
        parts.append(f"{opening}{escape(op.text, quote=True)}{closing}")
    return "".join(parts)
