// End-to-end: the real task pane in Debian's headless Chromium, against the real service and
// model (started by test_taskpane_e2e.py, which passes CLAUSEWISE_URL). Microsoft's office.js is
// replaced, through page.route, by our Word stand-in (tests/js/fake-office.js).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const BASE = process.env.CLAUSEWISE_URL;
const SCREENSHOT = process.env.CLAUSEWISE_SCREENSHOT;
const OFFICE_JS = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js";
const FAKE = readFileSync(new URL("../js/fake-office.js", import.meta.url), "utf8");

const HEADING = "MASTER SUBSCRIPTION AGREEMENT";
const RISKY = "The Vendor may use Customer Data to train and improve its artificial intelligence models.";
const PLAIN = "This Agreement is governed by the laws of England and Wales.";

let browser;

before(async () => {
  assert.ok(BASE, "CLAUSEWISE_URL must name the running service");
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update"],
  });
});

after(async () => {
  await browser?.close();
});

/** The service's own answer for a paragraph, to compare the pane against. */
async function suggestionFor(text, perspective = "customer") {
  const response = await fetch(`${BASE}/api/v1/suggest`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text, perspective }),
  });
  assert.equal(response.status, 200);
  return (await response.json()).suggestions;
}

/** A pane in a fresh browser context, with the Word stand-in holding `paragraphs`. */
async function openPane(t, { paragraphs = [HEADING, RISKY, PLAIN], viewport = { width: 320, height: 900 },
  colorScheme = "light", context = null, ...office } = {}) {
  const ownContext = context ?? await browser.newContext({ viewport, colorScheme });
  const page = await ownContext.newPage();
  const problems = [];
  const requests = [];
  page.on("pageerror", (error) => problems.push(String(error)));
  page.on("request", (request) => {
    if (request.url().endsWith("/api/v1/suggest")) requests.push(JSON.parse(request.postData()));
  });
  await page.route(OFFICE_JS, (route) => route.fulfill({
    contentType: "text/javascript",
    body: `${FAKE}\nFakeOffice.install(${JSON.stringify({ paragraphs, ...office })});`,
  }));
  // Nothing else may leave the machine: any other outside request fails the test.
  await page.route((url) => !url.href.startsWith(BASE) && url.href !== OFFICE_JS,
    (route) => { problems.push(`outside request ${route.request().url()}`); return route.abort(); });
  await page.goto(`${BASE}/taskpane.html`);
  await page.waitForSelector("body[data-ready]");
  if (!context) t.after(() => ownContext.close());
  return { page, problems, requests, context: ownContext };
}

const word = (page, expression) => page.evaluate(expression);

async function cursorTo(page, paragraph) {
  await page.evaluate((p) => globalThis.fakeWord.placeCursor(p, 4), paragraph);
}

test("a risky paragraph gets a card; Apply makes the redline as tracked changes", async (t) => {
  const [expected] = await suggestionFor(RISKY);
  assert.equal(expected.topic, "training-use");
  assert.equal(expected.verdict, "unacceptable");
  const { page, problems } = await openPane(t);
  await cursorTo(page, 1);
  const card = page.locator('article.card[data-topic="training-use"]');
  await card.waitFor();
  assert.equal(await card.getAttribute("data-verdict"), "unacceptable");
  assert.equal(await card.locator(".badge").textContent(), "Unacceptable");
  assert.equal(await card.locator(".reason").textContent(), expected.reason);
  assert.ok(await card.locator(".redline ins").count() > 0);
  assert.ok(await card.locator(".redline del").count() > 0);
  if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });

  await card.locator('button[data-action="apply"]').click();
  await page.locator("#status", { hasText: "Applied as tracked changes" }).waitFor();
  assert.equal(await word(page, "fakeWord.acceptedText(1)"), expected.redline.text);
  assert.equal(await word(page, "fakeWord.rejectedText(1)"), RISKY);
  const edits = await word(page, "fakeWord.edits()");
  assert.ok(edits.length > 0);
  assert.ok(edits.every((e) => e.tracking === "TrackAll"), JSON.stringify(edits));
  assert.ok(!edits.some((e) => e.location === "Replace"));
  assert.equal(await word(page, "fakeWord.trackingMode"), "Off");
  assert.equal(await word(page, "fakeWord.acceptedText(0)"), HEADING);
  assert.equal(await word(page, "fakeWord.acceptedText(2)"), PLAIN);
  assert.deepEqual(problems, []);
});

