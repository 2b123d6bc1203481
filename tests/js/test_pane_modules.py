"""Runs the pane's JavaScript unit tests (tests/js/*.test.mjs: word.js, api.js) with node --test."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).parent


def test_pane_modules_pass_their_node_tests() -> None:
    node = shutil.which("node")
    assert node, "node is needed for the task pane's tests (tools/system-deps.sh installs it)"
    files = sorted(str(p) for p in HERE.glob("*.test.mjs"))
    assert files
    result = subprocess.run([node, "--test", *files], capture_output=True, text=True,
                            timeout=120, check=False)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-4000:]
    passed = re.search(r"^# pass (\d+)$", report, re.M)
    failed = re.search(r"^# fail (\d+)$", report, re.M)
    assert passed and failed, report[-2000:]
    assert int(failed.group(1)) == 0
    assert int(passed.group(1)) >= 29  # every test in the files ran
