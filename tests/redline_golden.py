"""Golden redline cases: inputs and the expected redline, stored as JSON under tests/golden.

A case names the paragraph, the target language and `offending` markers: a sentence offends when
it contains one of them (standing in for the engine's per-sentence assessment). The expected part
is written only by tools/regen_redline_golden.py, on purpose, and reviewed in the diff.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from server.core.redline import Op, propose
from server.core.redline_html import redline_html

GOLDEN_DIR = Path(__file__).parent / "golden" / "redline"


def markup(ops: tuple[Op, ...]) -> str:
    """The ops as one readable line: [-struck-]{+inserted+}."""
    marks = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}
    return "".join(marks[op.op].format(op.text) for op in ops)


def expected_for(case: dict[str, Any]) -> dict[str, Any]:
    """What the redline engine produces for the case, in the golden file's shape."""
    markers: list[str] = case["offending"]
    redline = propose(case["paragraph"], case["target"],
                      lambda sentence: any(m in sentence for m in markers))
    return {
        "strategy": redline.strategy,
        "note": redline.note,
        "markup": markup(redline.ops),
        "text": redline.text,
        "ops": [[op.op, op.text] for op in redline.ops],
        "html": redline_html(redline.ops),
    }


def case_files() -> list[Path]:
    """The golden case files, in name order."""
    return sorted(GOLDEN_DIR.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    """One case file."""
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def dump(case: dict[str, Any]) -> str:
    """A case file's text: stable key order, unicode kept readable."""
    return json.dumps(case, ensure_ascii=False, indent=2) + "\n"
