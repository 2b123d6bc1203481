// Unit tests of the pane's Word module (server/taskpane/assets/js/word.js) against our fake
// Word API (fake-office.js): the exact range operations for given ops, tracked, last to first.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";

import "./fake-office.js";

const word = await import("../../server/taskpane/assets/js/word.js");

let fake;

function open(paragraphs, options = {}) {
  fake = globalThis.FakeOffice.install({ paragraphs, cursor: { paragraph: 0, offset: 3 }, ...options });
  return fake;
}

const eq = (text) => ({ op: "equal", text });
const del = (text) => ({ op: "delete", text });
const ins = (text) => ({ op: "insert", text });
const targetOf = (ops) => ops.filter((o) => o.op !== "delete").map((o) => o.text).join("");
const edits = () => fake.edits().map(({ op, text, location, anchor, tracking }) =>
  ({ op, text, ...(location ? { location } : {}), ...(anchor !== undefined ? { anchor } : {}), tracking }));

beforeEach(() => open([]));

test("planEdits merges a delete and an insert into one edit and lists the last edit first", () => {
  const ops = [eq("A "), del("b"), ins("c"), eq(" d "), ins("e"), eq(" f"), del(" g")];
  assert.deepEqual(word.planEdits(ops), [
    { start: 8, end: 10, removed: " g", inserted: "" },
    { start: 6, end: 6, removed: "", inserted: "e" },
    { start: 2, end: 3, removed: "b", inserted: "c" },
  ]);
});

test("a replacement is inserted after the old words, then the old words are deleted, tracked", async () => {
  const text = "Vendor may use Customer Data to train its models.";
  open([text]);
  const ops = [eq("Vendor "), del("may"), ins("shall not"), eq(" use Customer Data to train its models.")];
  assert.equal(await word.applyRedline(text, ops), 1);
  assert.deepEqual(edits(), [
    { op: "insertText", text: "shall not", location: "After", anchor: "may", tracking: "TrackAll" },
    { op: "delete", text: "may", tracking: "TrackAll" },
  ]);
  assert.ok(!fake.log.some((e) => e.location === "Replace"));
  assert.equal(fake.acceptedText(0), targetOf(ops));
  assert.equal(fake.rejectedText(0), text);
  assert.deepEqual(fake.runs(0).filter((r) => r.mark), [
    { mark: "del", text: "may" }, { mark: "ins", text: "shall not" }]);
  assert.equal(fake.trackingMode, "Off", "the author's own tracking mode comes back");
});

test("edits run from the last to the first, each on its own range", async () => {
  const text = "The Vendor may use data and may share data with affiliates.";
  open([text]);
  const ops = [eq("The Vendor "), del("may"), ins("shall not"), eq(" use data and "), del("may share"),
    ins("shall not share"), eq(" data"), ins(" of Customer"), eq(" with affiliates"), del("."), ins(";")];
  await word.applyRedline(text, ops);
  assert.deepEqual(edits(), [
    { op: "insertText", text: ";", location: "After", anchor: ".", tracking: "TrackAll" },
    { op: "delete", text: ".", tracking: "TrackAll" },
    { op: "insertText", text: " of Customer", location: "After", anchor: "data", tracking: "TrackAll" },
    { op: "insertText", text: "shall not share", location: "After", anchor: "may share", tracking: "TrackAll" },
    { op: "delete", text: "may share", tracking: "TrackAll" },
    { op: "insertText", text: "shall not", location: "After", anchor: "may", tracking: "TrackAll" },
    { op: "delete", text: "may", tracking: "TrackAll" },
  ]);
  assert.equal(fake.acceptedText(0), targetOf(ops));
  assert.equal(fake.rejectedText(0), text);
});

test("the second of two identical words is the one edited", async () => {
  const text = "data in, data out, data kept";
  open([text]);
  const ops = [eq("data in, data out, "), del("data"), ins("nothing"), eq(" kept")];
  await word.applyRedline(text, ops);
  assert.equal(fake.acceptedText(0), "data in, data out, nothing kept");
  assert.deepEqual(fake.runs(0).map((r) => r.mark), [null, "del", "ins", null]);
});

test("an insertion at the start goes before the first word", async () => {
  const text = "Customer owns all Outputs.";
  open([text]);
  await word.applyRedline(text, [ins("As between the parties, "), eq(text)]);
  assert.deepEqual(edits(), [{ op: "insertText", text: "As between the parties, ", location: "Before",
    anchor: "Customer", tracking: "TrackAll" }]);
  assert.equal(fake.acceptedText(0), "As between the parties, Customer owns all Outputs.");
});

