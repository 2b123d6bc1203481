"""The task pane end to end: the real service and model, the pane in headless Chromium.

Starts `python -m server serve` on a free loopback port with the built-in clause bank, waits
for /readyz, then runs tests/e2e/pane.test.mjs with node's test runner (playwright-core driving
Debian's /usr/bin/chromium). Set CLAUSEWISE_SCREENSHOT=docs/taskpane.png to refresh the README's
screenshot (`make screenshot`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]
CHROMIUM = Path("/usr/bin/chromium")
READY_TIMEOUT_S = 600  # the first start embeds the whole clause bank on a shared 2-core machine

pytestmark = [pytest.mark.slow, pytest.mark.model]


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Poll /readyz until the model and the clause bank are loaded."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the service exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
                if json.load(response).get("status") == "ready":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    pytest.fail(f"the service was not ready in {READY_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real service on the built-in clause bank, with the real model."""
    port = free_port()
    log = tmp_path_factory.mktemp("service") / "service.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "REDLINE_PUBLIC_URL": f"https://127.0.0.1:{port}"}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "server", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def node_modules() -> Path:
    """tests/e2e/node_modules, installed from the lock file when missing (`make` does it too)."""
    modules = HERE / "node_modules"
    if not (modules / "playwright-core").is_dir():
        npm = shutil.which("npm")
        assert npm, "npm is needed for the browser tests"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True,
                       env={**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"})
    return modules


def test_task_pane_in_headless_chromium(service: str, tmp_path: Path) -> None:
    assert CHROMIUM.is_file(), "Debian's chromium is needed (tools/system-deps.sh installs it)"
    node_modules()
    screenshot = Path(os.environ.get("CLAUSEWISE_SCREENSHOT") or tmp_path / "taskpane.png")
    env = {**os.environ, "CLAUSEWISE_URL": service, "CLAUSEWISE_SCREENSHOT": str(screenshot)}
    result = subprocess.run(["node", "--test", "--test-concurrency=1", str(HERE / "pane.test.mjs")],
                            cwd=HERE, env=env, capture_output=True, text=True, timeout=600,
                            check=False)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-6000:]
    passed = re.search(r"^# pass (\d+)$", report, re.M)
    failed = re.search(r"^# fail (\d+)$", report, re.M)
    assert passed and failed and int(failed.group(1)) == 0, report[-3000:]
    assert int(passed.group(1)) >= 15, report[-3000:]  # every test in the file ran
    header = screenshot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(header[16:20], "big") == 320  # the pane's width
