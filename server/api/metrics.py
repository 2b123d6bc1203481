"""/metrics in Prometheus text format, and the one log line per request.

Counts and timings only: requests by route (the URL rule, never the path or query), method and
status, and a latency histogram per route. No label ever carries request content.

gunicorn forks workers from the preloaded app, so the counters live in an anonymous shared
memory map made before the fork: any worker answering /metrics reports the whole server. Each
process writes only its own slot (no lock across processes, so killing a worker mid-request
cannot wedge the others); a replacement worker reuses a dead worker's slot, so totals only grow.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import threading
import time
from collections.abc import Iterable, Iterator

import numpy as np
from flask import Blueprint, Flask, Response, g, request

from server.services import EXTENSION as SERVICES

log = logging.getLogger("clausewise.access")
bp = Blueprint("metrics", __name__)
EXTENSION = "clausewise.metrics"

METHODS = ("GET", "POST", "OPTIONS", "HEAD", "other")
STATUSES = ("200", "201", "204", "304", "400", "401", "403", "404", "405", "413", "415", "422",
            "429", "500", "503", "other")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_ROUTES = 64
MAX_SLOTS = 64  # processes: gunicorn workers over the server's lifetime, reusing dead ones
UNMATCHED = "(unmatched)"
_UNREAD = frozenset({401, 403, 413, 429})
OTHER = "(other)"

_COUNTS = len(METHODS) * len(STATUSES)
_ROW = _COUNTS + len(BUCKETS) + 2  # counts, histogram (with +Inf), sum of seconds


class SharedCounters:
    """Request counts and latency histograms in memory shared by forked processes."""

    def __init__(self) -> None:
        self.routes: list[str] = []
        self._index: dict[str, int] = {}
        floats = MAX_SLOTS * (1 + MAX_ROUTES * _ROW)
        self._map = mmap.mmap(-1, floats * 8)  # anonymous and MAP_SHARED: survives fork
        self._all = np.ndarray((MAX_SLOTS, 1 + MAX_ROUTES * _ROW), dtype=np.float64,
                               buffer=self._map)
        self._slot: int | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def lay_out(self, rules: Iterable[str]) -> None:
        """Fix the routes' rows; forked workers share the app, so all get the same layout."""
        if not self.routes:
            routes = sorted(set(rules) - {UNMATCHED, OTHER})
            self._index = {route: i for i, route in enumerate(routes[: MAX_ROUTES - 2])}
            self._index[UNMATCHED] = MAX_ROUTES - 2
            self._index[OTHER] = MAX_ROUTES - 1
            self.routes = list(self._index)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        r = self._index.get(route, self._index[OTHER])
        m = METHODS.index(method) if method in METHODS else len(METHODS) - 1
        s_text = str(status)
        s = STATUSES.index(s_text) if s_text in STATUSES else len(STATUSES) - 1
        b = next((i for i, edge in enumerate(BUCKETS) if seconds <= edge), len(BUCKETS))
        with self._lock:
            row = self._row(r)
            if row is None:
                return
            row[m * len(STATUSES) + s] += 1
            row[_COUNTS + b] += 1
            row[_ROW - 1] += seconds

    def _row(self, route: int) -> np.ndarray | None:
        slot = self._own_slot()
        if slot is None:
            return None
        start = 1 + route * _ROW
        row: np.ndarray = self._all[slot, start:start + _ROW]
        return row

    def _own_slot(self) -> int | None:
        """This process's slot: claimed on first use after a fork."""
        pid = os.getpid()
        if self._pid == pid:
            return self._slot
        self._pid, self._slot = pid, None
        owners = self._all[:, 0]
        for slot in range(MAX_SLOTS):
            owner = int(owners[slot])
            if owner == 0 or not _alive(owner):
                owners[slot] = pid
                if int(owners[slot]) == pid:  # a racing process may have written after us
                    self._slot = slot
                    break
        if self._slot is None:
            log.warning("metrics: no free slot; this process's requests are not counted")
        return self._slot

    def totals(self) -> np.ndarray:
        """Every route's row, summed over processes."""
        summed: np.ndarray = self._all[:, 1:].sum(axis=0).reshape(MAX_ROUTES, _ROW)
        return summed

    def exposition(self, ready: bool) -> Iterator[str]:
        """The Prometheus text format, line by line."""
        totals = self.totals()
        yield "# HELP clausewise_http_requests_total Finished HTTP requests."
        yield "# TYPE clausewise_http_requests_total counter"
        for route, r in self._index.items():
            for m, method in enumerate(METHODS):
                for s, status in enumerate(STATUSES):
                    value = totals[r, m * len(STATUSES) + s]
                    if value:
                        yield (f'clausewise_http_requests_total{{route="{_label(route)}",'
                               f'method="{method}",status="{status}"}} {int(value)}')
        yield "# HELP clausewise_http_request_duration_seconds Time to answer a request."
        yield "# TYPE clausewise_http_request_duration_seconds histogram"
        for route, r in self._index.items():
            histogram = totals[r, _COUNTS:_COUNTS + len(BUCKETS) + 1]
            count = histogram.sum()
            if not count:
                continue
            label = f'route="{_label(route)}"'
            cumulative = np.cumsum(histogram)
            for edge, value in zip((*map(str, BUCKETS), "+Inf"), cumulative, strict=True):
                yield (f'clausewise_http_request_duration_seconds_bucket{{{label},le="{edge}"}}'
                       f" {int(value)}")
            yield f"clausewise_http_request_duration_seconds_sum{{{label}}} {totals[r, -1]:.6f}"
            yield f"clausewise_http_request_duration_seconds_count{{{label}}} {int(count)}"
        yield "# HELP clausewise_ready Whether the model and clause bank are loaded (1) or not (0)."
        yield "# TYPE clausewise_ready gauge"
        yield f"clausewise_ready {int(ready)}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def install(app: Flask) -> None:
    """Time every request, count it, and log it (register before the other hooks)."""
    counters = SharedCounters()  # made now, before gunicorn forks the workers
    app.extensions[EXTENSION] = counters
    app.register_blueprint(bp)

    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def count(response: Response) -> Response:
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        counters.lay_out(rule.rule for rule in app.url_map.iter_rules())
        route = request.url_rule.rule if request.url_rule else UNMATCHED
        counters.observe(route, request.method, response.status_code, seconds)
        _log_request(route, response.status_code, seconds)
        return response