test("a pure deletion deletes and inserts nothing", async () => {
  const text = "Vendor may, in its sole discretion, use Outputs.";
  open([text]);
  await word.applyRedline(text, [eq("Vendor may"), del(", in its sole discretion,"), eq(" use Outputs.")]);
  assert.deepEqual(edits(), [{ op: "delete", text: ", in its sole discretion,", tracking: "TrackAll" }]);
  assert.equal(fake.acceptedText(0), "Vendor may use Outputs.");
});

test("a deletion longer than Word's 255-character search limit is found in pieces", async () => {
  const long = Array.from({ length: 60 }, (_, i) => `clause${i}`).join(" ");
  const text = `Keep this. ${long} Keep that.`;
  open([text]);
  await word.applyRedline(text, [eq("Keep this. "), del(long), ins("Nothing more."), eq(" Keep that.")]);
  const searches = fake.log.filter((e) => e.op === "search");
  assert.ok(searches.every((e) => e.needle.length <= word.PIECE), "every needle within the limit");
  assert.ok(fake.log.some((e) => e.op === "expandTo"));
  assert.deepEqual(edits().map((e) => e.op), ["insertText", "delete"]);
  assert.equal(fake.acceptedText(0), "Keep this. Nothing more. Keep that.");
  assert.equal(fake.rejectedText(0), text);
});

test("a whitespace-only edit is located between its neighbouring words, not by searching spaces", async () => {
  const text = "Vendor shall  not train.";
  open([text]);
  await word.applyRedline(text, [eq("Vendor shall "), del(" "), eq("not train.")]);
  assert.ok(!fake.log.some((e) => e.op === "search" && !e.needle.trim()));
  assert.deepEqual(edits(), [{ op: "delete", text: " ", tracking: "TrackAll" }]);
  assert.equal(fake.acceptedText(0), "Vendor shall not train.");
});

test("carets and curly quotes in the paragraph are searched for safely", async () => {
  const text = "The \u201cModel\u201d (version ^2) learns; the \"Model\" stays.";
  open([text]);
  const ops = [eq("The \u201cModel\u201d (version "), del("^2"), ins("2"), eq(") learns; the \"Model\" "),
    del("stays"), ins("is deleted"), eq(".")];
  await word.applyRedline(text, ops);
  assert.equal(fake.acceptedText(0), targetOf(ops));
});

test("a changed paragraph is refused and nothing is edited", async () => {
  open(["Vendor may use Customer Data to train its models, as amended."]);
  const ops = [eq("Vendor "), del("may"), ins("shall not"), eq(" use Customer Data to train its models.")];
  await assert.rejects(word.applyRedline("Vendor may use Customer Data to train its models.", ops),
    word.ParagraphChanged);
  assert.deepEqual(fake.edits(), []);
  assert.equal(fake.trackingMode, "Off");
});

test("ops that do not spell the expected paragraph are refused", async () => {
  const text = "Vendor may train.";
  open([text]);
  await assert.rejects(word.applyRedline(text, [eq("Vendor can train.")]), word.ParagraphChanged);
  assert.deepEqual(fake.edits(), []);
});

test("without WordApi 1.4 nothing is edited and the reason is given", async () => {
  const text = "Vendor may train.";
  open([text], { sets: { WordApi: "1.3" } });
  await assert.rejects(word.applyRedline(text, [eq("Vendor "), del("may"), ins("shall not"), eq(" train.")]),
    word.NotSupported);
  await assert.rejects(word.addComment(text, "why"), word.NotSupported);
  assert.deepEqual(fake.edits(), []);
  assert.equal(await word.readParagraphAtCursor(), text);
});

test("tracking already on stays on", async () => {
  const text = "Vendor may train.";
  open([text], { trackingMode: "TrackAll" });
  await word.applyRedline(text, [eq("Vendor "), del("may"), ins("shall not"), eq(" train.")]);
  assert.equal(fake.trackingMode, "TrackAll");
  assert.ok(!fake.log.some((e) => e.op === "setTracking" && e.mode !== "TrackAll"));
});

test("a fallback with a redline is applied as tracked edits", async () => {
  const text = "Vendor may use Customer Data to train its models.";
  open([text]);
  const ops = [eq("Vendor may use Customer Data to "), del("train"), ins("improve"), eq(" its models"),
    ins(" only with Customer's prior written consent"), eq(".")];
  await word.insertFallback(text, { id: "f1", text: targetOf(ops), redline: { ops, text: targetOf(ops) } });
  assert.equal(fake.acceptedText(0), targetOf(ops));
  assert.ok(fake.edits().every((e) => e.tracking === "TrackAll"));
});

