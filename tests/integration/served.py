"""Run the real service in a subprocess on loopback (gunicorn or `python -m server serve`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
FIXTURE_BANK = ROOT / "tests" / "fixtures" / "bank"
START_SECONDS = 180  # the model loads in seconds, but this machine's cores are shared


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def service_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment for a service on the fixture bank, caching and temp files under tmp."""
    (tmp / "cache").mkdir(exist_ok=True)
    (tmp / "tmp").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDLINE_", "GUNICORN_"))}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               REDLINE_BANK=str(FIXTURE_BANK), REDLINE_CACHE_DIR=str(tmp / "cache"),
               TMPDIR=str(tmp / "tmp"), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


@dataclass
class Reply:
    """An HTTP response, read whole."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Service:
    """A running server process and where it listens."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://127.0.0.1:{self.port}"

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             raw: bytes | None = None, timeout: float = 60) -> Reply:
        """One request; HTTP errors are replies too."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        sent = {"Content-Type": "application/json"} if body is not None else {}
        sent.update(headers or {})
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read())

    def wait_ready(self) -> None:
        """Block until /readyz says ready; fail with the log if the process died."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited {self.process.returncode}:\n{self.output()}")
            try:
                if self.call("GET", "/readyz", timeout=5).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"server not ready in {START_SECONDS} s:\n{self.output()}")

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log.read_text(errors="replace")

    def workers(self) -> set[int]:
        """The process ids of this server's child processes (gunicorn's workers)."""
        found = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.add(int(stat.parent.name))
        return found

    def stop(self) -> int:
        """Graceful stop (SIGTERM), then the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start(command: list[str], env: dict[str, str], log: Path, port: int) -> Service:
    """Start a server; its stdout and stderr go to the log file."""
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink,
                                   stderr=subprocess.STDOUT)
    return Service(process, port, log)


def gunicorn(tmp: Path, *args: str, **env: str) -> Service:
    """gunicorn with deploy/gunicorn.conf.py on a free loopback port."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
               "-b", f"127.0.0.1:{port}", *args]
    return start(command, service_env(tmp, **env), tmp / "gunicorn.log", port)


def dev_server(tmp: Path, *args: str, **env: str) -> Service:
    """`python -m server serve` on a free loopback port."""
    port = free_port()
    command = [sys.executable, "-m", "server", "serve", "--port", str(port), *args]
    return start(command, service_env(tmp, **env), tmp / "serve.log", port)


def run_to_exit(command: list[str], tmp: Path, timeout: float = START_SECONDS,
                **env: str) -> subprocess.CompletedProcess[str]:
    """Run a command that should refuse to start; its output and status."""
    return subprocess.run(command, cwd=ROOT, env=service_env(tmp, **env), capture_output=True,
                          text=True, timeout=timeout, check=False)
