// Wires the pane inside Office.onReady: follows the paragraph at the cursor, asks the service,
// renders cards and runs their actions through word.js; searches the playbook and inserts a
// chosen clause after the paragraph.
import * as word from "./word.js";
import { ApiProblem, SuggestionSource, searchClauses } from "./api.js";
import * as render from "./render.js";

const DEBOUNCE_MS = 400;
const SEARCH_DEBOUNCE_MS = 500;
const SEARCH_MIN_CHARS = 3; // typing searches from this many characters; Search/Enter from one
const SEARCH_LIMIT = 8;
const PROGRESS_MS = 300;
const PERSPECTIVE_SETTING = "clausewise.perspective";
const DISMISSED_KEY = "clausewise.dismissed";
const API_KEY = "clausewise.apiKey";
const DISMISSED_MAX = 500;

const $ = (id) => document.getElementById(id);
const source = new SuggestionSource();
const state = {
  perspective: "customer",
  text: null, // the paragraph the cards on screen are about
  shownFor: null, // perspective + text of the cards on screen
  canEdit: false,
  timer: null,
  generation: 0,
  done: null, // what the last action did, said again above the refreshed cards
};
const search = { query: "", controller: null, timer: null };

// ---- memory: dismissals (hashes only, never text) and the API key ---------------------------
function stored(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage can be blocked in some hosts; the pane still works, it just forgets.
  }
}

async function fingerprint(text, topic) {
  const bytes = new TextEncoder().encode(`${topic}\u0000${text}`);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest).slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function isDismissed(text, topic) {
  return stored(DISMISSED_KEY, []).includes(await fingerprint(text, topic));
}

async function dismiss(text, topic) {
  const list = stored(DISMISSED_KEY, []).filter((h) => typeof h === "string");
  list.push(await fingerprint(text, topic));
  store(DISMISSED_KEY, list.slice(-DISMISSED_MAX));
}

// ---- checking the paragraph at the cursor -----------------------------------------------------
function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(() => check(false), DEBOUNCE_MS);
}

async function check(force) {
  clearTimeout(state.timer);
  const generation = ++state.generation;
  let text;
  try {
    text = await word.readParagraphAtCursor();
  } catch {
    render.status($("status"), "Could not read the paragraph at the cursor.", { problem: true });
    return;
  }
  if (generation !== state.generation) return;
  const key = `${state.perspective}\u0000${text}`;
  if (!force && key === state.shownFor) return; // the cursor moved inside the same paragraph
  if (!text.trim()) {
    state.text = text;
    source.abort();
    state.shownFor = key;
    $("cards").replaceChildren();
    render.status($("status"), "Put the cursor in a clause to see what the playbook says.");
    return;
  }
  const progress = setTimeout(() => { $("progress").hidden = false; }, PROGRESS_MS);
  try {
    const suggestions = await source.get(text, state.perspective);
    if (generation !== state.generation) return;
    const visible = [];
    for (const s of suggestions) if (!(await isDismissed(text, s.topic))) visible.push(s);
    if (generation !== state.generation) return;
    state.shownFor = key;
    state.text = text; // the cards' actions check the paragraph still reads exactly this
    showSuggestions(visible, suggestions.length - visible.length);
  } catch (error) {
    if (error.name === "AbortError" || generation !== state.generation) return;
    state.shownFor = null;
    showProblem(error);
  } finally {
    clearTimeout(progress);
    if (generation === state.generation) $("progress").hidden = true;
  }
}

function showSuggestions(suggestions, dismissed) {
  $("key-form").hidden = true;
  render.cards($("cards"), suggestions, {
    canEdit: state.canEdit, onApply: apply, onFallback: insertFallback, onComment: comment,
    onDismiss: dismissCard,
  });
  let summary;
  if (suggestions.length) {
    const n = suggestions.length;
    summary = `${n} playbook ${n === 1 ? "issue" : "issues"} in this paragraph.`;
  } else if (dismissed) {
    summary = "Nothing more to suggest: you dismissed the rest for this wording.";
  } else {
    summary = "Nothing to suggest: the playbook raises no issue with this paragraph.";
  }
  render.status($("status"), state.done ? `${state.done} ${summary}` : summary);
  state.done = null;
}

