// Talks to the Clausewise service: POST api/v1/suggest and GET api/v1/clauses/search (same
// origin as the pane, so no CORS).
// One request in flight: a newer paragraph aborts the stale one. Answers are cached in memory by
// perspective and paragraph text (never stored: contract text stays in this page).

const ENDPOINT = "api/v1/suggest";
const SEARCH_ENDPOINT = "api/v1/clauses/search";
const CACHE_SIZE = 100;

/** A failed call, sorted into what the pane can say about it. */
export class ApiProblem extends Error {
  /** kind: "unreachable" | "unauthorized" | "rate-limited" | "not-ready" | "rejected" | "failed" */
  constructor(kind, message, { status = 0, retryAfter = null } = {}) {
    super(message);
    this.name = "ApiProblem";
    this.kind = kind;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

const KINDS = { 401: "unauthorized", 403: "unauthorized", 429: "rate-limited", 503: "not-ready" };

/** The suggestions for one paragraph; throws ApiProblem, or an AbortError when aborted. */
export async function suggest(text, perspective, { signal, apiKey } = {}) {
  const headers = { "Content-Type": "application/json" };
  const body = await call(ENDPOINT, {
    method: "POST", headers, body: JSON.stringify({ text, perspective }), signal,
  }, apiKey);
  if (body && Array.isArray(body.suggestions)) return body.suggestions;
  throw new ApiProblem("failed", "The service's answer had no suggestions.", { status: 200 });
}

/**
 * Playbook positions and precedent clauses for a query, best first. opts: topic, perspective,
 * limit, apiKey. Throws ApiProblem, or an AbortError when `signal` aborts.
 */
export async function searchClauses(q, opts = {}, signal = undefined) {
  const params = new URLSearchParams({ q });
  for (const name of ["topic", "perspective", "limit"]) {
    if (opts[name] !== undefined && opts[name] !== null && opts[name] !== "") {
      params.set(name, String(opts[name]));
    }
  }
  const body = await call(`${SEARCH_ENDPOINT}?${params}`, { method: "GET", signal }, opts.apiKey);
  if (body && Array.isArray(body.results)) return body.results;
  throw new ApiProblem("failed", "The service's answer had no results.", { status: 200 });
}

/** The parsed JSON of a successful answer; an ApiProblem for any failure. */
async function call(url, init, apiKey) {
  const headers = { Accept: "application/json", ...init.headers };
  if (apiKey) headers["X-API-Key"] = apiKey;
  let response;
  try {
    response = await fetch(url, { ...init, headers, cache: "no-store", credentials: "same-origin" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiProblem("unreachable", "The Clausewise service cannot be reached.");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    if (error.name === "AbortError") throw error;
  }
  if (response.ok && body) return body;
  const kind = response.ok ? "failed" : KINDS[response.status]
    ?? (response.status >= 400 && response.status < 500 ? "rejected" : "failed");
  const message = body?.description || `The service answered ${response.status}.`;
  const retry = Number(response.headers.get("Retry-After"));
  throw new ApiProblem(kind, message, {
    status: response.status, retryAfter: Number.isFinite(retry) && retry > 0 ? retry : null,
  });
}

/** Suggestions with an in-memory cache, aborting the previous request when a new one starts. */
export class SuggestionSource {
  constructor({ fetchSuggestions = suggest, size = CACHE_SIZE } = {}) {
    this.fetchSuggestions = fetchSuggestions;
    this.size = size;
    this.cache = new Map();
    this.controller = null;
    this.apiKey = null;
  }

  /** Cached, or fetched (aborting any older request still in flight). */
  async get(text, perspective) {
    const key = `${perspective}\u0000${text}`;
    if (this.cache.has(key)) {
      const hit = this.cache.get(key);
      this.cache.delete(key);
      this.cache.set(key, hit); // most recently used last
      this.abort();
      return hit;
    }
    this.abort();
    const controller = new AbortController();
    this.controller = controller;
    try {
      const suggestions = await this.fetchSuggestions(text, perspective,
        { signal: controller.signal, apiKey: this.apiKey });
      this.cache.set(key, suggestions);
      if (this.cache.size > this.size) this.cache.delete(this.cache.keys().next().value);
      return suggestions;
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }

  /** Abort the request in flight, if any. */
  abort() {
    if (this.controller) this.controller.abort();
    this.controller = null;
  }

  /** Forget every answer (after a new API key, say). */
  clear() {
    this.cache.clear();
  }
}