test("a fallback without a redline is inserted as a tracked paragraph after this one", async () => {
  const text = "Vendor may train.";
  open([text, "Next clause."]);
  await word.insertFallback(text, { id: "f1", text: "Training needs consent.", redline: null });
  assert.deepEqual(edits(), [{ op: "insertParagraph", text: "Training needs consent.", location: "After",
    tracking: "TrackAll" }]);
  assert.equal(fake.paragraphCount(), 3);
  assert.equal(fake.acceptedText(1), "Training needs consent.");
  assert.equal(fake.rejectedText(1), "");
  assert.equal(fake.acceptedText(0), text);
});

test("the reason becomes a comment on the paragraph", async () => {
  const text = "Vendor may train.";
  open([text]);
  await word.addComment(text, "Playbook: training needs consent.");
  assert.deepEqual(fake.comments, [{ text: "Playbook: training needs consent.", anchor: text }]);
  assert.deepEqual(fake.edits().map((e) => e.op), ["insertComment"]);
});

test("the paragraph at the cursor is read, and cursor moves and edits are reported", async () => {
  open(["First.", "Second."], { sets: { WordApi: "1.6" } });
  const seen = [];
  assert.equal(await word.watchDocument((why) => seen.push(why)), true);
  fake.placeCursor(1, 2);
  fake.typeParagraph(1, "Second, edited.");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(seen, ["selection", "paragraph"]);
  assert.equal(await word.readParagraphAtCursor(), "Second, edited.");
});

test("without WordApi 1.6 only selection changes are followed", async () => {
  open(["First."], { sets: { WordApi: "1.3" } });
  assert.equal(await word.watchDocument(() => {}), false);
});

// Many random redlines over a small vocabulary (so words repeat): every one lands exactly.
test("random redlines over repeating words all land exactly, tracked", async () => {
  let seed = 7;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const vocab = ["data", "the", "Vendor", "may", "use", "model", "\u201cOutputs\u201d", "the the", "^", "  "];
  const phrase = (n) => Array.from({ length: n }, () => vocab[rand(vocab.length)]).join(" ");
  for (let round = 0; round < 150; round += 1) {
    const ops = [];
    const parts = 1 + rand(5);
    for (let i = 0; i < parts; i += 1) {
      if (i > 0 || rand(2)) ops.push(eq(` ${phrase(1 + rand(4))} `));
      const kind = rand(3);
      if (kind !== 1) ops.push(del(phrase(1 + rand(3))));
      if (kind !== 0) ops.push(ins(phrase(1 + rand(3))));
    }
    if (rand(2)) ops.push(eq(` ${phrase(2)}.`));
    const source = word.sourceOf(ops);
    if (!source.trim()) continue;
    open([source]);
    await word.applyRedline(source, ops);
    assert.equal(fake.acceptedText(0), targetOf(ops), `round ${round}`);
    assert.equal(fake.rejectedText(0), source, `round ${round}`);
    assert.ok(fake.edits().every((e) => e.tracking === "TrackAll"));
    assert.ok(fake.log.filter((e) => e.op === "search").every((e) => e.needle.length <= 255));
  }
});

test("a searched clause goes in as a tracked paragraph after the one at the cursor", async () => {
  open(["First clause.", "Second clause.", "Third clause."], { trackingMode: "TrackMineOnly" });
  fake.placeCursor(1, 4);
  assert.equal(await word.insertClause("Vendor shall not train on Customer Data."), 1);
  const steps = fake.log.map(({ op, mode, text, location, tracking }) =>
    ({ op, ...(mode ? { mode } : {}), ...(text ? { text } : {}), ...(location ? { location } : {}), tracking }));
  assert.deepEqual(steps, [
    { op: "setTracking", mode: "TrackAll", tracking: "TrackMineOnly" },
    { op: "insertParagraph", text: "Vendor shall not train on Customer Data.", location: "After",
      tracking: "TrackAll" },
    { op: "setTracking", mode: "TrackMineOnly", tracking: "TrackAll" },
  ]);
  assert.equal(fake.paragraphCount(), 4);
  assert.equal(fake.acceptedText(2), "Vendor shall not train on Customer Data.");
  assert.equal(fake.rejectedText(2), "", "every character of it is a tracked insertion");
  assert.deepEqual([0, 1, 3].map((i) => fake.acceptedText(i)), ["First clause.", "Second clause.", "Third clause."]);
  assert.equal(fake.trackingMode, "TrackMineOnly", "the author's own tracking mode comes back");
});

test("without WordApi 1.4 a searched clause is not inserted", async () => {
  open(["First clause."], { sets: { WordApi: "1.3" } });
  await assert.rejects(word.insertClause("Anything."), word.NotSupported);
  assert.deepEqual(fake.edits(), []);
  assert.equal(fake.paragraphCount(), 1);
});