/** What to tell the user about a failed call; `what` words it for checks or searches. */
function problemText(error, what) {
  const kind = error instanceof ApiProblem ? error.kind : "failed";
  const messages = {
    unreachable: "The Clausewise service cannot be reached. Check your connection, or ask IT whether it is running.",
    unauthorized: "The service needs an API key. Paste the key your IT team gave you.",
    "rate-limited": `Too many ${what.plural} in a short time. Trying again in ${error.retryAfter ?? 10} seconds.`,
    "not-ready": `The service is starting (${what.loading}). Trying again shortly.`,
    rejected: `The service refused this ${what.subject}: ${error.message}`,
    failed: `Something went wrong on the service. Try ${what.again} again.`,
  };
  return [kind, messages[kind] ?? messages.failed];
}

/** The delay before retrying after a 429 or 503, or null when retrying will not help. */
function retryDelay(error) {
  if (!(error instanceof ApiProblem)) return null;
  if (error.kind === "rate-limited") return (error.retryAfter ?? 10) * 1000;
  if (error.kind === "not-ready") return (error.retryAfter ?? 5) * 1000;
  return null;
}

function askForKey(kind) {
  $("key-form").hidden = kind !== "unauthorized";
  if (kind === "unauthorized") $("api-key").focus();
}

function showProblem(error) {
  $("cards").replaceChildren();
  const [kind, text] = problemText(error, {
    plural: "checks", loading: "loading the playbook", subject: "paragraph", again: "Check paragraph",
  });
  render.status($("status"), text, { problem: true });
  askForKey(kind);
  const delay = retryDelay(error);
  if (delay !== null) {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => check(true), delay);
  }
}

// ---- clause search --------------------------------------------------------------------------
function scheduleSearch() {
  clearTimeout(search.timer);
  const query = $("search-q").value.trim();
  if (!query) {
    cancelSearch();
    $("search-results").replaceChildren();
    render.status($("search-status"), "");
    return;
  }
  if (query.length >= SEARCH_MIN_CHARS) search.timer = setTimeout(() => runSearch(query), SEARCH_DEBOUNCE_MS);
}

function cancelSearch() {
  clearTimeout(search.timer);
  search.controller?.abort();
  search.controller = null;
}

async function runSearch(query) {
  cancelSearch();
  if (!query) return;
  const controller = new AbortController();
  search.controller = controller;
  search.query = query;
  render.status($("search-status"), "Searching\u2026");
  try {
    const hits = await searchClauses(query,
      { perspective: state.perspective, limit: SEARCH_LIMIT, apiKey: source.apiKey }, controller.signal);
    if (search.controller !== controller) return;
    render.results($("search-results"), hits, { canEdit: state.canEdit, onInsert: insertClause });
    const n = hits.length;
    render.status($("search-status"), n
      ? `${n} ${n === 1 ? "clause" : "clauses"} for \u201c${query}\u201d, best first.`
      : "Nothing in the playbook matches that search.");
  } catch (error) {
    if (error.name === "AbortError" || search.controller !== controller) return;
    $("search-results").replaceChildren();
    const [kind, text] = problemText(error, {
      plural: "searches", loading: "indexing the playbook for search", subject: "search", again: "Search",
    });
    render.status($("search-status"), text, { problem: true });
    askForKey(kind);
    const delay = retryDelay(error);
    if (delay !== null) search.timer = setTimeout(() => runSearch(query), delay);
  } finally {
    if (search.controller === controller) search.controller = null;
  }
}

async function insertClause(hit, item) {
  const inserted = await act(item, `Inserted after the paragraph as tracked changes: ${render.resultTitle(hit)}.`,
    () => word.insertClause(hit.text), { recheck: false });
  // The clause can go in again elsewhere: the button stays live after a success too.
  if (inserted) item.querySelectorAll("button").forEach((b) => { b.disabled = !state.canEdit; });
}

// ---- card actions -------------------------------------------------------------------------
async function act(cardNode, done, action, { recheck = true } = {}) {
  const buttons = cardNode.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    await action();
    render.cardNotice(cardNode, "done", done);
    if (recheck) {
      state.done = done;
      render.status($("status"), `${done} Checking the new wording\u2026`);
      schedule();
    }
    return true;
  } catch (error) {
    const known = error instanceof word.ParagraphChanged || error instanceof word.NotSupported
      || error instanceof word.NotLocated;
    render.cardNotice(cardNode, "problem", known ? error.message : "Word could not make this change.");
    buttons.forEach((b) => { b.disabled = !state.canEdit && b.dataset.action !== "dismiss"; });
    if (error instanceof word.ParagraphChanged) schedule();
    return false;
  }
}