test("Insert fallback moves the paragraph to the first fallback, tracked", async (t) => {
  const [expected] = await suggestionFor(RISKY);
  const fallback = expected.fallbacks[0];
  assert.ok(fallback.redline, "the first fallback comes with a redline");
  const { page, problems } = await openPane(t);
  await cursorTo(page, 1);
  const card = page.locator('article.card[data-topic="training-use"]');
  await card.locator(`li[data-fallback="${fallback.id}"] button`).click();
  await page.locator("#status", { hasText: "Fallback inserted as tracked changes" }).waitFor();
  assert.equal(await word(page, "fakeWord.acceptedText(1)"), fallback.redline.text);
  assert.equal(await word(page, "fakeWord.rejectedText(1)"), RISKY);
  const edits = await word(page, "fakeWord.edits()");
  assert.ok(edits.length > 0 && edits.every((e) => e.tracking === "TrackAll"));
  assert.deepEqual(problems, []);
});

test("Comment adds the playbook's reason as a Word comment on the paragraph", async (t) => {
  const [expected] = await suggestionFor(RISKY);
  const { page } = await openPane(t);
  await cursorTo(page, 1);
  const card = page.locator('article.card[data-topic="training-use"]');
  await card.locator('button[data-action="comment"]').click();
  await card.locator(".notice.done").waitFor();
  const comments = await word(page, "fakeWord.comments");
  assert.equal(comments.length, 1);
  assert.equal(comments[0].anchor, RISKY);
  assert.ok(comments[0].text.endsWith(expected.reason));
  assert.equal(await word(page, "fakeWord.acceptedText(1)"), RISKY, "a comment changes no text");
});

test("a slow answer shows progress after 300 ms, and hides it when the cards arrive", async (t) => {
  const { page } = await openPane(t);
  await page.waitForFunction(() => document.querySelector("#status").textContent !== "");
  await page.route(`${BASE}/api/v1/suggest`, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.continue();
  });
  await cursorTo(page, 1);
  await page.locator("#progress").waitFor({ state: "visible" });
  await page.locator('article.card[data-topic="training-use"]').waitFor();
  assert.equal(await page.locator("#progress").isVisible(), false);
});

test("Apply is refused when the paragraph changed after the suggestion", async (t) => {
  const { page } = await openPane(t);
  await cursorTo(page, 1);
  const card = page.locator('article.card[data-topic="training-use"]');
  await card.waitFor();
  // An edit Word reports no event for (no WordApi 1.6 here).
  await page.evaluate((text) => {
    globalThis.fakeWord.doc.paragraphHandlers.length = 0;
    globalThis.fakeWord.typeParagraph(1, text);
  }, `${RISKY} Subject to clause 9.`);
  await card.locator('button[data-action="apply"]').click();
  const notice = card.locator(".notice.problem");
  await notice.waitFor();
  assert.match(await notice.textContent(), /changed/);
  assert.deepEqual(await word(page, "fakeWord.edits()"), []);
});

test("the keyboard alone reaches and presses Apply", async (t) => {
  const { page } = await openPane(t);
  await cursorTo(page, 1);
  await page.locator('article.card[data-topic="training-use"] button[data-action="apply"]').waitFor();
  let reached = false;
  for (let i = 0; i < 30 && !reached; i += 1) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.dataset.action === "apply"
      && document.activeElement.closest("article").dataset.topic === "training-use");
  }
  assert.ok(reached, "Apply is in the tab order");
  await page.keyboard.press("Enter");
  await page.locator("#status", { hasText: "Applied as tracked changes" }).waitFor();
  assert.notEqual(await word(page, "fakeWord.acceptedText(1)"), RISKY);
});

test("a paragraph about none of the topics: nothing to suggest", async (t) => {
  const { page } = await openPane(t);
  await cursorTo(page, 2);
  await page.locator("#status", { hasText: "Nothing to suggest" }).waitFor();
  assert.equal(await page.locator("article.card").count(), 0);
});

test("cursor moves are debounced, stale requests dropped, answers cached by text", async (t) => {
  const { page, requests } = await openPane(t);
  await page.waitForFunction(() => document.querySelector("#status").textContent !== ""); // heading
  requests.length = 0;
  for (const p of [2, 1, 2, 1]) await cursorTo(page, p); // faster than the 400 ms debounce
  await page.locator('article.card[data-topic="training-use"]').waitFor();
  assert.deepEqual(requests.map((r) => r.text), [RISKY]);
  await cursorTo(page, 2);
  await page.locator("#status", { hasText: "Nothing to suggest" }).waitFor();
  await cursorTo(page, 1);
  await page.locator('article.card[data-topic="training-use"]').waitFor();
  assert.deepEqual(requests.map((r) => r.text), [RISKY, PLAIN], "the second visit came from the cache");
});

