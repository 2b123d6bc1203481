"""Regenerate the golden redline files (tests/golden/redline/*.json) -- only on purpose.

Without --write it only reports which cases' expected redlines differ from what the engine now
produces (exit status 1 if any do). With --write it rewrites their "expected" parts; review the
git diff of the golden files before committing. A new case is a file with only "about",
"paragraph", "target" and "offending"; --write fills in its expectation.

    .venv/bin/python tools/regen_redline_golden.py            # check
    .venv/bin/python tools/regen_redline_golden.py --write    # rewrite
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.redline_golden import case_files, dump, expected_for, load  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Check or rewrite every golden redline case; 1 when any differs and was not written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the differing cases")
    args = parser.parse_args(argv)
    stale = 0
    for path in case_files():
        case = load(path)
        expected = expected_for(case)
        if case.get("expected") == expected:
            continue
        stale += 1
        if args.write:
            path.write_text(dump({**case, "expected": expected}), encoding="utf-8")
            print(f"rewrote {path.name}: {expected['strategy']}")
        else:
            print(f"differs {path.name}")
    if not args.write and stale:
        print(f"{stale} case(s) differ; rerun with --write to accept them")
    return 1 if stale and not args.write else 0


if __name__ == "__main__":
    raise SystemExit(main())