async function apply(suggestion, cardNode) {
  const text = state.text;
  await act(cardNode, "Applied as tracked changes.",
    () => word.applyRedline(text, suggestion.redline.ops));
}

async function insertFallback(suggestion, cardNode, fallback) {
  const text = state.text;
  await act(cardNode, `Fallback inserted as tracked changes: ${fallback.label}.`,
    () => word.insertFallback(text, fallback));
}

async function comment(suggestion, cardNode) {
  const title = render.TOPIC_TITLES[suggestion.topic] || suggestion.topic;
  const verdict = render.VERDICT_LABELS[suggestion.verdict] ?? suggestion.verdict;
  await act(cardNode, "Comment added.",
    () => word.addComment(state.text, `Playbook, ${title} (${verdict}): ${suggestion.reason}`),
    { recheck: false });
}

async function dismissCard(suggestion, cardNode) {
  await dismiss(state.text, suggestion.topic);
  const next = cardNode.nextElementSibling || cardNode.previousElementSibling;
  cardNode.remove();
  (next?.querySelector("button") || $("check")).focus();
  if (!$("cards").children.length) showSuggestions([], 1);
}

// ---- settings, theme and start-up ----------------------------------------------------------
function rememberPerspective(value) {
  const settings = Office.context.document.settings;
  settings.set(PERSPECTIVE_SETTING, value);
  settings.saveAsync(() => {});
}

// Office's own theme when it gives one, else the system's (followed as it changes); the
// stylesheet's dark palette hangs on the one class this sets.
function applyTheme() {
  const setDark = (dark) => document.documentElement.classList.toggle("theme-dark", dark);
  const background = Office.context.officeTheme?.bodyBackgroundColor;
  const match = /^#?([0-9a-f]{6})$/i.exec(background || "");
  if (match) {
    const n = parseInt(match[1], 16);
    setDark((0.2126 * (n >> 16) + 0.7152 * ((n >> 8) & 255) + 0.0722 * (n & 255)) / 255 < 0.5);
    return;
  }
  const system = window.matchMedia("(prefers-color-scheme: dark)");
  setDark(system.matches);
  system.addEventListener("change", (event) => setDark(event.matches));
}

async function start() {
  const saved = Office.context.document.settings.get(PERSPECTIVE_SETTING);
  state.perspective = saved === "vendor" ? "vendor" : "customer";
  for (const radio of document.querySelectorAll('input[name="perspective"]')) {
    radio.checked = radio.value === state.perspective;
    radio.addEventListener("change", () => {
      state.perspective = radio.value;
      rememberPerspective(radio.value);
      check(true);
      if (search.query && $("search-q").value.trim() === search.query) runSearch(search.query);
    });
  }
  state.canEdit = word.supports("1.4");
  source.apiKey = stored(API_KEY, null);
  applyTheme();
  $("check").addEventListener("click", () => check(true));
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    source.apiKey = $("api-key").value.trim() || null;
    store(API_KEY, source.apiKey);
    $("api-key").value = "";
    source.clear();
    check(true);
    if ($("search-q").value.trim()) runSearch($("search-q").value.trim());
  });
  $("search-q").addEventListener("input", scheduleSearch);
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runSearch($("search-q").value.trim());
  });
  await word.watchDocument(schedule);
  document.body.dataset.ready = "true";
  if (!state.canEdit) {
    render.status($("status"), "This Word shows suggestions only: applying redlines needs Word 2019, Microsoft 365 or Word on the web.");
  }
  await check(true);
}

function notInWord() {
  $("check").disabled = true;
  $("search-q").disabled = true;
  $("search-go").disabled = true;
  render.status($("status"),
    "Open Clausewise from Word (Home > Playbook). This page works inside Word's task pane only.",
    { problem: true });
  document.body.dataset.ready = "not-in-word";
}

if (typeof Office === "undefined") {
  notInWord();
} else {
  Office.onReady((info) => {
    if (info.host === Office.HostType.Word) start();
    else notInWord();
  });
}
