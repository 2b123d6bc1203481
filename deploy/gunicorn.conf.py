"""gunicorn settings for Clausewise: `gunicorn -c deploy/gunicorn.conf.py`.

Every number below can be overridden from the environment (names in deploy/README.md); the
defaults were chosen by measurement with bench/loadtest.py on a 2-core machine (BENCHMARKS.md).
"""

from __future__ import annotations

import os
import sys

from server.security.exposure import Exposed, check_exposure
from server.settings import Settings

wsgi_app = "server.wsgi:app"
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]

# The model (about 90 MB of weights plus torch) is loaded once in the master and shared by the
# forked workers copy-on-write, so a worker costs little memory and forks in milliseconds.
# Not with ONNX: workers that inherit an onnxruntime session across fork hang or abort when
# they stop (measured: tests/integration/test_onnx_backend.py), so each loads its own.
preload_app = Settings.from_env().backend == "torch"

# Measured with bench/loadtest.py (32 clients, BENCHMARKS.md): embedding is CPU-bound, so
# one single-threaded torch per core is the sweet spot. 2 sync workers: 114 req/s, p99 337 ms;
# 3 workers: the same; gthread with 2 or 4 threads: the same or less throughput and p99 of
# 534-741 ms; torch on 2 threads in each of 2 workers oversubscribes the cores: 29 req/s.
# Sync workers also fail better: a killed sync worker loses only its one in-flight request
# (measured: 1 failure), and on a graceful reload connections not yet accepted wait in the
# listen queue for the new workers (a gthread worker drops connections it accepted but had
# not started). Slow clients are nginx's job: it buffers whole requests before passing them on.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
workers = int(os.environ.get("WEB_CONCURRENCY", str(os.cpu_count() or 2)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))  # used by the gthread class only
# Each worker's torch and numpy (BLAS) use this many threads (1: the worker processes already
# fill the cores).
torch_threads = int(os.environ.get("CLAUSEWISE_TORCH_THREADS", "1"))

# A paragraph takes tens of milliseconds; a whole .docx review up to about 20 s on 2 cores.
# 60 s stops a stuck worker without killing a long review.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# SIGHUP (systemctl reload) or SIGTERM: workers finish their in-flight requests first.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5  # the reverse proxy reuses connections
# Worker memory grew about 10 MiB per 1,000 requests in the 20,000-request soak (BENCHMARKS.md),
# so workers are recycled: after ~10,000 requests a worker finishes its request and exits, and a
# fresh one forks from the preloaded master in milliseconds (no request is lost).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 10

# Logs: the app logs one line per request itself (route, status, time, text length and hash),
# so gunicorn's access log is off unless GUNICORN_ACCESSLOG names a file ("-": stdout). It then
# prints the path without the query string (%(U)s), since a query can carry contract text; the
# error log is scrubbed the same way (server/serving.py).
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = Settings.from_env().log_level.lower()
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
logger_class = "server.serving.GunicornLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def refuse_exposure(binds: list[str]) -> None:
    """Exit (status 2) rather than serve an unauthenticated API on a network address."""
    try:
        check_exposure(binds, Settings.from_env())
    except Exposed as error:
        print(f"clausewise: not starting: {error}", file=sys.stderr)
        sys.exit(2)


refuse_exposure(bind)  # now, before the model loads, for the bind set here or in GUNICORN_BIND


def on_starting(server: object) -> None:
    """Check again once command-line options (-b) have been applied."""
    refuse_exposure(server.cfg.bind)  # type: ignore[attr-defined]


def post_fork(server: object, worker: object) -> None:
    """Give each worker its share of the cores, for torch and for numpy's BLAS."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(torch_threads)
    # Left alone, BLAS starts a thread per core in every worker for the bank similarities, and
    # with the other core busy the two wait on each other (BENCHMARKS.md: p95 at 10,000 rows).
    threadpool_limits(torch_threads, user_api="blas")
