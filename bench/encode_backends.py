"""`make bench`: the embedding backends side by side, speed and agreement, in one process.

1. Encode time (one model call on one paragraph, p50 and p95) of 60-, 150-, 200- and
   400-word paragraphs on each backend: torch, onnx (int8, avx512_vnni) and onnx-fp32. The
   backends take turns on every repetition, so load from other processes hits all alike.
2. Cosine of each ONNX backend's embeddings to torch's, on the dev set's paragraphs and on
   the clause bank's exemplars (the rows the engine matches against).

Prints the load average before and after: on a shared machine, re-run when it is high.
Accuracy of the whole engine per backend: `REDLINE_BACKEND=onnx make eval`.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Sequence

import numpy as np

from bench.suggest_latency import paragraph, percentiles
from eval.run import load_devset
from server.adapters.bank_yaml import load_bank
from server.adapters.embedding import BACKENDS, SentenceTransformerEmbedder
from server.settings import Settings

# Same reason as bench/suggest_latency.py: idle OpenMP threads must not spin between calls.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
WORDS = (60, 150, 200, 400)
RUNS = int(os.environ.get("BENCH_RUNS", "40"))
WARMUP = 3


def load() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def encode_times(embedders: dict[str, SentenceTransformerEmbedder]) -> None:
    """p50/p95 encode time per backend and paragraph length, backends interleaved."""
    print("words  " + "  ".join(f"{name + ' p50/p95 ms':>22}" for name in embedders)
          + "  speed-up p50 vs torch")
    for words in WORDS:
        samples: dict[str, list[float]] = {name: [] for name in embedders}
        for i in range(WARMUP + RUNS):
            text = paragraph(words, f"b{words}-{i}")  # a new text each time: no cache helps
            for name, embedder in embedders.items():
                started = time.perf_counter()
                embedder.embed([text])
                if i >= WARMUP:
                    samples[name].append(time.perf_counter() - started)
        cells = {name: percentiles(values)[:2] for name, values in samples.items()}
        torch_p50 = cells["torch"][0]
        print(f"{words:5d}  "
              + "  ".join(f"{p50:10.1f} {p95:10.1f}" for p50, p95 in cells.values()) + "  "
              + " ".join(f"{name} {torch_p50 / p50:.2f}x" for name, (p50, _) in cells.items()
                         if name != "torch"))


def agreement(embedders: dict[str, SentenceTransformerEmbedder], label: str,
              texts: Sequence[str]) -> None:
    """Cosine of each ONNX backend's embeddings to torch's on these texts."""
    reference = embedders["torch"].embed(texts)
    for name, embedder in embedders.items():
        if name == "torch":
            continue
        cosines = np.sum(reference * embedder.embed(texts), axis=1)
        print(f"{label:<16} {len(texts):5d} texts  {name:<10} cosine to torch: min "
              f"{cosines.min():.4f}  p5 {np.percentile(cosines, 5):.4f}  "
              f"mean {cosines.mean():.4f}")


def main() -> int:
    """Load every backend, then time them and compare their embeddings."""
    settings = Settings.from_env()
    print(f"{time.strftime('%Y-%m-%d %H:%M')}  {platform.processor() or platform.machine()}  "
          f"{os.cpu_count()} cores  python {platform.python_version()}  load {load()}")
    embedders = {backend: SentenceTransformerEmbedder(settings.model, backend=backend,
                                                      cache_dir=settings.cache_dir)
                 for backend in BACKENDS}
    encode_times(embedders)
    print(f"{RUNS} paragraphs per row (after {WARMUP} warm-up), one encode call each; "
          f"the model reads at most 256 word pieces.  load {load()}")
    bank = load_bank(settings.bank_dir, settings.bank_overlay)
    agreement(embedders, "dev set", [e.text for e in load_devset()])
    agreement(embedders, "bank exemplars",
              [text for p in bank.positions() for text in (p.text, *p.exemplars)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
