// A small stand-in for Office.js and the Word API, our own, for the pane's tests: in node
// (tests/js) and in the browser (tests/e2e serves it in place of Microsoft's office.js).
//
// It models what the pane relies on: paragraphs of characters, each plain, a tracked insertion
// or a tracked deletion; live ranges that move when text is inserted before them; the cursor;
// changeTrackingMode; search (255-character limit, "^" escapes, straight quotes matching curly
// ones, as in Word), getRange, expandTo, insertText, delete, insertParagraph, insertComment;
// load/sync (a property read before its load was synced throws, as in Word); document settings;
// selection-changed and paragraph-changed events; requirement sets. Every call that reads or
// edits the document is written to `log`, with the tracking mode in force at that moment.
(function () {
  "use strict";

  const FOLDS = { "'": "'\u2018\u2019", '"': '"\u201c\u201d' };

  function versionAtLeast(have, want) {
    const a = String(have).split(".").map(Number);
    const b = String(want).split(".").map(Number);
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
      if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) > (b[i] || 0);
    }
    return true;
  }

  function wordError(code, message) {
    const error = new Error(message);
    error.code = code;
    error.name = "RichApi.Error";
    return error;
  }

  function unescapeNeedle(needle) {
    let out = "";
    for (let i = 0; i < needle.length; i += 1) {
      if (needle[i] !== "^") {
        out += needle[i];
      } else if (needle[i + 1] === "^") {
        out += "^";
        i += 1;
      } else {
        throw wordError("InvalidArgument", "special search characters are not modelled");
      }
    }
    return out;
  }

  function install(options = {}) {
    const sets = options.sets || { WordApi: "1.4" };
    const doc = {
      paragraphs: [],
      cursor: { paragraph: 0, offset: 0 },
      trackingMode: options.trackingMode || "Off",
      log: [],
      comments: [],
      settings: Object.assign({}, options.settings || {}),
      savedSettings: 0,
      selectionHandlers: [],
      paragraphHandlers: [],
      syncs: 0,
      pending: [],
    };

    const supported = (name, version) => sets[name] !== undefined && versionAtLeast(sets[name], version);
    const requireSet = (version, what) => {
      if (!supported("WordApi", version)) throw wordError("ApiNotFound", `${what} needs WordApi ${version}`);
    };
    const record = (op, extra) => doc.log.push(Object.assign({ op, tracking: doc.trackingMode }, extra));

    // ---- the document model -------------------------------------------------------------
    function makeParagraph(text) {
      return { chars: Array.from(text, (ch) => ({ ch, mark: null })), ranges: new Set() };
    }
    const visible = (p, start, end) =>
      p.chars.slice(start, end).filter((c) => c.mark !== "del").map((c) => c.ch).join("");

    function insertChars(p, at, text) {
      const mark = doc.trackingMode === "Off" ? null : "ins";
      p.chars.splice(at, 0, ...Array.from(text, (ch) => ({ ch, mark })));
      const n = text.length;
      for (const r of p.ranges) {
        const shiftEnd = r.end > at || (r.end === at && r.start >= at);
        if (r.start >= at) r.start += n;
        if (shiftEnd) r.end += n;
      }
    }

    function removeChars(p, start, end) {
      const n = end - start;
      p.chars.splice(start, n);
      for (const r of p.ranges) {
        r.start = r.start >= end ? r.start - n : Math.min(r.start, start);
        r.end = r.end >= end ? r.end - n : Math.min(r.end, start);
      }
    }

    function deleteSpan(p, start, end) {
      if (doc.trackingMode === "Off") {
        removeChars(p, start, end);
        return;
      }
      // Deleting one's own tracked insertion removes it; anything else becomes a tracked deletion.
      for (let i = end - 1; i >= start; i -= 1) {
        if (p.chars[i].mark === "ins") removeChars(p, i, i + 1);
        else p.chars[i].mark = "del";
      }
    }

    // ---- load / sync ----------------------------------------------------------------------
    class Proxy {
      constructor() {
        this._values = {};
      }
      load(props) {
        const names = typeof props === "string" ? props.split(",").map((s) => s.trim()) : props || [];
        doc.pending.push([this, names]);
        return this;
      }
      _snapshot(name) {
        return this[`_${name}Now`]();
      }
      _read(name) {
        if (!(name in this._values)) {
          throw wordError("PropertyNotLoaded", `load("${name}") and sync before reading it`);
        }
        return this._values[name];
      }
    }

    class Range extends Proxy {
      constructor(p, start, end) {
        super();
        this.p = p;
        this.start = start;
        this.end = end;
        p.ranges.add(this);
      }
      get text() { return this._read("text"); }
      _textNow() { return visible(this.p, this.start, this.end); }
      getRange(location = "Whole") {
        record("getRange", { location });
        if (location === "Start") return new Range(this.p, this.start, this.start);
        if (location === "End" || location === "After") return new Range(this.p, this.end, this.end);
        return new Range(this.p, this.start, this.end);
      }
      expandTo(other) {
        if (other.p !== this.p) throw wordError("InvalidArgument", "ranges in different paragraphs");
        record("expandTo", {});
        return new Range(this.p, Math.min(this.start, other.start), Math.max(this.end, other.end));
      }
      search(needle, opts = {}) {
        if (needle.length > 255) throw wordError("SearchStringInvalidOrTooLong", "search text over 255 characters");
        const wanted = unescapeNeedle(needle);
        record("search", { needle: wanted });
        return new RangeCollection(this._matches(wanted, opts));
      }
      _matches(wanted, opts) {
        const idx = [];
        for (let i = this.start; i < this.end; i += 1) if (this.p.chars[i].mark !== "del") idx.push(i);
        const text = idx.map((i) => this.p.chars[i].ch).join("");
        const same = (a, b) => (opts.matchCase ? a === b : a.toLowerCase() === b.toLowerCase())
          || Boolean(FOLDS[b] && FOLDS[b].includes(a));
        const found = [];
        for (let at = 0; wanted && at + wanted.length <= text.length;) {
          let ok = true;
          for (let k = 0; k < wanted.length && ok; k += 1) ok = same(text[at + k], wanted[k]);
          if (ok) {
            found.push(new Range(this.p, idx[at], idx[at + wanted.length - 1] + 1));
            at += wanted.length;
          } else {
            at += 1;
          }
        }
        return found;
      }
      insertText(text, location) {
        const at = { Before: this.start, Start: this.start, After: this.end, End: this.end }[location];
        if (location === "Replace") {
          record("insertText", { text, location, replaced: this._textNow() });
          const { start, end } = this;
          insertChars(this.p, end, text);
          deleteSpan(this.p, start, end);
          return new Range(this.p, this.start, this.end);
        }
        if (at === undefined) throw wordError("InvalidArgument", `insert location ${location}`);
        record("insertText", { text, location, anchor: this._textNow() });
        insertChars(this.p, at, text);
        return new Range(this.p, at, at + text.length);
      }
      delete() {
        record("delete", { text: this._textNow() });
        deleteSpan(this.p, this.start, this.end);
      }
      insertComment(text) {
        requireSet("1.4", "insertComment");
        record("insertComment", { text, anchor: this._textNow() });
        doc.comments.push({ text, anchor: this._textNow() });
        return {};
      }
    }

    class Paragraph extends Range {
      constructor(p) {
        super(p, 0, p.chars.length);
        p.ranges.delete(this);  // a paragraph always spans all of its characters
      }
      get start() { return 0; }
      set start(_) {}
      get end() { return this.p ? this.p.chars.length : 0; }
      set end(_) {}
      insertParagraph(text, location) {
        if (location !== "After" && location !== "Before") throw wordError("InvalidArgument", location);
        record("insertParagraph", { text, location });
        const at = doc.paragraphs.indexOf(this.p) + (location === "After" ? 1 : 0);
        const fresh = makeParagraph("");
        doc.paragraphs.splice(at, 0, fresh);
        insertChars(fresh, 0, text);
        return new Paragraph(fresh);
      }
    }

    class RangeCollection extends Proxy {
      constructor(ranges) {
        super();
        this._ranges = ranges;
      }
      get items() { return this._read("items"); }
      _itemsNow() { return this._ranges.slice(); }
      getFirst() { return this._ranges[0]; }
    }

    class Document extends Proxy {
      get changeTrackingMode() { return this._read("changeTrackingMode"); }
      set changeTrackingMode(mode) {
        requireSet("1.4", "changeTrackingMode");
        record("setTracking", { mode });
        doc.trackingMode = mode;
      }
      _changeTrackingModeNow() {
        requireSet("1.4", "changeTrackingMode");
        return doc.trackingMode;
      }
      get body() {
        return { paragraphs: new RangeCollection(doc.paragraphs.map((p) => new Paragraph(p))) };
      }
      getSelection() {
        const p = doc.paragraphs[doc.cursor.paragraph];
        const selection = new Range(p, doc.cursor.offset, doc.cursor.offset);
        selection.paragraphs = new RangeCollection([new Paragraph(p)]);
        return selection;
      }
      get onParagraphChanged() {
        requireSet("1.6", "onParagraphChanged");
        return { add: (handler) => doc.paragraphHandlers.push(handler) };
      }
    }

    class Context {
      constructor() {
        this.document = new Document();
      }
      async sync() {
        doc.syncs += 1;
        const pending = doc.pending.splice(0);
        for (const [object, names] of pending) {
          for (const name of names) object._values[name] = object._snapshot(name);
        }
      }
    }

    // ---- Office and Word globals ------------------------------------------------------------
    const settings = {
      get: (name) => (name in doc.settings ? doc.settings[name] : null),
      set: (name, value) => { doc.settings[name] = value; },
      remove: (name) => { delete doc.settings[name]; },
      saveAsync: (callback) => {
        doc.savedSettings += 1;
        if (callback) setTimeout(() => callback({ status: "succeeded" }));
      },
    };

    globalThis.Office = {
      HostType: { Word: "Word", Excel: "Excel" },
      EventType: { DocumentSelectionChanged: "documentSelectionChanged" },
      AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
      onReady(callback) {
        const info = { host: options.host === undefined ? "Word" : options.host, platform: "OfficeOnline" };
        return new Promise((resolve) => setTimeout(() => {
          if (callback) callback(info);
          resolve(info);
        }));
      },
      context: {
        requirements: { isSetSupported: (name, version) => supported(name, version) },
        officeTheme: options.officeTheme,
        document: {
          settings,
          addHandlerAsync(type, handler, callback) {
            if (type === "documentSelectionChanged") doc.selectionHandlers.push(handler);
            if (callback) setTimeout(() => callback({ status: "succeeded" }));
          },
        },
      },
    };

    globalThis.Word = {
      ChangeTrackingMode: { off: "Off", trackAll: "TrackAll", trackMineOnly: "TrackMineOnly" },
      InsertLocation: { before: "Before", after: "After", start: "Start", end: "End", replace: "Replace" },
      run: async (batch) => batch(new Context()),
    };

    // ---- what a test drives and inspects ------------------------------------------------------
    const controller = {
      doc,
      get log() { return doc.log; },
      get comments() { return doc.comments; },
      get settings() { return doc.settings; },
      get trackingMode() { return doc.trackingMode; },
      setParagraphs(texts) {
        doc.paragraphs = texts.map(makeParagraph);
        doc.cursor = { paragraph: 0, offset: 0 };
      },
      /** Move the cursor and fire the selection-changed event, as clicking into Word does. */
      placeCursor(paragraph, offset = 0) {
        doc.cursor = { paragraph, offset };
        for (const handler of doc.selectionHandlers) setTimeout(() => handler({ type: "documentSelectionChanged" }));
      },
      /** The user retypes a paragraph (untracked) and Word fires paragraph-changed. */
      typeParagraph(index, text) {
        doc.paragraphs[index] = makeParagraph(text);
        for (const handler of doc.paragraphHandlers) setTimeout(() => handler({ type: "paragraphChanged" }));
      },
      /** A paragraph as it reads with all tracked changes accepted. */
      acceptedText(index) {
        return doc.paragraphs[index].chars.filter((c) => c.mark !== "del").map((c) => c.ch).join("");
      },
      /** A paragraph as it reads with all tracked changes rejected. */
      rejectedText(index) {
        return doc.paragraphs[index].chars.filter((c) => c.mark !== "ins").map((c) => c.ch).join("");
      },
      /** Tracked changes as runs: [{mark, text}] with mark "ins", "del" or null. */
      runs(index) {
        const runs = [];
        for (const c of doc.paragraphs[index].chars) {
          const last = runs[runs.length - 1];
          if (last && last.mark === c.mark) last.text += c.ch;
          else runs.push({ mark: c.mark, text: c.ch });
        }
        return runs;
      },
      paragraphCount() { return doc.paragraphs.length; },
      /** The calls that changed the document. */
      edits() {
        return doc.log.filter((e) => ["insertText", "delete", "insertParagraph", "insertComment"].includes(e.op));
      },
    };
    controller.setParagraphs(options.paragraphs || []);
    if (options.cursor) doc.cursor = options.cursor;
    globalThis.fakeWord = controller;
    return controller;
  }

  globalThis.FakeOffice = { install };
})();
