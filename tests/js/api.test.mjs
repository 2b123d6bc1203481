// Unit tests of the pane's service client (server/taskpane/assets/js/api.js) with a fake fetch.
import { test } from "node:test";
import assert from "node:assert/strict";

const { suggest, searchClauses, SuggestionSource, ApiProblem } = await import("../../server/taskpane/assets/js/api.js");

function answer(status, body, headers = {}) {
  return async () => new Response(JSON.stringify(body), {
    status, headers: { "Content-Type": "application/json", ...headers },
  });
}

async function withFetch(fake, run) {
  const real = globalThis.fetch;
  globalThis.fetch = fake;
  try {
    return await run();
  } finally {
    globalThis.fetch = real;
  }
}

test("suggest posts the paragraph and perspective, with the API key when there is one", async () => {
  const seen = [];
  const suggestions = await withFetch(async (url, init) => {
    seen.push({ url, init });
    return answer(200, { suggestions: [{ topic: "training-use" }] })();
  }, () => suggest("Vendor may train.", "vendor", { apiKey: "k-1" }));
  assert.deepEqual(suggestions, [{ topic: "training-use" }]);
  assert.equal(seen[0].url, "api/v1/suggest");
  assert.deepEqual(JSON.parse(seen[0].init.body), { text: "Vendor may train.", perspective: "vendor" });
  assert.equal(seen[0].init.headers["X-API-Key"], "k-1");
});

test("errors are sorted into what the pane can say", async () => {
  const cases = [
    [answer(401, { code: 401, description: "key required" }), "unauthorized"],
    [answer(403, { code: 403, description: "not allowed" }), "unauthorized"],
    [answer(429, { code: 429, description: "slow down" }, { "Retry-After": "12" }), "rate-limited"],
    [answer(503, { code: 503, description: "loading" }), "not-ready"],
    [answer(413, { code: 413, description: "too long" }), "rejected"],
    [answer(500, { code: 500, description: "oops" }), "failed"],
    [async () => { throw new TypeError("network down"); }, "unreachable"],
  ];
  for (const [fake, kind] of cases) {
    const error = await withFetch(fake, () => suggest("x", "customer").then(() => null, (e) => e));
    assert.ok(error instanceof ApiProblem, kind);
    assert.equal(error.kind, kind);
    if (kind === "rate-limited") assert.equal(error.retryAfter, 12);
  }
});

test("answers are cached by perspective and paragraph text", async () => {
  const calls = [];
  const source = new SuggestionSource({
    fetchSuggestions: async (text, perspective) => {
      calls.push([text, perspective]);
      return [{ topic: `${perspective}:${text}` }];
    },
  });
  assert.deepEqual(await source.get("a", "customer"), [{ topic: "customer:a" }]);
  assert.deepEqual(await source.get("a", "customer"), [{ topic: "customer:a" }]);
  await source.get("a", "vendor");
  assert.deepEqual(calls, [["a", "customer"], ["a", "vendor"]]);
});

test("a newer request aborts the one in flight", async () => {
  const signals = [];
  const source = new SuggestionSource({
    fetchSuggestions: (text, perspective, { signal }) => new Promise((resolve, reject) => {
      signals.push(signal);
      signal.addEventListener("abort", () => reject(new DOMException("stale", "AbortError")));
      setTimeout(() => resolve([{ topic: text }]), 20);
    }),
  });
  const stale = source.get("old paragraph", "customer");
  const fresh = source.get("new paragraph", "customer");
  await assert.rejects(stale, { name: "AbortError" });
  assert.deepEqual(await fresh, [{ topic: "new paragraph" }]);
  assert.equal(signals[0].aborted, true);
  assert.equal(signals[1].aborted, false);
  // The aborted paragraph was not cached: asking again fetches it.
  await source.get("old paragraph", "customer");
  assert.equal(signals.length, 3);
});

test("the cache keeps only the most recently used answers", async () => {
  let calls = 0;
  const source = new SuggestionSource({ size: 2, fetchSuggestions: async () => { calls += 1; return []; } });
  await source.get("a", "customer");
  await source.get("b", "customer");
  await source.get("a", "customer"); // a is now the most recent
  await source.get("c", "customer"); // evicts b
  assert.equal(calls, 3);
  await source.get("a", "customer");
  assert.equal(calls, 3);
  await source.get("b", "customer");
  assert.equal(calls, 4);
});

test("searchClauses asks with the query and the filters given, with the API key", async () => {
  const seen = [];
  const results = [{ kind: "position", id: "training-use/customer/fallback-1", text: "T", score: 0.8 }];
  const controller = new AbortController();
  const got = await withFetch(async (url, init) => {
    seen.push({ url, init });
    return answer(200, { results })();
  }, () => searchClauses("training & opt-out", { perspective: "vendor", limit: 5, topic: "", apiKey: "k-2" },
    controller.signal));
  assert.deepEqual(got, results);
  const url = new URL(seen[0].url, "http://pane.test/");
  assert.equal(url.pathname, "/api/v1/clauses/search");
  assert.deepEqual(Object.fromEntries(url.searchParams),
    { q: "training & opt-out", perspective: "vendor", limit: "5" });
  assert.equal(seen[0].init.method, "GET");
  assert.equal(seen[0].init.headers["X-API-Key"], "k-2");
  assert.equal(seen[0].init.signal, controller.signal);
  assert.equal(seen[0].init.body, undefined);
});

test("searchClauses sorts errors as suggest does", async () => {
  const cases = [
    [answer(400, { code: 400, description: "'q' must be a non-empty query." }), "rejected",
      "'q' must be a non-empty query."],
    [answer(401, { code: 401, description: "key required" }), "unauthorized", "key required"],
    [answer(429, { code: 429, description: "slow down" }, { "Retry-After": "7" }), "rate-limited", "slow down"],
    [answer(503, { code: 503, description: "indexing" }, { "Retry-After": "5" }), "not-ready", "indexing"],
    [answer(200, { suggestions: [] }), "failed", "The service's answer had no results."],
    [async () => new Response("<html>proxy error</html>", { status: 502 }), "failed", "The service answered 502."],
    [async () => { throw new TypeError("network down"); }, "unreachable", "The Clausewise service cannot be reached."],
  ];
  for (const [fake, kind, message] of cases) {
    const error = await withFetch(fake, () => searchClauses("x").then(() => null, (e) => e));
    assert.ok(error instanceof ApiProblem, kind);
    assert.equal(error.kind, kind);
    assert.equal(error.message, message);
    if (kind === "rate-limited") assert.equal(error.retryAfter, 7);
    if (kind === "not-ready") assert.equal(error.retryAfter, 5);
  }
});

test("an aborted search rejects with AbortError, not an ApiProblem", async () => {
  const controller = new AbortController();
  const pending = withFetch((url, init) => new Promise((resolve, reject) => {
    init.signal.addEventListener("abort", () => reject(new DOMException("stale", "AbortError")));
  }), () => {
    const call = searchClauses("training", {}, controller.signal);
    controller.abort();
    return call;
  });
  await assert.rejects(pending, { name: "AbortError" });
});
