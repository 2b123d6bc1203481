"""`make loadtest`: gunicorn (deploy/gunicorn.conf.py, real model, built-in bank) on loopback
under 32 concurrent clients. Bounded in requests and time; it stops by itself.

1. load:  32 clients for 60 s of POST /api/v1/suggest: throughput, p50/p95/p99, errors.
2. soak:  the same clients go on until 20,000 requests in all (capped at --soak-seconds);
          RSS and PSS of the master and workers after warm-up and at the end.
3. fault: 32 clients for 20 s; one worker is SIGKILLed after 5 s: failures, recovery.

Every request's paragraph is unique (a clause number and a varying party name), so the
engine's embedding memo never answers for the model. Rate limiting is off (REDLINE_RATE_LIMIT=0):
all clients come from one address. The clients run on the same 2 cores as the server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PARAGRAPHS = [
    "{n}. {party} may use Customer Data and Outputs to train and improve its models and "
    "the models of its affiliates, without further notice to Customer.",
    "{n}. Neither party's aggregate liability shall exceed the fees paid by Customer to {party} "
    "in the twelve months before the claim, including for breach of confidentiality.",
    "{n}. {party} will notify Customer at least thirty days before it introduces any new "
    "artificial intelligence feature into the Services.",
    "{n}. As between the parties, Customer owns all Inputs, and {party} assigns to Customer "
    "all right, title and interest in the Outputs.",
    "{n}. {party} may engage third-party model providers as subprocessors and will flow down "
    "obligations no less protective than those in this Agreement.",
    "{n}. Invoices issued by {party} are payable within thirty days of receipt by bank transfer.",
    "{n}. This Agreement is governed by the laws of England and Wales, and {party} submits to "
    "the exclusive jurisdiction of the courts of London.",
    "{n}. {party} shall keep prompts and outputs logically isolated per customer and delete "
    "them within thirty days after the end of the session.",
]
PARTIES = ["Vendor", "Supplier", "the Provider", "Licensor", "the Contractor", "Acme Analytics"]


def paragraph(n: int) -> str:
    """A unique paragraph for request n."""
    template = PARAGRAPHS[n % len(PARAGRAPHS)]
    return template.format(n=f"{n // len(PARAGRAPHS) + 1}.{n % 97}",
                           party=PARTIES[(n // len(PARAGRAPHS)) % len(PARTIES)])


@dataclass
class Outcome:
    """One request as the client saw it."""

    started: float
    seconds: float
    status: int  # 0: connection failed


@dataclass
class Load:
    """Clients hammering the server until told to stop."""

    port: int
    clients: int
    counter: list[int] = field(default_factory=lambda: [0])
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def request(self) -> Outcome:
        with self.lock:
            n = self.counter[0]
            self.counter[0] += 1
        body = json.dumps({"text": paragraph(n), "perspective": "customer" if n % 3 else
                           "vendor"})
        start = time.perf_counter()
        status = 0
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            connection.request("POST", "/api/v1/suggest", body,
                               {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            status = response.status
            connection.close()
        except OSError:
            status = 0
        return Outcome(time.monotonic(), time.perf_counter() - start, status)

    def run(self, until: Callable[[], bool]) -> list[Outcome]:
        """All clients until `until()` is true; the outcomes of this run."""
        mark = len(self.outcomes)

        def client() -> None:
            while not until():
                outcome = self.request()
                with self.lock:
                    self.outcomes.append(outcome)

        threads = [threading.Thread(target=client) for _ in range(self.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.outcomes[mark:]


def summary(outcomes: list[Outcome], seconds: float) -> dict[str, float]:
    """Throughput, latency percentiles and errors."""
    ok = np.array([o.seconds for o in outcomes if o.status == 200]) * 1000
    return {
        "requests": len(outcomes),
        "seconds": round(seconds, 1),
        "throughput_rps": round(len(ok) / seconds, 1),
        "p50_ms": round(float(np.percentile(ok, 50)), 1) if len(ok) else -1,
        "p95_ms": round(float(np.percentile(ok, 95)), 1) if len(ok) else -1,
        "p99_ms": round(float(np.percentile(ok, 99)), 1) if len(ok) else -1,
        "max_ms": round(float(ok.max()), 1) if len(ok) else -1,
        "errors": sum(o.status != 200 for o in outcomes),
    }


def children(pid: int) -> list[int]:
    """The processes whose parent is pid."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def memory(pid: int) -> dict[str, float]:
    """RSS and PSS (shared pages split among sharers) of a process, in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            values[name.lower()] = round(int(rest.split()[0]) / 1024, 1)
    return values


def server_memory(master: int) -> dict[str, object]:
    """Memory of the master and each worker, and the total PSS (the real footprint)."""
    processes = {"master": memory(master)}
    for i, worker in enumerate(children(master)):
        processes[f"worker{i}"] = memory(worker)
    total = round(sum(p["pss"] for p in processes.values()), 1)
    return {"processes": processes, "total_pss_mib": total}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def start_server(args: argparse.Namespace, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDLINE_", "GUNICORN_"))}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               REDLINE_RATE_LIMIT="0", REDLINE_LOG_LEVEL=args.log_level,
               WEB_CONCURRENCY=str(args.workers), GUNICORN_WORKER_CLASS=args.worker_class,
               GUNICORN_THREADS=str(args.threads),
               CLAUSEWISE_TORCH_THREADS=str(args.torch_threads))
    command = [str(Path(sys.executable).parent / "gunicorn"), "-c",
               str(ROOT / "deploy" / "gunicorn.conf.py"), "-b", f"127.0.0.1:{port}"]
    with log.open("wb") as sink:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)


def wait_ready(port: int, process: subprocess.Popen[bytes], seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("gunicorn did not become ready")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60, help="length of the load phase")
    parser.add_argument("--total", type=int, default=20_000, help="requests before soak ends")
    parser.add_argument("--soak-seconds", type=float, default=900, help="cap on the soak phase")
    parser.add_argument("--fault-seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--skip-soak", action="store_true")
    parser.add_argument("--skip-fault", action="store_true")
    parser.add_argument("--out", type=Path, help="write the results as JSON here too")
    args = parser.parse_args(argv)

    port = free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"clausewise-loadtest-{port}.log"
    server = start_server(args, port, log)
    results: dict[str, object] = {"config": {k: v for k, v in vars(args).items()
                                             if k != "out"}}
    try:
        wait_ready(port, server)
        load = Load(port, args.clients)
        for _ in range(100):  # warm-up: first requests pay for lazy initialisation
            load.request()
        load.outcomes.clear()
        results["memory_start"] = server_memory(server.pid)

        begin = time.monotonic()
        outcomes = load.run(lambda: time.monotonic() - begin >= args.seconds)
        results["load"] = summary(outcomes, time.monotonic() - begin)
        report("load", results["load"])

        if not args.skip_soak:
            begin = time.monotonic()
            outcomes = load.run(lambda: load.counter[0] - 100 >= args.total
                                or time.monotonic() - begin >= args.soak_seconds)
            results["soak"] = summary(outcomes, time.monotonic() - begin)
            results["soak_total_requests"] = load.counter[0] - 100
            results["memory_end"] = server_memory(server.pid)
            report("soak", results["soak"])
            print("memory start:", json.dumps(results["memory_start"]))
            print("memory end:  ", json.dumps(results["memory_end"]))

        if not args.skip_fault:
            results["fault"] = fault(load, server.pid, args.fault_seconds)
            report("fault", results["fault"])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def fault(load: Load, master: int, seconds: float) -> dict[str, object]:
    """Load with one worker SIGKILLed after 5 s: what failed, and whether service went on."""
    before = children(master)
    killed: dict[str, float] = {}
    begin = time.monotonic()

    def kill_one() -> None:
        time.sleep(5)
        killed["at"] = time.monotonic()
        os.kill(before[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_one)
    killer.start()
    outcomes = load.run(lambda: time.monotonic() - begin >= seconds)
    killer.join()
    after = children(master)
    failed = [o for o in outcomes if o.status != 200]
    later = [o for o in outcomes if o.started > killed["at"] + 2]
    result: dict[str, object] = dict(summary(outcomes, time.monotonic() - begin))
    result.update({
        "workers_before": len(before), "workers_after": len(after),
        "killed_worker_replaced": before[0] not in after and len(after) == len(before),
        "failed_requests": len(failed),
        "failures_ended_within_s": round(max((o.started - killed["at"] for o in failed),
                                             default=0.0), 2),
        "ok_after_kill": sum(o.status == 200 for o in later),
        "failed_after_kill_plus_2s": sum(o.status != 200 for o in later),
    })
    return result


def report(phase: str, numbers: object) -> None:
    print(f"{phase}: {json.dumps(numbers)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
