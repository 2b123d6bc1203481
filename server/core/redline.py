"""Redlines: the smallest word-level edit that moves a paragraph to a playbook position.

How `propose` builds a redline, and why (a lawyer judges a redline by how little it touches):
1. The target language is conformed to the paragraph's drafting (party names, quote style; see
   server/core/redline_conform.py), so a redline never renames the parties or re-quotes.
2. The paragraph is read as sentences with exact offsets. A leading section number or list label
   ("7.3", "(b)") and a short title-case heading ("Model Training.") are never edited or assessed;
   every other sentence is asked `offends(sentence)`.
3. The strategy follows from which sentences offend:
   - edit-sentence: some sentences offend (or the paragraph is one sentence). The run of offending
     sentences sharing most words with the target is edited toward it by a word diff, so shared
     words stay; any other offending run is struck. Every other sentence is untouched, and the
     edited sentence keeps its own ending ("; and", ";", no stop) so list structure survives.
     A lead-in that offends ("You agree that the AI Features:") brings its list items along.
   - replace-sentence: as edit-sentence, but the word diff would keep under 40% of the
     sentence's words (25% when it needs only one or two changes), or need more than four
     changes; one struck and one inserted sentence read more clearly than a sentence shredded
     into fragments, or than a rewrite that keeps a stray "any" or "shall".
   - carve-out: no sentence offends on its own (what is wrong is what the paragraph lacks), so
     nothing is struck: "Notwithstanding the foregoing, <target>" is inserted after the last
     sentence on the target's subject (sharing at least half as many content words with it as
     the closest one does), so the rider overrides all of them; else (or when that would split
     a list) at the paragraph's end.
   - replace-paragraph: every sentence of a paragraph of several offends; its body (not its number
     or heading) becomes the target, by word diff when readable, else struck and inserted whole.
   - no-change: the paragraph already contains the target language.
4. The word diff runs diff-match-patch over word tokens (a word never splits between ops), with
   a semantic cleanup measured in words, merging what a lawyer reads as one change: changes
   separated only by spaces or punctuation become one ("thirty (30)" -> "sixty (60)"), as do
   changes separated by connectives no longer than either change ("Inputs or Outputs" ->
   "Prompts or Results"); a bracket opened inside a change is closed inside it. Substantive kept
   words ("train", "Client Data") and line breaks are never folded into a change. Spaces are
   not diffed (they would align words with blanks); between kept words the counterparty's own
   spacing (a double space after a full stop) is kept.
Every redline satisfies: equal + delete texts give the paragraph; equal + insert give `text`;
no op is empty; neighbouring ops differ in kind (deletes come before inserts within a change).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from diff_match_patch import diff_match_patch

from server.core.redline_conform import CUSTOMER_NAMES, VENDOR_NAMES, conform
from server.core.sentences import sentence_spans

OpKind = Literal["equal", "delete", "insert"]
Strategy = Literal["edit-sentence", "replace-sentence", "carve-out", "replace-paragraph",
                   "no-change"]
_DMP_KIND: dict[int, OpKind] = {0: "equal", -1: "delete", 1: "insert"}

# An edit toward the target is shown word by word only while it stays readable.
MIN_WORDS_KEPT = 0.4
MIN_WORDS_KEPT_FEW_CHANGES = 0.25  # with one or two changes, less kept still reads well
MAX_CHANGE_RUNS = 4
# Kept words this small between two changes at least as long are chaff: the changes merge.
# Modal verbs and "not" are never chaff in a contract.
_CONNECTIVES = frozenset(
    "a an and or nor the of to in on at by for from with as its their his her such this that "
    "these those".split())
RIDER = "Notwithstanding the foregoing, "


@dataclass(frozen=True, slots=True)
class Op:
    """One run of the edit: text kept, struck or inserted."""

    op: OpKind
    text: str


@dataclass(frozen=True, slots=True)
class Redline:
    """The ops of an edit and the paragraph they produce; strategy names how it was built."""

    ops: tuple[Op, ...]
    text: str
    strategy: str
    note: str = ""  # one line a lawyer can read in the suggestion's reason


# --- tokens -------------------------------------------------------------------------------

_JOINERS = frozenset("'’-‐‑./,")
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def is_word_char(char: str) -> bool:
    """Letters, digits, underscore and combining marks (so an accent stays with its letter)."""
    return char.isalnum() or char == "_" or unicodedata.category(char)[0] == "M" or (
        char in "\u200c\u200d")


# The same split for ASCII text as one regular expression: most contracts are ASCII, and the
# redliner tokenizes every candidate sentence several times per request.
_ASCII_TOKEN = re.compile(r"\w+(?:(?:[-'./]|(?<=\d),(?=\d))\w+)*|[\t-\r\x1c-\x1f ]+|.",
                          re.ASCII | re.DOTALL)


def tokens(text: str) -> list[str]:
    """Whitespace runs, words ("7.3", "Customer's", "fine-tune") and single punctuation marks."""
    if text.isascii():
        return _ASCII_TOKEN.findall(text)
    return unicode_tokens(text)


def unicode_tokens(text: str) -> list[str]:
    """The general split, for text beyond ASCII (accents, curly quotes, non-breaking hyphens)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        if text[i].isspace():
            while j < n and text[j].isspace():
                j += 1
        elif is_word_char(text[i]):
            while j < n:
                if is_word_char(text[j]):
                    j += 1
                elif _joins(text, j):
                    j += 2
                else:
                    break
        else:
            while j < n and unicodedata.category(text[j])[0] == "M":
                j += 1
        out.append(text[i:j])
        i = j
    return out


