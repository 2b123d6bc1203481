// Everything the pane does to the document lives here, in async functions around Word.run,
// so it can be tested against a fake Word API (tests/js) without Word.
//
// Locating an edit: Word has no character offsets, only search. Each edit's position is known
// as an offset in the paragraph's text; we find its range by searching the paragraph for the
// edited text (or, for an insertion, for the word just before it) and picking the occurrence
// whose offset matches, counting matches left to right as Word does. paragraph.search takes at
// most 255 characters, so longer spans are found as a head and a tail piece joined with
// expandTo, and whitespace-only spans (which search handles badly) as the gap between their
// neighbouring words. Every range is located and its text checked before any edit is made, so an
// apply is all or nothing. Edits then run from the last to the first, so earlier ranges stay put.

export const SEARCH_LIMIT = 255;
// Pieces stay well under the limit: escaping "^" as "^^" can double a needle's length.
export const PIECE = 120;

const SEARCH_OPTIONS = { matchCase: true, matchWildcards: false };

/** The paragraph changed since the suggestion was made: nothing was edited. */
export class ParagraphChanged extends Error {
  constructor() {
    super("The paragraph has changed since this suggestion was made. Check it again first.");
    this.name = "ParagraphChanged";
  }
}

/** Word cannot do this here (an older requirement set): nothing was edited. */
export class NotSupported extends Error {
  constructor(what) {
    super(`${what} needs a newer Word (Word 2019, Microsoft 365 or Word on the web).`);
    this.name = "NotSupported";
  }
}

/** An edit's place could not be pinned down without ambiguity: nothing was edited. */
export class NotLocated extends Error {
  constructor() {
    super("Could not locate this edit in the paragraph reliably; nothing was changed.");
    this.name = "NotLocated";
  }
}

/** Whether Word offers the WordApi requirement set of this version. */
export function supports(version) {
  return Boolean(globalThis.Office?.context?.requirements?.isSetSupported("WordApi", version));
}

/** The text of the paragraph at the cursor (the first one when a selection spans several). */
export async function readParagraphAtCursor() {
  return Word.run(async (context) => {
    const paragraph = cursorParagraph(context);
    paragraph.load("text");
    await context.sync();
    return paragraph.text;
  });
}

/** The text an op list was made from: its equal and delete runs. */
export function sourceOf(ops) {
  return ops.filter((o) => o.op !== "insert").map((o) => o.text).join("");
}

/** The ops as edits {start, end, removed, inserted} on the source text, last edit first. */
export function planEdits(ops) {
  const edits = [];
  let offset = 0;
  let open = null;
  for (const { op, text } of ops) {
    if (!text) continue;
    if (op === "equal") {
      open = null;
      offset += text.length;
      continue;
    }
    if (!open) {
      open = { start: offset, end: offset, removed: "", inserted: "" };
      edits.push(open);
    }
    if (op === "delete") {
      open.removed += text;
      open.end += text.length;
      offset += text.length;
    } else if (op === "insert") {
      open.inserted += text;
    } else {
      throw new Error(`unknown op ${op}`);
    }
  }
  return edits.reverse();
}

/**
 * Apply a redline's ops to the paragraph at the cursor as tracked changes (WordApi 1.4).
 * `expected` is the paragraph text the suggestion was made for; if the paragraph differs,
 * nothing is edited and ParagraphChanged is thrown.
 */
export async function applyRedline(expected, ops) {
  if (!supports("1.4")) throw new NotSupported("Applying a redline as tracked changes");
  if (sourceOf(ops) !== expected) throw new ParagraphChanged();
  const edits = planEdits(ops);
  return Word.run(async (context) => {
    const paragraph = await expectParagraph(context, expected);
    const located = await locateAll(context, paragraph, expected, edits);
    await tracked(context, () => {
      for (const { edit, range, where } of located) {
        if (edit.removed && edit.inserted) {
          // Insert then delete, never a "Replace": Word for Mac drops the tracked deletion of a
          // tracked Replace, leaving only the insertion.
          range.insertText(edit.inserted, "After");
          range.delete();
        } else if (edit.removed) {
          range.delete();
        } else {
          range.insertText(edit.inserted, where);
        }
      }
    });
    return located.length;
  });
}

