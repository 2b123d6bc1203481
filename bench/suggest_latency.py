"""`make bench`: /api/v1/suggest latency over HTTP beside raw model encode time, and matching
cost as the bank grows.

1. Starts gunicorn (one worker) on loopback with the built-in bank, then sends 60-, 150- and
   400-word paragraphs one at a time. "cold" requests change every sentence, so nothing is
   cached; "edit" requests change one word, as live editing does. The raw encode of the same
   paragraph (one model call on the whole text, in this process) is timed in the same run,
   and so is the encode of all its text in model-sized windows (past 256 tokens the raw call
   reads only the beginning; the service reads everything).
   Both use the backend REDLINE_BACKEND names (torch by default; bench/encode_backends.py
   compares the backends).
2. Times matching alone (similarity, topic scores, stance votes; no embedding) for one
   paragraph against 100, 10,000 and 100,000 synthetic bank rows.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from server.adapters.background import read_background
from server.adapters.bank_yaml import load_bank
from server.adapters.embedding import SentenceTransformerEmbedder
from server.core.embedding import windows
from server.core.engine import SuggestionEngine
from server.services import build_embedder
from server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# Two processes (this one and the server) take turns on two cores; OpenMP threads that spin
# after each call would steal the other's turn and time the spinning, not the work.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
SENTENCES = [
    "Vendor may use Customer Data, Inputs and Outputs to train, retrain and improve the "
    "machine learning models that underlie the Services and its other products",
    "Customer acknowledges that such use is necessary for the continued improvement of the "
    "AI Features and waives any claim arising from it",
    "Vendor shall keep Customer Data confidential and shall process it only in accordance "
    "with the data processing addendum attached as Exhibit C",
    "Fees for the Services are set out in the Order Form and are payable within thirty days "
    "of the date of each invoice",
    "In no event shall either party's aggregate liability arising out of this Agreement "
    "exceed the fees paid by Customer in the twelve months preceding the claim",
    "Vendor may engage third-party providers of foundation models to deliver the AI Features "
    "and shall remain responsible for their performance",
]
RUNS = 40


def paragraph(words: int, salt: str) -> str:
    """A paragraph of about this many words, each sentence marked with the salt."""
    out: list[str] = []
    i = 0
    while sum(len(s.split()) for s in out) < words:
        out.append(f"{SENTENCES[i % len(SENTENCES)]} (clause {salt}.{i}).")
        i += 1
    return " ".join(out)


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """p50, p95 and p99 in milliseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000

    return at(0.50), at(0.95), at(0.99)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    """gunicorn with the real app, one worker, on loopback; waits for /readyz."""
    # Rate limiting is not what is measured (the faster backends exceed the default per minute).
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "REDLINE_LOG_LEVEL": "WARNING",
           "REDLINE_RATE_LIMIT": "0"}
    # As deploy/gunicorn.conf.py: no preloading with ONNX (its sessions do not survive a fork).
    preload = ["--preload"] if Settings.from_env().backend == "torch" else []
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "2",
         "--bind", f"127.0.0.1:{port}", *preload, "server.wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.5)
    process.kill()
    raise SystemExit("server did not become ready in 120 s")


def timed(call: Callable[[], object]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def suggest_over_http(connection: http.client.HTTPConnection, text: str) -> None:
    """One POST /api/v1/suggest on a keep-alive connection."""
    body = json.dumps({"text": text, "perspective": "customer"})
    connection.request("POST", "/api/v1/suggest", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise SystemExit(f"suggest answered {response.status}")


def latency(embedder: SentenceTransformerEmbedder) -> None:
    """Service latency beside raw encode of the same texts."""
    port = free_port()
    server = start_server(port)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for i in range(5):
            suggest_over_http(connection, paragraph(60, f"warm{i}"))
        print("words  kind   service p50/p95/p99 ms      raw encode p50/p95/p99 ms   ratio p50"
              "   whole-text encode p50   ratio p50")
        for words in (60, 150, 400):
            base = paragraph(words, f"e{words}")
            for kind in ("cold", "edit"):
                service, raw, whole = [], [], []
                for i in range(RUNS):
                    # Interleaved, so both see the same load on a shared machine.
                    text = (paragraph(words, f"{kind}{words}-{i}") if kind == "cold"
                            else base.replace("thirty days", f"{30 + i} days"))
                    raw.append(timed(partial(embedder.embed, [text])))
                    whole.append(timed(partial(embedder.embed, windows(text, embedder))))
                    service.append(timed(partial(suggest_over_http, connection, text)))
                s, r, w = percentiles(service), percentiles(raw), percentiles(whole)
                print(f"{words:5d}  {kind:5s}  {s[0]:7.1f} {s[1]:7.1f} {s[2]:7.1f}      "
                      f"{r[0]:7.1f} {r[1]:7.1f} {r[2]:7.1f}      {s[0] / r[0]:5.2f}"
                      f"   {w[0]:21.1f}   {s[0] / w[0]:9.2f}")
    finally:
        server.terminate()
        server.wait(10)


def matching_cost(embedder: SentenceTransformerEmbedder) -> None:
    """Matching alone against synthetic banks of growing size."""
    bank = load_bank()
    engine = SuggestionEngine(bank, embedder, background=read_background())
    units = [paragraph(60, "m")]
    vectors = embedder.embed(units)
    real = engine.index
    rng = np.random.default_rng(7)
    print("bank rows   matching ms per paragraph (p50, p95), one BLAS thread as in a worker")
    for rows in (100, 10_000, 100_000):
        picks = rng.integers(0, len(real.positions), size=rows)
        noise = rng.normal(0, 0.05, size=(rows, real.vectors.shape[1])).astype(np.float32)
        synthetic = real.vectors[picks] + noise
        synthetic /= np.linalg.norm(synthetic, axis=1, keepdims=True)
        topic_of = np.array([real.topic_ids.index(real.positions[p].topic) for p in picks])
        index = replace(
            real, positions=tuple(real.positions[p] for p in picks),
            texts=tuple(real.texts[p] for p in picks), vectors=synthetic,
            cue_vectors=real.cue_vectors[picks],
            topic_rows=tuple(np.flatnonzero(topic_of == t) for t in range(len(real.topic_ids))))
        # Noisy copies sit farther from the paragraph than real exemplars do, and the off-topic
        # veto would then end the reading early; timing must cover the whole reading.
        scaled = SuggestionEngine(bank, embedder, index=index, classifiers=engine.classifiers,
                                  tuning=replace(engine.tuning, topic_threshold=-1.0,
                                                 background_margin=-1.0))
        if not scaled.read(units, vectors):
            raise SystemExit("the matching benchmark's paragraph raised no topic")
        samples = []
        with threadpool_limits(1, user_api="blas"):  # as deploy/gunicorn.conf.py sets workers
            for _ in range(50):
                started = time.perf_counter()
                scaled.read(units, vectors)
                samples.append(time.perf_counter() - started)
        p50, p95, _ = percentiles(samples)
        print(f"{rows:9,d}   {p50:6.2f}  {p95:6.2f}")


def main() -> int:
    """Run both benchmarks and print the machine they ran on."""
    random.seed(7)
    print(f"{time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}  "
          f"{os.cpu_count()} cores  python {platform.python_version()}")
    embedder = build_embedder(Settings.from_env())
    print(f"embedding backend: {embedder.backend}")
    latency(embedder)
    matching_cost(embedder)
    print(f"{RUNS} requests per row; service times include HTTP, JSON and redlines; raw encode "
          "is one model call on the whole paragraph (the model truncates past 256 tokens); "
          "whole-text encode reads all of it, in windows of 256 tokens, as the service must.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