def _joins(text: str, j: int) -> bool:
    """Whether text[j] joins the word before it to the word after it."""
    if text[j] not in _JOINERS or j + 1 >= len(text) or not is_word_char(text[j + 1]):
        return False
    # a comma joins only digit groups ("1,000"); elsewhere it separates words
    return text[j] != "," or (text[j - 1].isdigit() and text[j + 1].isdigit())


def _is_word(token: str) -> bool:
    return is_word_char(token[0])


def word_count(text: str) -> int:
    """How many words the text has."""
    return sum(1 for t in tokens(text) if _is_word(t))


# --- diffs --------------------------------------------------------------------------------

@dataclass(slots=True)
class _Change:
    """A struck run and its replacement (either may be empty), between kept runs."""

    delete: str
    insert: str

    def words(self) -> int:
        return max(word_count(self.delete), word_count(self.insert))


_Segment = str | _Change  # a kept run or a change


def word_diff(before: str, after: str, keep_spacing: bool = False) -> tuple[Op, ...]:
    """The minimal word-level edit from before to after, merged the way a lawyer reads it.

    With keep_spacing, where both texts have a space between two kept words, before's spacing
    (a double space, a tab) is kept rather than edited, so the result may differ from after in
    whitespace only.
    """
    segments = _segments(_token_diff(before, after, keep_spacing))
    _absorb_small_equalities(segments)
    _factor_common_edges(segments)
    _close_brackets(segments)
    return normalize(_ops_of(segments))


def char_diff(before: str, after: str) -> tuple[Op, ...]:
    """Baseline: diff-match-patch on characters with semantic cleanup, as the library ships."""
    dmp = diff_match_patch()
    diffs = dmp.diff_main(before, after)
    dmp.diff_cleanupSemantic(diffs)
    return normalize(Op(_DMP_KIND[kind], text) for kind, text in diffs)


def _token_diff(before: str, after: str, keep_spacing: bool) -> list[Op]:
    """diff-match-patch over the words and marks, each encoded as one private-use character.

    Spaces are left out of the diff (matching them would align "improve" with a space) and
    ride with the token before them; whitespace holding a line break is diffed as a token.
    """
    table: dict[str, str] = {}
    decode: list[str] = []

    def encode(spaced: list[tuple[str, str]]) -> str:
        out = []
        for token, _space in spaced:
            symbol = table.get(token)
            if symbol is None:
                symbol = chr(0xF0000 + len(decode))  # planes 15-16: private use
                table[token] = symbol
                decode.append(token)
            out.append(symbol)
        return "".join(out)

    lead_a, old = _spaced(before)
    lead_b, new = _spaced(after)
    ops = _spacing(lead_a, lead_b, keep_spacing)
    i = j = 0
    for kind, symbols in diff_match_patch().diff_main(encode(old), encode(new), False):
        for _ in symbols:
            if kind == 0:
                ops += [Op("equal", old[i][0]), *_spacing(old[i][1], new[j][1], keep_spacing)]
                i, j = i + 1, j + 1
            elif kind < 0:
                ops.append(Op("delete", "".join(old[i])))
                i += 1
            else:
                ops.append(Op("insert", "".join(new[j])))
                j += 1
    return ops