/**
 * Move the paragraph to a fallback position, as tracked changes: the fallback's redline when
 * the service sent one, else the fallback clause as a tracked new paragraph after this one.
 */
export async function insertFallback(expected, fallback) {
  if (fallback.redline) return applyRedline(expected, fallback.redline.ops);
  if (!supports("1.4")) throw new NotSupported("Inserting a fallback as tracked changes");
  return Word.run(async (context) => {
    const paragraph = await expectParagraph(context, expected);
    await tracked(context, () => {
      paragraph.insertParagraph(fallback.text, "After");
    });
    return 1;
  });
}

/** A clause from the search, as a tracked new paragraph after the one at the cursor. */
export async function insertClause(text) {
  if (!supports("1.4")) throw new NotSupported("Inserting a clause as tracked changes");
  return Word.run(async (context) => {
    const paragraph = cursorParagraph(context);
    await tracked(context, () => {
      paragraph.insertParagraph(text, "After");
    });
    return 1;
  });
}

/** Add a Word comment on the paragraph at the cursor (WordApi 1.4). */
export async function addComment(expected, text) {
  if (!supports("1.4")) throw new NotSupported("Adding a comment");
  return Word.run(async (context) => {
    const paragraph = await expectParagraph(context, expected);
    paragraph.getRange("Content").insertComment(text);
    await context.sync();
  });
}

/**
 * Call `onChange` when the cursor moves (selection events) or, where WordApi 1.6 offers them,
 * when a paragraph's content changes while the cursor stays put.
 */
export async function watchDocument(onChange) {
  await new Promise((resolve) => {
    Office.context.document.addHandlerAsync(
      Office.EventType.DocumentSelectionChanged, () => onChange("selection"), resolve);
  });
  if (!supports("1.6")) return false;
  await Word.run(async (context) => {
    context.document.onParagraphChanged.add(async () => onChange("paragraph"));
    await context.sync();
  });
  return true;
}

function cursorParagraph(context) {
  return context.document.getSelection().paragraphs.getFirst();
}

async function expectParagraph(context, expected) {
  const paragraph = cursorParagraph(context);
  paragraph.load("text");
  await context.sync();
  if (paragraph.text !== expected) throw new ParagraphChanged();
  return paragraph;
}

/** Run `edit` with tracking on (all authors), then give the author back their own mode. */
async function tracked(context, edit) {
  const document = context.document;
  document.load("changeTrackingMode");
  await context.sync();
  const before = document.changeTrackingMode;
  document.changeTrackingMode = Word.ChangeTrackingMode.trackAll;
  edit();
  if (before !== Word.ChangeTrackingMode.trackAll) document.changeTrackingMode = before;
  await context.sync();
}

// ---- locating ranges -----------------------------------------------------------------------

const isSpace = (ch) => /\s/.test(ch);

/** The span from the start of the word before `offset` (and any spaces after it) to `offset`. */
export function wordBefore(text, offset) {
  let start = offset;
  while (start > 0 && isSpace(text[start - 1])) start -= 1;
  while (start > 0 && !isSpace(text[start - 1])) start -= 1;
  return [start, offset];
}

/** The span from `offset` to the end of the word after it (spaces before it included). */
export function wordAfter(text, offset) {
  let end = offset;
  while (end < text.length && isSpace(text[end])) end += 1;
  while (end < text.length && !isSpace(text[end])) end += 1;
  return [offset, end];
}

const FOLDS = { "'": "'\u2018\u2019", '"': '"\u201c\u201d' };

/** Whether `needle` matches `text` at `at`, as Word's search does (straight quotes match curly). */
function matchesAt(text, at, needle) {
  for (let i = 0; i < needle.length; i += 1) {
    const want = needle[i];
    const got = text[at + i];
    if (got !== want && !(FOLDS[want] && FOLDS[want].includes(got))) return false;
  }
  return true;
}