@bp.get("/metrics")
def metrics() -> Response:
    """Counts and timings in the Prometheus text format."""
    from flask import current_app

    counters: SharedCounters = current_app.extensions[EXTENSION]
    counters.lay_out(rule.rule for rule in current_app.url_map.iter_rules())
    ready = current_app.extensions[SERVICES].engine is not None
    body = "\n".join(counters.exposition(ready)) + "\n"
    return Response(body, mimetype="text/plain", content_type="text/plain; version=0.0.4")


def _log_request(route: str, status: int, seconds: float) -> None:
    """One line per request: what, how it went and how long; sizes and a hash, never text."""
    if not log.isEnabledFor(logging.INFO):
        return
    size, digest = _content_summary(status)
    who = g.get("principal")
    log.info("%s %s %d %.1fms chars=%s sha=%s id=%s client=%s", request.method, route, status,
             seconds * 1000, size, digest, g.get("request_id", "-"),
             who.subject if who is not None else "-")


def _content_summary(status: int) -> tuple[str, str]:
    """Length and short sha256 of the request's text (JSON 'text', or the 'q' query)."""
    if status in _UNREAD:  # refused before the body was read: do not parse it now
        return f"{request.content_length or 0}B", "-"
    try:
        text: str | None = None
        if request.is_json and request.content_length:
            body = request.get_json(silent=True)
            if isinstance(body, dict) and isinstance(body.get("text"), str):
                text = body["text"]
        if text is None and "q" in request.args:
            text = request.args["q"]
        if text is not None:
            return str(len(text)), hashlib.sha256(text.encode()).hexdigest()[:12]
        if request.content_length:
            return f"{request.content_length}B", "-"
    except Exception:  # a log line must never fail the request (e.g. a body over the limit)
        return "?", "-"
    return "0", "-"
