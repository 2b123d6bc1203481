// Renders suggestion cards, search results and the pane's states. Builds DOM nodes with
// textContent only: contract text and reasons are never parsed as HTML.

export const TOPIC_TITLES = {
  "ai-disclosure": "AI disclosure",
  "ai-use-restriction": "Restrictions on AI use",
  "input-ownership": "Ownership of inputs",
  "output-ownership": "Ownership of outputs",
  "training-use": "Training on customer data",
  "derivative-data": "Derivative and usage data",
  "third-party-ai": "Third-party AI providers",
  "confidentiality-leakage": "Confidentiality and leakage",
  "liability-cap": "Liability cap",
  "indemnity": "Indemnity",
  "governance": "AI governance",
  "accuracy-bias": "Accuracy and bias",
  "compliance-law": "Compliance with AI law",
  "standards-certification": "Standards and certification",
};

export const VERDICT_LABELS = {
  acceptable: "Acceptable",
  "needs-review": "Needs review",
  unacceptable: "Unacceptable",
};

const CONTEXT = 40; // characters of unchanged text kept on each side of an edit

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** Long unchanged runs shortened to their ends next to the edits. */
export function elide(text, keepStart, keepEnd) {
  const head = keepStart ? CONTEXT : 0;
  const tail = keepEnd ? CONTEXT : 0;
  if (text.length <= head + tail + 10) return [text, null, ""];
  return [text.slice(0, head), "\u2026", text.slice(text.length - tail)];
}

/** The redline as a paragraph of <del> and <ins> runs. */
export function redlineView(ops) {
  const view = el("p", { class: "redline" });
  ops.forEach((op, i) => {
    if (op.op === "insert") view.append(el("ins", { text: op.text }));
    else if (op.op === "delete") view.append(el("del", { text: op.text }));
    else {
      const [head, gap, tail] = elide(op.text, i > 0, i < ops.length - 1);
      // An elided run keeps the text before an edit (tail) and after the previous one (head).
      view.append(head);
      if (gap) view.append(el("span", { class: "elided", "aria-label": "unchanged text", text: gap }));
      view.append(tail);
    }
  });
  return view;
}

/** A card for one suggestion; handlers get (suggestion, card[, fallback]). */
export function card(suggestion, index, { canEdit, onApply, onFallback, onComment, onDismiss }) {
  const title = TOPIC_TITLES[suggestion.topic] || suggestion.topic;
  const headingId = `card-${index}-title`;
  const node = el("article", {
    class: `card verdict-${suggestion.verdict}`, "aria-labelledby": headingId,
    "data-topic": suggestion.topic, "data-verdict": suggestion.verdict,
  });
  const needs = canEdit ? null : "Needs Word 2019, Microsoft 365 or Word on the web";
  node.append(el("div", { class: "card-head" },
    el("h2", { id: headingId, text: title }),
    el("span", { class: `badge ${suggestion.verdict}`, text: VERDICT_LABELS[suggestion.verdict] ?? suggestion.verdict })));
  node.append(el("p", { class: "reason", text: suggestion.reason }));

  if (suggestion.redline) {
    node.append(el("h3", { text: "Suggested redline" }), redlineView(suggestion.redline.ops));
  }
  const actions = el("div", { class: "actions" });
  if (suggestion.redline) {
    actions.append(el("button", {
      type: "button", class: "button primary", "data-action": "apply", disabled: !canEdit,
      title: needs, text: "Apply redline", onclick: () => onApply(suggestion, node),
    }));
  }
  actions.append(
    el("button", { type: "button", class: "button", "data-action": "comment", disabled: !canEdit,
      title: needs, text: "Comment", onclick: () => onComment(suggestion, node) }),
    el("button", { type: "button", class: "button subtle", "data-action": "dismiss",
      "aria-label": `Dismiss ${title}`, text: "Dismiss", onclick: () => onDismiss(suggestion, node) }));
  node.append(actions);

  if (suggestion.fallbacks?.length) {
    const list = el("ol", { class: "fallbacks" });
    suggestion.fallbacks.forEach((fallback) => {
      list.append(el("li", { "data-fallback": fallback.id },
        el("span", {},
          el("span", { class: "label", text: fallback.label }),
          el("span", { class: "why", text: fallback.reason })),
        el("button", {
          type: "button", class: "button", "data-action": "fallback", disabled: !canEdit, title: needs,
          "aria-label": `Insert fallback: ${fallback.label}`, text: "Insert",
          onclick: () => onFallback(suggestion, node, fallback),
        })));
    });
    node.append(el("h3", { text: "Fallbacks, in the playbook's order" }), list);
  }
  node.append(el("p", { class: "notice", role: "status", "aria-live": "polite" }));
  return node;
}

/** Replace the cards with these suggestions. */
export function cards(container, suggestions, handlers) {
  container.replaceChildren(...suggestions.map((s, i) => card(s, i, handlers)));
}

export const POSITION_LABELS = {
  preferred: "Preferred",
  fallback: "Fallback",
  unacceptable: "Unacceptable",
};

const POSITION_BADGES = { preferred: "acceptable", fallback: "needs-review", unacceptable: "unacceptable" };
const TITLE_WORDS = 8;

/** A search result's title: its label, else its first words. */
export function resultTitle(result) {
  if (result.label) return result.label;
  const words = result.text.trim().split(/\s+/);
  return words.length > TITLE_WORDS ? `${words.slice(0, TITLE_WORDS).join(" ")}\u2026` : words.join(" ");
}

/** One search result as a list item; onInsert gets (result, item). */
export function result(hit, index, { canEdit, onInsert }) {
  const title = resultTitle(hit);
  const titleId = `result-${index}-title`;
  const badge = hit.kind === "position"
    ? el("span", { class: `badge ${POSITION_BADGES[hit.position] ?? ""}`,
      text: POSITION_LABELS[hit.position] ?? hit.position })
    : el("span", { class: "badge precedent", text: "Precedent" });
  const where = [TOPIC_TITLES[hit.topic] || hit.topic, hit.perspective && `${hit.perspective} side`]
    .filter(Boolean).join(" \u00b7 ");
  return el("li", { class: "result", "aria-labelledby": titleId, "data-id": hit.id, "data-kind": hit.kind },
    el("div", { class: "card-head" }, el("h3", { id: titleId, text: title }), badge),
    el("p", { class: "meta", text: `${where ? `${where} \u00b7 ` : ""}score ${hit.score.toFixed(2)}` }),
    el("p", { class: "why", text: hit.reason }),
    el("details", {}, el("summary", { text: "Clause text" }), el("p", { class: "clause", text: hit.text })),
    el("div", { class: "actions" }, el("button", {
      type: "button", class: "button", "data-action": "insert-clause", disabled: !canEdit,
      title: canEdit ? null : "Needs Word 2019, Microsoft 365 or Word on the web",
      "aria-label": `Insert clause: ${title}`, text: "Insert",
      onclick: (event) => onInsert(hit, event.target.closest("li")),
    })),
    el("p", { class: "notice", role: "status", "aria-live": "polite" }));
}

/** Replace the search results with these. */
export function results(container, hits, handlers) {
  container.replaceChildren(...hits.map((h, i) => result(h, i, handlers)));
}

/** A short message on one card (done, or why nothing happened). */
export function cardNotice(cardNode, kind, text) {
  const notice = cardNode.querySelector(".notice");
  notice.className = `notice ${kind}`;
  notice.textContent = text;
}

/** The pane-wide status line; `problem` styles it as an error. */
export function status(node, text, { problem = false } = {}) {
  node.className = problem ? "status problem" : "status";
  node.textContent = text;
}