/** Which of Word's left-to-right, non-overlapping matches of `needle` starts at `offset`. */
export function occurrence(text, needle, offset) {
  let count = 0;
  for (let at = 0; at + needle.length <= text.length;) {
    if (matchesAt(text, at, needle)) {
      if (at === offset) return count;
      if (at > offset) return -1;
      count += 1;
      at += needle.length;
    } else {
      at += 1;
    }
  }
  return -1;
}

/** A search string for Word: "^" introduces special characters there, so it is doubled. */
export function escapeNeedle(needle) {
  return needle.replaceAll("^", "^^");
}

/**
 * How to find the span [start, end) of the paragraph text, as a tree of probes:
 * {search, occurrence} | {join: [head, tail]} | {gap: [before, after]} with "start"/"end"
 * standing for the paragraph's edges.
 */
export function probeFor(text, start, end, depth = 0) {
  if (depth > 16) throw new NotLocated();
  const span = text.slice(start, end);
  if (!span.trim()) {
    const before = start === 0 ? "start" : probeFor(text, ...wordBefore(text, start), depth + 1);
    const after = end === text.length ? "end" : probeFor(text, ...wordAfter(text, end), depth + 1);
    return { gap: [before, after], start, end };
  }
  if (span.length > PIECE) {
    return {
      join: [probeFor(text, start, start + PIECE, depth + 1),
        probeFor(text, end - PIECE, end, depth + 1)],
      start, end,
    };
  }
  const index = occurrence(text, span, start);
  if (index >= 0) return { search: span, occurrence: index, start, end };
  // Word's matches never overlap, so a span inside a repeating run ("the the the") can be
  // skipped over; its two halves can be found instead.
  if (span.length < 2) throw new NotLocated();
  const middle = start + Math.floor(span.length / 2);
  return {
    join: [probeFor(text, start, middle, depth + 1), probeFor(text, middle, end, depth + 1)],
    start, end,
  };
}

/** Where each edit happens: the range to replace or delete, or the word to insert next to. */
function targetOf(text, edit) {
  if (edit.removed) return { span: [edit.start, edit.end], where: null };
  if (edit.start > 0) return { span: wordBefore(text, edit.start), where: "After" };
  return { span: wordAfter(text, 0), where: "Before" };
}

function collectSearches(probe, into) {
  if (typeof probe === "string") return into;
  if (probe.search !== undefined) into.push(probe);
  for (const child of probe.join ?? probe.gap ?? []) collectSearches(child, into);
  return into;
}

function rangeOf(paragraph, probe) {
  if (probe === "start") return paragraph.getRange("Start");
  if (probe === "end") return paragraph.getRange("End");
  if (probe.search !== undefined) return probe.found.items[probe.occurrence];
  if (probe.join) return rangeOf(paragraph, probe.join[0]).expandTo(rangeOf(paragraph, probe.join[1]));
  const [before, after] = probe.gap;
  return rangeOf(paragraph, before).getRange("End").expandTo(rangeOf(paragraph, after).getRange("Start"));
}

/** Locate every edit's range and check its text, before anything is edited. */
async function locateAll(context, paragraph, text, edits) {
  const plans = edits.map((edit) => {
    const { span, where } = targetOf(text, edit);
    return { edit, where, probe: probeFor(text, span[0], span[1]), expected: text.slice(...span) };
  });
  for (const plan of plans) {
    for (const probe of collectSearches(plan.probe, [])) {
      probe.found = paragraph.search(escapeNeedle(probe.search), SEARCH_OPTIONS);
      probe.found.load("items");
    }
  }
  await context.sync();
  for (const plan of plans) {
    for (const probe of collectSearches(plan.probe, [])) {
      if (probe.found.items.length <= probe.occurrence) throw new NotLocated();
    }
    plan.range = rangeOf(paragraph, plan.probe);
    plan.range.load("text");
  }
  await context.sync();
  for (const plan of plans) {
    if (plan.range.text !== plan.expected) throw new NotLocated();
  }
  return plans;
}