def _spaced(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Leading whitespace, then each word or mark with the whitespace that follows it."""
    lead = ""
    spaced: list[tuple[str, str]] = []
    for token in tokens(text):
        if not token.isspace() or _breaks(token):  # a line break is structure: diffed itself
            spaced.append((token, ""))
        elif spaced:
            spaced[-1] = (spaced[-1][0], token)
        else:
            lead = token
    return lead, spaced


def _spacing(old: str, new: str, keep: bool) -> list[Op]:
    """The edit between two runs of whitespace; with keep, the old spacing stands for the new."""
    if old == new or keep and old and new and not _breaks(old) and not _breaks(new):
        return [Op("equal", old)]
    return [Op("delete", old), Op("insert", new)]


def _breaks(text: str) -> bool:
    return any(c in _LINE_BREAKS for c in text)


def _segments(ops: Iterable[Op]) -> list[_Segment]:
    segments: list[_Segment] = []
    for op in ops:
        last = segments[-1] if segments else None
        if op.op == "equal":
            if isinstance(last, str):
                segments[-1] = last + op.text
            else:
                segments.append(op.text)
        else:
            if not isinstance(last, _Change):
                last = _Change("", "")
                segments.append(last)
            if op.op == "delete":
                last.delete += op.text
            else:
                last.insert += op.text
    return segments


def _absorb_small_equalities(segments: list[_Segment]) -> None:
    """Merge changes separated by punctuation, spaces or one word into one change."""
    k = 1
    while k < len(segments) - 1:
        left, kept, right = segments[k - 1], segments[k], segments[k + 1]
        if (isinstance(left, _Change) and isinstance(kept, str)
                and isinstance(right, _Change) and _absorbable(kept, left, right)):
            segments[k - 1:k + 2] = [_Change(left.delete + kept + right.delete,
                                             left.insert + kept + right.insert)]
            k = max(1, k - 2)  # the grown change may now absorb the run before it
        else:
            k += 1


def _absorbable(kept: str, left: _Change, right: _Change) -> bool:
    """Semantic cleanup in words: kept spaces, punctuation or small words between changes."""
    if _breaks(kept):
        return False  # a struck line break is a structural change in Word
    words = [t.lower() for t in tokens(kept) if _is_word(t)]
    return not words or (all(w in _CONNECTIVES for w in words)
                         and len(words) <= min(left.words(), right.words()))


def _factor_common_edges(segments: list[_Segment]) -> None:
    """Keep tokens that a change strikes and reinserts at its edges."""
    k = 0
    while k < len(segments):
        change = segments[k]
        if isinstance(change, _Change) and change.delete and change.insert:
            old, new = tokens(change.delete), tokens(change.insert)
            p = 0
            while p < min(len(old), len(new)) and old[p] == new[p]:
                p += 1
            s = 0
            while s < min(len(old), len(new)) - p and old[-1 - s] == new[-1 - s]:
                s += 1
            if p or s:
                prefix, suffix = "".join(old[:p]), "".join(old[len(old) - s:])
                change.delete = "".join(old[p:len(old) - s])
                change.insert = "".join(new[p:len(new) - s])
                segments[k:k + 1] = [prefix, change, suffix]
                k += 1
        k += 1


_BRACKETS = (("(", ")"), ("[", "]"))


def _close_brackets(segments: list[_Segment]) -> None:
    """A bracket opened in both sides of a change is closed inside it: "(30)" -> "(60)"."""
    for k, change in enumerate(segments):
        if not (isinstance(change, _Change) and change.delete and change.insert):
            continue
        for opening, closing in _BRACKETS:
            after = segments[k + 1] if k + 1 < len(segments) else None
            if (isinstance(after, str) and after.startswith(closing)
                    and _unclosed(change.delete, opening, closing) > 0
                    and _unclosed(change.insert, opening, closing) > 0):
                change.delete += closing
                change.insert += closing
                segments[k + 1] = after[1:]
            before = segments[k - 1] if k > 0 else None
            if (isinstance(before, str) and before.endswith(opening)
                    and _unclosed(change.delete, opening, closing) < 0
                    and _unclosed(change.insert, opening, closing) < 0):
                change.delete = opening + change.delete
                change.insert = opening + change.insert
                segments[k - 1] = before[:-1]


def _unclosed(text: str, opening: str, closing: str) -> int:
    return text.count(opening) - text.count(closing)


def _ops_of(segments: Iterable[_Segment]) -> list[Op]:
    ops: list[Op] = []
    for segment in segments:
        if isinstance(segment, str):
            ops.append(Op("equal", segment))
        else:
            ops += [Op("delete", segment.delete), Op("insert", segment.insert)]
    return ops


def normalize(ops: Iterable[Op]) -> tuple[Op, ...]:
    """Drop empty ops and merge neighbours: one delete then one insert per change."""
    out: list[Op] = []
    struck: list[str] = []
    added: list[str] = []

    def flush() -> None:
        if struck:
            out.append(Op("delete", "".join(struck)))
        if added:
            out.append(Op("insert", "".join(added)))
        struck.clear()
        added.clear()

    for op in ops:
        if not op.text:
            continue
        if op.op == "equal":
            flush()
            if out and out[-1].op == "equal":
                out[-1] = Op("equal", out[-1].text + op.text)
            else:
                out.append(op)
        elif op.op == "delete":
            struck.append(op.text)
        else:
            added.append(op.text)
    flush()
    return tuple(out)


def before_text(ops: Iterable[Op]) -> str:
    """The text the ops start from (equal + delete)."""
    return "".join(op.text for op in ops if op.op != "insert")


def after_text(ops: Iterable[Op]) -> str:
    """The text the ops produce (equal + insert)."""
    return "".join(op.text for op in ops if op.op != "delete")


# --- measures (for make eval) -------------------------------------------------------------

def words_kept(ops: Sequence[Op]) -> float:
    """Share of the original's words that the edit leaves whole and untouched (1.0 if none)."""
    original = before_text(ops)
    struck = [False] * len(original)
    cuts: set[int] = set()
    pos = 0
    for op in ops:
        if op.op == "insert":
            cuts.add(pos)
            continue
        if op.op == "delete":
            struck[pos:pos + len(op.text)] = [True] * len(op.text)
        pos += len(op.text)
    total = kept = 0
    start = 0
    for token in tokens(original):
        end = start + len(token)
        if _is_word(token):
            total += 1
            if not any(struck[start:end]) and not any(start < c < end for c in cuts):
                kept += 1
        start = end
    return kept / total if total else 1.0


def change_runs(ops: Sequence[Op]) -> int:
    """How many separate changes a reader sees (a delete followed by an insert is one)."""
    runs, inside = 0, False
    for op in ops:
        if op.op == "equal":
            inside = False
        elif not inside:
            runs, inside = runs + 1, True
    return runs


def words_split(ops: Sequence[Op]) -> int:
    """How many words of the original or the result an op boundary cuts through."""
    return (_cut_words(ops, drop="insert") + _cut_words(ops, drop="delete"))


def _cut_words(ops: Sequence[Op], drop: OpKind) -> int:
    text, cuts, pos = "", set(), 0
    for op in ops:
        cuts.add(pos)
        if op.op != drop:
            text += op.text
            pos += len(op.text)
    cut = start = 0
    for token in tokens(text):
        end = start + len(token)
        if _is_word(token) and any(start < c < end for c in cuts):
            cut += 1
        start = end
    return cut


# --- sentences ----------------------------------------------------------------------------

_LABEL = re.compile(
    r"(?:(?:Section|Clause|Article|§)\s*\d+(?:\.\d+)*\.?|\d+(?:\.\d+)+\.?|\d+\.|[A-Z]\."
    r"|\((?:\d{1,3}|[a-zA-Z]{1,2}|[ivxlcdm]{1,6}|[IVXLCDM]{1,6})\)|[a-z]\)|[ivx]{1,4}\))\s+")
_HEADING_SMALL_WORDS = frozenset(
    "a an and by for in of on or the to under with".split())


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a paragraph: offsets of its text (after any label) and whether a heading."""

    start: int
    end: int
    heading: bool = False
    label_start: int = -1  # where its label ("(b) ") starts, when it has one


def read_sentences(paragraph: str) -> list[Sentence]:
    """The paragraph's sentences with labels set aside and a leading heading marked."""
    sentences = []
    for start, end in sentence_spans(paragraph):
        label = _LABEL.match(paragraph, start, end)
        if label and label.end() < end:
            sentences.append(Sentence(label.end(), end, label_start=start))
        else:
            sentences.append(Sentence(start, end))
    first = sentences[0] if sentences else None
    if first and len(sentences) > 1 and _is_heading(paragraph[first.start:first.end]):
        sentences[0] = Sentence(first.start, first.end, True, first.label_start)
    return sentences


def _is_heading(text: str) -> bool:
    """A short title-case phrase such as "Model Training." or "Use of Data:"."""
    if text[-1] not in ".:" and not is_word_char(text[-1]):
        return False
    words = [t for t in tokens(text) if _is_word(t)]
    others = [t for t in tokens(text[:-1]) if not _is_word(t) and not t.isspace()]
    return (0 < len(words) <= 6 and not others and words[0][0].isupper()
            and all(w[0].isupper() or w[0].isdigit() or w in _HEADING_SMALL_WORDS
                    for w in words))


# --- proposing ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Reading:
    """The paragraph read once: sentences and which of them offend."""

    paragraph: str
    sentences: tuple[Sentence, ...]
    offending: tuple[bool, ...]

    @property
    def body(self) -> list[int]:
        """Indexes of the sentences that are not a heading."""
        return [i for i, s in enumerate(self.sentences) if not s.heading]

    def text(self, i: int) -> str:
        return self.paragraph[self.sentences[i].start:self.sentences[i].end]


def propose(paragraph: str, target: str, offends: Callable[[str], bool]) -> Redline:
    """The edit from the paragraph toward the target position's language."""
    return propose_many(paragraph, [target], offends)[0]


def propose_many(paragraph: str, targets: Sequence[str], offends: Callable[[str], bool]
                 ) -> list[Redline]:
    """Edits toward several targets (preferred, then fallbacks), assessing each sentence once."""
    sentences = tuple(read_sentences(paragraph))
    offending = tuple(not s.heading and offends(paragraph[s.start:s.end]) for s in sentences)
    reading = _Reading(paragraph, sentences, offending)
    return [_propose(reading, conform(target, paragraph)) for target in targets]


def _propose(reading: _Reading, target: str) -> Redline:
    paragraph = reading.paragraph
    target = target.strip()
    offending = _with_lists(reading, [i for i in reading.body if reading.offending[i]])
    if not target and not offending or _contains(paragraph, target):
        return _redline([Op("equal", paragraph)], "no-change",
                        "The paragraph already contains the playbook language.")
    if not offending:
        return _carve_out(reading, target)
    if len(offending) == len(reading.body) > 1:
        return _replace_paragraph(reading, target)
    return _edit_sentences(reading, target, offending)


def _with_lists(reading: _Reading, offending: list[int]) -> list[int]:
    """Offending sentences, where one introducing a list (ends with ":") brings its items.

    A lead-in such as "You agree that the AI Features:" means nothing without its items, and
    an edit to it alone would leave the items hanging.
    """
    chosen = set(offending)
    for i in offending:
        if not reading.text(i).endswith(":"):
            continue
        for j in range(i + 1, len(reading.sentences)):
            if reading.sentences[j].label_start < 0:
                break
            chosen.add(j)
            if not _LIST_END.search(reading.text(j)) and not reading.text(j).endswith(":"):
                break  # the list's last item
    return sorted(chosen)


def _contains(paragraph: str, target: str) -> bool:
    return bool(target) and " ".join(target.split()) in " ".join(paragraph.split())


def _redline(ops: Iterable[Op], strategy: Strategy, note: str) -> Redline:
    final = normalize(ops)
    return Redline(final, after_text(final), strategy, note)


def _edit_sentences(reading: _Reading, target: str, offending: list[int]) -> Redline:
    """Edit the offending run nearest the target toward it; strike other offending runs."""
    runs = _runs(offending)
    host = max(runs, key=lambda run: (_overlap(_span_text(reading, run), target), -run[0]))
    paragraph = reading.paragraph
    ops: list[Op] = []
    pos = 0
    replaced = False
    for run in runs:
        start, end = reading.sentences[run[0]].start, reading.sentences[run[-1]].end
        if run is host:
            ops.append(Op("equal", paragraph[pos:start]))
            edit, replaced = _edit_toward(paragraph[start:end], target)
            ops += edit
        else:
            labelled = reading.sentences[run[0]].label_start
            start, end = _strike_span(paragraph, labelled if labelled >= 0 else start, end)
            ops.append(Op("equal", paragraph[pos:start]))
            ops.append(Op("delete", paragraph[start:end]))
        pos = end
    ops.append(Op("equal", paragraph[pos:]))
    strategy: Strategy = "replace-sentence" if replaced else "edit-sentence"
    return _redline(ops, strategy, _edit_note(reading, host, runs, replaced))


def _runs(indexes: list[int]) -> list[list[int]]:
    """Consecutive indexes grouped into runs."""
    runs: list[list[int]] = []
    for i in indexes:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _span_text(reading: _Reading, run: list[int]) -> str:
    return reading.paragraph[reading.sentences[run[0]].start:reading.sentences[run[-1]].end]


def _strike_span(paragraph: str, start: int, end: int) -> tuple[int, int]:
    """The struck range: the sentence and one neighbouring space, keeping line breaks."""
    after = len(paragraph[end:]) - len(paragraph[end:].lstrip())
    before = len(paragraph[:start]) - len(paragraph[:start].rstrip())
    gap_after, gap_before = paragraph[end:end + after], paragraph[start - before:start]
    at_line_start = start - before == 0 or any(c in _LINE_BREAKS for c in gap_before)
    if after and not any(c in _LINE_BREAKS for c in gap_after) and end + after < len(paragraph):
        return start, end + after  # "A. [B. ]C." and "[B. ]C." at a line's start
    if before and not at_line_start:
        return start - before, end  # "A.[ B.]" at a line's end
    if at_line_start and after and end + after < len(paragraph):
        return start, end + after  # a whole line: strike it with its line break
    return start, end


_LIST_END = re.compile(r"[;,](?:\s+(?:and|or|and/or))?$")
_ENDED = re.compile(r"[.;:,!?][\"'”’)\]]*$")
_TARGET_END = re.compile(r"[.;:!?]$")


def _edit_toward(text: str, target: str) -> tuple[list[Op], bool]:
    """The text edited toward the target, keeping its own ending; True when wholly replaced.

    A list item's ending ("; and", ",") or the lack of any closing punctuation is the
    counterparty's structure: it stays, and the target's full stop gives way.
    """
    end: list[Op] = []
    tail = _LIST_END.search(text)
    if tail or not _ENDED.search(text):
        kept = tail.group() if tail else ""
        end = [Op("equal", kept)]
        text = text[:len(text) - len(kept)]
        target = _TARGET_END.sub("", target)
    edit = list(word_diff(text, target, keep_spacing=True))
    if _readable(edit):
        # one change that takes most of the sentence is a replacement in all but name
        return edit + end, change_runs(edit) == 1 and words_kept(edit) < MIN_WORDS_KEPT
    return [*whole_change(text, target), *end], True


def whole_change(before: str, after: str) -> tuple[Op, ...]:
    """Before struck and after inserted as one change, keeping only the words they open and
    close with (the party's name, the full stop)."""
    segments: list[_Segment] = [_Change(before, after)]
    _factor_common_edges(segments)
    return normalize(_ops_of(segments))


def _readable(ops: Sequence[Op]) -> bool:
    """Whether a word-by-word edit reads well: few changes, or enough of the sentence kept."""
    runs, kept = change_runs(ops), words_kept(ops)
    return runs <= MAX_CHANGE_RUNS and (
        kept >= MIN_WORDS_KEPT or runs <= 2 and kept >= MIN_WORDS_KEPT_FEW_CHANGES)


def _replace_paragraph(reading: _Reading, target: str) -> Redline:
    body = reading.body
    start, end = reading.sentences[body[0]].start, reading.sentences[body[-1]].end
    paragraph = reading.paragraph
    edit, _ = _edit_toward(paragraph[start:end], target)
    ops = [Op("equal", paragraph[:start]), *edit, Op("equal", paragraph[end:])]
    return _redline(ops, "replace-paragraph",
                    "Replaces the paragraph with the playbook language: every sentence carries "
                    "the objectionable position.")


_TERMINAL = re.compile(r"[.!?][\"'”’)\]]*$")
_LOWERED_OPENINGS = frozenset(
    "Any All Each Every If In No Neither None Such The These This Those To Where".split())
_OWN_OPENINGS = ("Notwithstanding", "Despite", "Nothing in", "Subject to")


def _carve_out(reading: _Reading, target: str) -> Redline:
    """Insert a rider after the sentence nearest the target (or at the end); strike nothing."""
    body = reading.body
    paragraph = reading.paragraph
    anchor = _rider_anchor(reading, target)
    at = reading.sentences[anchor].end if anchor is not None else len(paragraph.rstrip())
    rider = _rider(target)
    insert = (" " + rider) if at and not paragraph[at - 1].isspace() else rider
    ops = [Op("equal", paragraph[:at]), Op("insert", insert), Op("equal", paragraph[at:])]
    where = (f"after sentence {body.index(anchor) + 1} of {len(body)}"
             if anchor is not None and len(body) > 1 else "at the end")
    return _redline(ops, "carve-out",
                    f"Adds a rider ('{RIDER.strip()} ...') {where}; nothing is struck.")


def _rider_anchor(reading: _Reading, target: str) -> int | None:
    """The last sentence about the target's subject, so the rider overrides all of them."""
    body = reading.body
    overlaps = {i: _overlap(reading.text(i), target) for i in body}
    best = max(overlaps.values(), default=0)
    relevant = [i for i in body if best and overlaps[i] * 2 >= best]
    anchor = relevant[-1] if relevant else None
    following = anchor + 1 if anchor is not None else 0
    if (anchor is not None and _TERMINAL.search(reading.text(anchor))
            and not (following < len(reading.sentences)
                     and reading.sentences[following].label_start >= 0)):
        return anchor  # (never between a list's items)
    return body[-1] if body else None


def _rider(target: str) -> str:
    """The target as a rider that overrides what comes before it."""
    if target.startswith(_OWN_OPENINGS):
        return target
    first = target.split(" ", 1)[0]
    if first in _LOWERED_OPENINGS:
        target = target[0].lower() + target[1:]
    return RIDER + target


_PARTY_WORDS = frozenset(
    n.lower() for n in (*VENDOR_NAMES, *CUSTOMER_NAMES, "we", "us", "our", "you", "your"))
_STOPWORDS = frozenset(
    "a an and any are as at be by for from has have in is it its of on or shall such that the "
    "this to will with may must not".split())


def _overlap(text: str, target: str) -> int:
    """How many content words the text shares with the target (party names aside)."""
    return len(_content_words(text) & _content_words(target))


def _content_words(text: str) -> set[str]:
    words = {t.lower() for t in tokens(text) if _is_word(t)} - _STOPWORDS - _PARTY_WORDS
    return {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words}  # "models"


def _edit_note(reading: _Reading, host: list[int], runs: list[list[int]], replaced: bool
               ) -> str:
    body = reading.body
    if len(body) == 1:
        return ("Replaces the sentence with the playbook language; an edit would change most of "
                "it." if replaced else "Edits the sentence toward the playbook language.")
    verb = "Replaces" if replaced else "Edits"
    count = f"of {len(body)}"
    note = f"{verb} {_numbers(reading, host)} {count}"
    note += " with the playbook language" if replaced else " toward the playbook language"
    struck = [i for run in runs if run is not host for i in run]
    if struck:
        note += f" and strikes {_numbers(reading, struck)}"
    return note + "; the other sentences are unchanged."


def _numbers(reading: _Reading, indexes: list[int]) -> str:
    numbers = [str(reading.body.index(i) + 1) for i in indexes]
    if len(numbers) == 1:
        return f"sentence {numbers[0]}"
    return f"sentences {', '.join(numbers[:-1])} and {numbers[-1]}"
