"""GET /api/v1/clauses/search: playbook positions and precedent clauses for a lawyer's query.

The search index (the bank's positions, plus the precedent corpus named by REDLINE_PRECEDENTS)
is built on the first search, in the background: a large corpus takes minutes to embed the
first time (then its vectors come from the cache), and meanwhile search answers 503.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from server.adapters.precedents import InvalidCorpus, read_precedents
from server.api.clauses import topic_of
from server.api.errors import ApiError
from server.api.suggest import perspective_of
from server.core.embedding import Embedder, Vectors
from server.core.engine import SuggestionEngine
from server.core.search import Hit, Reranker, SearchIndex, position_document
from server.core.topics import Perspective
from server.services import FileVectorCache, NotReady, services
from server.settings import Settings

log = logging.getLogger(__name__)
bp = Blueprint("search", __name__, url_prefix="/api/v1")

EXTENSION = "clausewise-search"
DEFAULT_LIMIT = 10
MAX_LIMIT = 50  # larger requests get this many: a search box shows a page, not the corpus
FIRST_BUILD_WAIT = 10.0  # seconds a first search waits for the index before answering 503


@dataclass
class SearchState:
    """The app's search index, built once per engine in a background thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    engine: SuggestionEngine | None = None
    index: SearchIndex | None = None
    building: threading.Thread | None = None
    failure: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


def search_index(app: Flask, engine: SuggestionEngine) -> SearchIndex:
    """The index for this engine, or NotReady while it is being built."""
    state: SearchState = app.extensions.setdefault(EXTENSION, SearchState())
    with state.lock:
        if state.engine is not engine:
            state.engine, state.index, state.failure = engine, None, None
            state.done = threading.Event()
            state.building = threading.Thread(target=_build, args=(app, state, engine),
                                              daemon=True, name="search-index")
            state.building.start()
        done = state.done
    done.wait(FIRST_BUILD_WAIT)
    with state.lock:
        if state.index is not None and state.engine is engine:
            return state.index
        raise NotReady(state.failure or "the precedent corpus is still being indexed for search")


def _build(app: Flask, state: SearchState, engine: SuggestionEngine) -> None:
    """Index the bank's positions and the configured precedents."""
    settings = app.extensions["clausewise"].settings
    try:
        documents = [position_document(p) for p in engine.bank.positions()]
        if settings.precedents is not None:
            documents += read_precedents(settings.precedents)
        embedder, known = search_embedder(settings, engine)
        index = SearchIndex(documents, embedder, FileVectorCache(settings.cache_dir),
                            known=known, reranker=search_reranker(settings))
        with state.lock:
            if state.engine is engine:
                state.index = index
        log.info("search index ready: %d documents, %d passages", len(index),
                 len(index.passages))
    except Exception as error:  # reported as the 503's reason; the text of no clause is logged
        with state.lock:
            state.failure = f"search index failed to build: {type(error).__name__}"
        # a corpus error names file and line only; any other error is named by its type
        detail = str(error) if isinstance(error, InvalidCorpus) else type(error).__name__
        log.error("search index failed to build: %s", detail)
    finally:
        state.done.set()


def search_embedder(settings: Settings, engine: SuggestionEngine
                    ) -> tuple[Embedder, Mapping[str, Vectors]]:
    """The model search reads with, and the vectors it already has for whole texts.

    By default that is the engine's model, whose bank index has embedded every position's
    text and exemplars; REDLINE_SEARCH_MODEL names another (a fine-tuned copy, see
    `python -m server search-train`), whose vectors must not be mixed with the engine's.
    """
    if settings.search_model is None:
        return engine.embedder, dict(zip(engine.index.texts, engine.index.vectors, strict=True))
    from server.adapters.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings.search_model), {}


def search_reranker(settings: Settings) -> Reranker | None:
    """The cross-encoder that re-ranks search's top hits (REDLINE_SEARCH_RERANKER), if any."""
    if settings.search_reranker is None:
        return None
    from server.adapters.reranker import CrossEncoderReranker

    return CrossEncoderReranker(settings.search_reranker)


def query_of(value: str | None) -> str:
    """The required query text, within the size limit."""
    if value is None or value == "":
        raise ApiError(400, "'q' must be a non-empty query.", {"q": "required, non-empty"})
    limit = services().settings.max_text_chars
    if len(value) > limit:
        raise ApiError(400, f"'q' is {len(value)} characters; the limit is {limit}.",
                       {"q": f"at most {limit} characters"})
    return value


def limit_of(value: str | None) -> int:
    """How many results: a whole number from 1 (default 10, at most 50 returned)."""
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ApiError(400, "'limit' must be a whole number of at least 1.",
                       {"limit": "whole number >= 1"})
    return min(number, MAX_LIMIT)


def hit_record(hit: Hit) -> dict[str, object]:
    """One result as the API's JSON."""
    document = hit.document
    record: dict[str, object] = {"kind": document.kind, "id": document.id}
    if document.topic:
        record["topic"] = document.topic
    if document.label:
        record["label"] = document.label
    if document.perspective:
        record["perspective"] = document.perspective
    if document.kind_of_position:
        record["position"] = document.kind_of_position
    record |= {"text": document.text, "score": round(hit.score, 4), "reason": reason(hit)}
    return record


def reason(hit: Hit) -> str:
    """A short account of why the document matched: meaning and shared terms, and the
    re-ranker's relevance when it re-read the document."""
    parts = [f"close in meaning (cosine {hit.semantic:.2f})"]
    if hit.document.kind == "position" and hit.best_passage != hit.document.text:
        parts[0] += " to one of the ways counterparties write this position"
    if hit.relevance is not None:
        parts.insert(0, f"re-ranked by reading query and clause together "
                        f"(relevance {hit.relevance:.2f})")
    if hit.matched_terms:
        shown = ", ".join(hit.matched_terms[:6])
        parts.append(f"shares the terms: {shown}")
    else:
        parts.append("no query term in common")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


@bp.get("/clauses/search")
def search() -> Response:
    """Positions and precedents for the query, best first."""
    query = query_of(request.args.get("q"))
    topic = topic_of(request.args.get("topic"))
    side = request.args.get("perspective")
    perspective: Perspective | None = perspective_of(side) if side else None
    limit = limit_of(request.args.get("limit"))
    engine = services().ready_engine()
    index = search_index(current_app._get_current_object(), engine)  # type: ignore[attr-defined]
    allowed = index.allowed(topic, perspective.value if perspective else None)
    hits = index.search(query, limit, allowed)
    return jsonify(results=[hit_record(h) for h in hits])
