"""What serving needs beyond the app: startup checks and request logs that carry no text.

Both servers' own request logs print the request line, and a query string can hold contract
text (GET /api/v1/clauses/search?q=...). Werkzeug's are switched off (the app logs every
request itself: server/api/metrics.py); gunicorn's access log prints the path without the
query (deploy/gunicorn.conf.py) and its error log is scrubbed of query strings here.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from gunicorn import glogging
from werkzeug.serving import WSGIRequestHandler

from server.settings import Settings

EXIT_NOT_STARTED = 3
LOG_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s %(message)s"
_QUERY = re.compile(r"\?[^\s'\"]*")


def model_problem(settings: Settings) -> str | None:
    """Why the configured model cannot load, found without loading it; None when present."""
    from server.adapters.embedding import model_path

    try:
        model_path(settings.model)
    except (FileNotFoundError, ImportError) as error:
        return f"the embedding model is missing: {error}"
    if settings.search_model is not None and not Path(settings.search_model).is_dir():
        return f"the search model (REDLINE_SEARCH_MODEL) is missing: {settings.search_model}"
    if settings.search_reranker is not None and not Path(settings.search_reranker).is_dir():
        return ("the search re-ranker (REDLINE_SEARCH_RERANKER) is missing: "
                f"{settings.search_reranker}")
    return None


def refuse_to_start(what: str, error: BaseException) -> SystemExit:
    """Print why the service is not starting and give the exit to raise."""
    print(f"{what}: not starting: {type(error).__name__}: {error}", file=sys.stderr)
    return SystemExit(EXIT_NOT_STARTED)


def scrub(value: object) -> str:
    """A log value with any query string replaced."""
    return _QUERY.sub("?(query omitted)", str(value))


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's dev-server handler without request lines in its log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Nothing: the app's own log line covers the request."""

    def log_error(self, format: str, *args: Any) -> None:
        """Errors, with query strings removed from their arguments."""
        super().log_error(scrub(format), *(scrub(a) for a in args))


class GunicornLogger(glogging.Logger):  # type: ignore[misc]
    """gunicorn's logger with query strings scrubbed from error-log messages."""

    def _scrubbed(self, level: str, msg: object, *args: Any, **kwargs: Any) -> None:
        getattr(super(), level)(scrub(msg), *(scrub(a) for a in args), **kwargs)

    def critical(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Scrubbed critical."""
        self._scrubbed("critical", msg, *args, **kwargs)

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Scrubbed error."""
        self._scrubbed("error", msg, *args, **kwargs)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Scrubbed warning."""
        self._scrubbed("warning", msg, *args, **kwargs)

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Scrubbed info."""
        self._scrubbed("info", msg, *args, **kwargs)

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Scrubbed debug."""
        self._scrubbed("debug", msg, *args, **kwargs)

    def exception(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Scrubbed exception."""
        self._scrubbed("exception", msg, *args, **kwargs)