test("the perspective is remembered in the document and sent with each check", async (t) => {
  const { page, requests } = await openPane(t);
  await cursorTo(page, 1);
  await page.locator("article.card").first().waitFor();
  const asVendor = (request) => request.url().endsWith("/api/v1/suggest")
    && JSON.parse(request.postData()).perspective === "vendor";
  const sent = page.waitForRequest(asVendor);
  await page.getByRole("radio", { name: "Vendor" }).check();
  await sent;
  await page.waitForFunction(() => globalThis.fakeWord.settings["clausewise.perspective"] === "vendor"
    && globalThis.fakeWord.doc.savedSettings > 0);
  assert.equal(requests.at(-1).text, RISKY);

  const reopened = await openPane(t, { settings: { "clausewise.perspective": "vendor" } });
  assert.equal(await reopened.page.getByRole("radio", { name: "Vendor" }).isChecked(), true);
  const checked = reopened.page.waitForRequest((r) => asVendor(r) && JSON.parse(r.postData()).text === RISKY);
  await cursorTo(reopened.page, 1);
  await checked;
  assert.ok(reopened.requests.length > 0 && reopened.requests.every((r) => r.perspective === "vendor"));
});

test("a dismissed card stays dismissed for that wording of the paragraph", async (t) => {
  const context = await browser.newContext({ viewport: { width: 320, height: 900 } });
  t.after(() => context.close());
  const first = await openPane(t, { context });
  await cursorTo(first.page, 1);
  await first.page.locator('article.card[data-topic="training-use"] button[data-action="dismiss"]').click();
  assert.equal(await first.page.locator('article.card[data-topic="training-use"]').count(), 0);
  await first.page.close();

  const again = await openPane(t, { context });
  await cursorTo(again.page, 1);
  await again.page.locator("#status", { hasText: "dismissed" }).waitFor();
  assert.equal(await again.page.locator('article.card[data-topic="training-use"]').count(), 0);
  const stored = await again.page.evaluate(() => localStorage.getItem("clausewise.dismissed"));
  assert.ok(!stored.includes("Customer Data"), "only hashes are kept, never the text");

  const edited = await openPane(t, { context, paragraphs: [HEADING, `${RISKY} `] });
  await cursorTo(edited.page, 1);
  await edited.page.locator('article.card[data-topic="training-use"]').waitFor();
});

test("clear states: not in Word, unreachable, 401, 429", async (t) => {
  const outside = await openPane(t, { host: null });
  await outside.page.locator("#status", { hasText: "Open Clausewise from Word" }).waitFor();

  const answers = [
    [{ abort: true }, "cannot be reached"],
    [{ status: 401, body: { code: 401, message: "Unauthorized", description: "API key required." } }, "API key"],
    [{ status: 429, body: { code: 429, message: "Too Many Requests", description: "Slow down." }, retry: "30" },
      "Too many checks"],
  ];
  for (const [answer, says] of answers) {
    const { page } = await openPane(t);
    await page.route(`${BASE}/api/v1/suggest`, (route) => (answer.abort ? route.abort() : route.fulfill({
      status: answer.status, contentType: "application/json", body: JSON.stringify(answer.body),
      headers: answer.retry ? { "Retry-After": answer.retry } : {},
    })));
    await cursorTo(page, 1);
    await page.locator("#status.problem", { hasText: says }).waitFor();
    assert.equal(await page.locator("#key-form").isVisible(), answer.status === 401);
  }
});

test("without WordApi 1.4 suggestions show but edits are explained, not attempted", async (t) => {
  const { page } = await openPane(t, { sets: { WordApi: "1.3" } });
  await cursorTo(page, 1);
  const apply = page.locator('article.card button[data-action="apply"]');
  await apply.waitFor();
  assert.equal(await apply.isDisabled(), true);
  assert.match(await apply.getAttribute("title"), /Word 2019, Microsoft 365/);
});

test("320 px wide without sideways scrolling, and readable in the dark", async (t) => {
  for (const [colorScheme, office] of [["dark", {}], ["light", { officeTheme: { bodyBackgroundColor: "#262626" } }]]) {
    const { page } = await openPane(t, { colorScheme, ...office });
    await cursorTo(page, 1);
    await page.locator("article.card").first().waitFor();
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 320));
    const [background, text] = await page.evaluate(() => {
      const luminance = (css) => {
        const [r, g, b] = css.match(/\d+/g).map(Number);
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
      };
      const body = getComputedStyle(document.body);
      return [luminance(body.backgroundColor), luminance(body.color)];
    });
    assert.ok(background < 0.2 && text > 0.8, `${colorScheme}: background ${background}, text ${text}`);
  }
});

const QUERY = "training on customer data opt out";

/** The service's own results for a query, to compare the pane against (retrying while it indexes). */
async function searchFor(q, perspective = "customer") {
  const url = `${BASE}/api/v1/clauses/search?${new URLSearchParams({ q, perspective, limit: "8" })}`;
  for (let attempt = 0; attempt < 60; attempt += 1) {
    const response = await fetch(url);
    if (response.status !== 503) {
      assert.equal(response.status, 200);
      return (await response.json()).results;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  assert.fail("the search index was not ready in two minutes");
}

test("a search lists playbook clauses; Insert puts the first after the paragraph, tracked", async (t) => {
  const expected = await searchFor(QUERY);
  assert.ok(expected.length > 0);
  const { page, problems } = await openPane(t);
  await cursorTo(page, 1);
  await page.locator('article.card[data-topic="training-use"]').waitFor();
  await page.getByLabel("Find a clause to insert").fill(QUERY);
  await page.keyboard.press("Enter");
  const items = page.locator("#search-results li.result");
  await page.locator("#search-status", { hasText: "best first" }).waitFor();
  assert.deepEqual(await items.evaluateAll((nodes) => nodes.map((n) => n.dataset.id)),
    expected.map((r) => r.id));
  const first = items.first();
  assert.equal(await first.locator(".why").textContent(), expected[0].reason);
  assert.equal(await first.locator(".clause").textContent(), expected[0].text);
  if (expected[0].label) assert.equal(await first.locator("h3").textContent(), expected[0].label);
  if (expected[0].position) {
    assert.equal((await first.locator(".badge").textContent()).toLowerCase(), expected[0].position);
  }
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 320));

  const before = await word(page, "fakeWord.edits()");
  await first.locator('button[data-action="insert-clause"]').click();
  await first.locator(".notice.done", { hasText: "Inserted" }).waitFor();
  assert.equal(await word(page, "fakeWord.paragraphCount()"), 4);
  assert.equal(await word(page, "fakeWord.acceptedText(2)"), expected[0].text);
  assert.equal(await word(page, "fakeWord.rejectedText(2)"), "", "the whole clause is a tracked insertion");
  const edits = (await word(page, "fakeWord.edits()")).slice(before.length);
  assert.deepEqual(edits, [{ op: "insertParagraph", text: expected[0].text, location: "After", tracking: "TrackAll" }]);
  assert.equal(await word(page, "fakeWord.trackingMode"), "Off");
  assert.deepEqual(await page.evaluate(() => [0, 1, 3].map((i) => globalThis.fakeWord.acceptedText(i))),
    [HEADING, RISKY, PLAIN]);
  assert.deepEqual(problems, []);
});

test("search: typing searches after a pause; 503 and 401 are explained like checks", async (t) => {
  const { page, problems } = await openPane(t);
  const asked = [];
  let answered = 0;
  await page.route((url) => url.pathname.endsWith("/api/v1/clauses/search"), (route) => {
    asked.push(new URL(route.request().url()).searchParams.get("q"));
    answered += 1;
    if (answered === 1) {
      return route.fulfill({ status: 503, contentType: "application/json", headers: { "Retry-After": "1" },
        body: JSON.stringify({ code: 503, message: "Service Unavailable", description: "indexing" }) });
    }
    return route.continue();
  });
  await page.getByLabel("Find a clause to insert").pressSequentially("liability cap", { delay: 20 });
  await page.locator("#search-status.problem", { hasText: "Trying again shortly" }).waitFor();
  await page.locator("#search-results li.result").first().waitFor();
  assert.deepEqual(asked, ["liability cap", "liability cap"], "one request for the typing, one retry");
  await page.unroute((url) => url.pathname.endsWith("/api/v1/clauses/search"));

  await page.route((url) => url.pathname.endsWith("/api/v1/clauses/search"), (route) => route.fulfill({
    status: 401, contentType: "application/json",
    body: JSON.stringify({ code: 401, message: "Unauthorized", description: "API key required." }),
  }));
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.locator("#search-status.problem", { hasText: "API key" }).waitFor();
  assert.equal(await page.locator("#key-form").isVisible(), true);
  assert.equal(await page.locator("#search-results li").count(), 0);
  assert.deepEqual(problems, []);
});
