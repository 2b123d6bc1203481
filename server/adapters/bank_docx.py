"""The clause bank as a Word playbook, written and read back with python-docx.

Structure (what `write_playbook` makes and `read_playbook` expects), in document order:

- Anything before the first Heading 1 is the cover (a Title and a note) and is not read.
- Per topic: Heading 1 = the topic's title; a paragraph "Topic id: <id>"; one paragraph with
  the summary.
- Per perspective: Heading 2 = "Customer perspective" or "Vendor perspective".
- Per position, in playbook order: Heading 3 = "Preferred: <label>", "Fallback 1: <label>",
  "Fallback 2: <label>", ..., "Unacceptable 1: <label>", ...; a paragraph "Position id: <id>";
  the model language in the Quote style (several Quote paragraphs join with line breaks); a
  paragraph "Reason: <reason>"; the exemplars, one per bulleted paragraph (List Bullet, or
  any "List ..." style Word gives a bullet).

Empty paragraphs are ignored; within a position the labels, styles and bullets say what each
paragraph is, in any order. Any other paragraph is an error, so an edit made in Word is never
silently dropped. Fallback and unacceptable numbers must run 1, 2, 3 in document order.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docx
from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.opc.exceptions import PackageNotFoundError
from docx.text.paragraph import Paragraph

from server.core.bank import ClauseBank, Position, Topic
from server.core.topics import TOPICS, Kind, Perspective

TITLE = "Clause bank playbook"
COVER_NOTE = (
    "Each topic lists, for the customer and for the vendor, the preferred position, the "
    "fallbacks in the order to offer them, and the unacceptable positions to redline. Edit in "
    "Word keeping the headings and the labelled lines; `python -m server bank import-docx` "
    "reads this document back into the clause bank's YAML files."
)
TOPIC_ID = "Topic id: "
POSITION_ID = "Position id: "
REASON = "Reason: "
QUOTE_STYLES = ("Quote", "Intense Quote")
_WRITTEN_STYLES = ("Title", "Heading 1", "Heading 2", "Heading 3", "Quote", "List Bullet")
_HEADINGS = {"Heading 1": 1, "Heading 2": 2, "Heading 3": 3}
_SIDE_HEADINGS = {f"{side.value} perspective": side for side in Perspective}
_POSITION_HEADING = re.compile(
    r"^(?P<kind>preferred|fallback|unacceptable)(?:\s+(?P<rank>\d+))?\s*:\s*(?P<label>.*)$",
    re.IGNORECASE,
)


class UnreadablePlaybook(Exception):
    """The document is not a playbook in the documented structure; every problem is listed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def write_playbook(bank: ClauseBank, path: Path) -> None:
    """Save the bank as a Word playbook."""
    document = docx.Document()
    document.core_properties.title = TITLE
    writer = _Writer(document)
    writer.add(TITLE, "Title")
    writer.add(COVER_NOTE)
    for topic in bank:
        writer.topic(topic)
    document.save(str(path))


class _Writer:
    """Appends the playbook's paragraphs in their documented styles."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.style_ids = {name: document.styles[name].style_id for name in _WRITTEN_STYLES}

    def add(self, text: str, style: str | None = None) -> None:
        paragraph = self.document.add_paragraph(text)
        if style is not None:
            # Set by id: python-docx's style setter scans every style per paragraph, which
            # makes a full playbook take seconds.
            paragraph._p.style = self.style_ids[style]

    def topic(self, topic: Topic) -> None:
        self.add(topic.title, "Heading 1")
        self.add(TOPIC_ID + topic.id)
        self.add(topic.summary)
        for side in Perspective:
            self.add(f"{side.value.capitalize()} perspective", "Heading 2")
            for position in topic.side(side):
                self.position(position)

    def position(self, position: Position) -> None:
        self.add(position_heading(position), "Heading 3")
        self.add(POSITION_ID + position.id)
        self.add(position.text, "Quote")
        self.add(REASON + position.reason)
        for exemplar in position.exemplars:
            self.add(exemplar, "List Bullet")


def position_heading(position: Position) -> str:
    """The Heading 3 text: kind, its number (not for the single preferred one) and label."""
    if position.kind is Kind.PREFERRED:
        return f"Preferred: {position.label}"
    return f"{position.kind.value.capitalize()} {position.rank}: {position.label}"


@dataclass
class _Draft:
    """A position being read: fields fill in as their paragraphs arrive."""

    kind: Kind
    rank: int
    label: str
    heading: int
    id: str = ""
    text: list[str] = field(default_factory=list)
    reason: str | None = None
    exemplars: list[str] = field(default_factory=list)


@dataclass
class _TopicDraft:
    """A topic being read."""

    title: str
    heading: int
    id: str = ""
    summary: str | None = None
    positions: dict[Perspective, list[_Draft]] = field(default_factory=dict)


class _PlaybookReader:
    """Reads paragraphs in order, tracking where in the structure it is; collects problems."""

    def __init__(self) -> None:
        self.topics: list[_TopicDraft] = []
        self.side: Perspective | None = None
        # After a heading that could not be read, its lines would only produce follow-on
        # errors; they are skipped until the next heading.
        self.lost: int | None = None  # the level of the heading that could not be read
        self.problems: list[tuple[int, str]] = []

    def problem(self, number: int, message: str) -> None:
        self.problems.append((number, message))

    def read(self, number: int, style: str, text: str) -> None:
        level = _HEADINGS.get(style)
        if level is not None and self.lost is not None and level <= self.lost:
            self.lost = None
        if style == "Heading 1":
            self.topics.append(_TopicDraft(title=text, heading=number))
            self.side = None
        elif not self.topics or self.lost is not None:
            return  # the cover, or the rest of an unreadable section
        elif style == "Heading 2":
            self._side(number, text)
        elif style == "Heading 3":
            self._position(number, text)
        else:
            self._line(number, style, text)

    def _side(self, number: int, text: str) -> None:
        side = _SIDE_HEADINGS.get(text.lower())
        topic = self.topics[-1]
        if side is None:
            self.problem(number, f"Heading 2 {text!r} is not 'Customer perspective' or "
                                 "'Vendor perspective'")
            self.lost = 2
        elif side in topic.positions:
            self.problem(number, f"a second {text!r} heading in topic {topic.title!r}")
        else:
            topic.positions[side] = []
        self.side = side

    def _position(self, number: int, text: str) -> None:
        if self.side is None or self.side not in self.topics[-1].positions:
            self.problem(number, "a position heading (Heading 3) outside a perspective "
                                 "(Heading 2)")
            self.lost = 3
            return
        match = _POSITION_HEADING.match(text)
        if match is None:
            self.problem(number, f"Heading 3 {text!r} does not start with 'Preferred:', "
                                 "'Fallback N:' or 'Unacceptable N:'")
            self.lost = 3
            return
        kind = Kind(match["kind"].lower())
        drafts = self.topics[-1].positions[self.side]
        expected = 1 + sum(1 for d in drafts if d.kind is kind)
        label = match["label"].strip()
        if kind is Kind.PREFERRED and match["rank"]:
            self.problem(number, "the preferred position has no number")
        elif kind is not Kind.PREFERRED and not match["rank"]:
            self.problem(number, f"a {kind.value} needs its number: "
                                 f"'{kind.value.capitalize()} {expected}: {label}'")
        elif kind is not Kind.PREFERRED and int(match["rank"]) != expected:
            self.problem(number, f"{kind.value} {match['rank']} is out of order; expected "
                                 f"{kind.value} {expected} here")
        if not label:
            self.problem(number, "the position heading has no label after the colon")
        drafts.append(_Draft(kind=kind, rank=expected, label=label, heading=number))

    def _line(self, number: int, style: str, text: str) -> None:
        topic = self.topics[-1]
        drafts = topic.positions.get(self.side) if self.side else None
        if not drafts and self.side is None and not topic.positions:
            self._topic_line(number, topic, text)
        elif drafts:
            self._position_line(number, drafts[-1], style, text)
        else:
            self.problem(number, f"unexpected paragraph {_preview(text)} before the first "
                                 "position heading (Heading 3)")

    def _topic_line(self, number: int, topic: _TopicDraft, text: str) -> None:
        if not topic.id and text.startswith(TOPIC_ID.strip()):
            topic.id = text[len(TOPIC_ID.strip()):].strip()
        elif not topic.id:
            self.problem(number, f"expected 'Topic id: ...' under the topic heading, got "
                                 f"{_preview(text)}")
        elif topic.summary is None:
            topic.summary = text
        else:
            self.problem(number, f"unexpected paragraph {_preview(text)}: a topic has one "
                                 "summary paragraph")

    def _position_line(self, number: int, draft: _Draft, style: str, text: str) -> None:
        # The labels say what each line is, so their order inside a position is not checked.
        if style.startswith("List"):
            draft.exemplars.append(text)
        elif style in QUOTE_STYLES:
            draft.text.append(text)
        elif not draft.id and text.startswith(POSITION_ID.strip()):
            draft.id = text[len(POSITION_ID.strip()):].strip()
        elif draft.reason is None and text.startswith(REASON.strip()):
            draft.reason = text[len(REASON.strip()):].strip()
        else:
            self.problem(number, f"unexpected paragraph {_preview(text)} (style {style!r}) "
                                 "in a position")

    def finish(self) -> ClauseBank:
        if not self.topics:
            raise UnreadablePlaybook(["no topics: expected a Heading 1 per topic"])
        seen: dict[str, int] = {}
        for topic in self.topics:
            # Checked here, not left to the loader: the id names the YAML file import writes.
            first = seen.setdefault(topic.id, topic.heading)
            if topic.id and topic.id not in TOPICS:
                self.problem(topic.heading, f"unknown topic id {topic.id!r} "
                                            f"(the fixed ids: {', '.join(TOPICS)})")
            elif topic.id and first != topic.heading:
                self.problem(topic.heading, f"topic {topic.id!r} is already at paragraph {first}")
        topics = [self._topic(t) for t in self.topics]
        if self.problems:
            raise UnreadablePlaybook([f"paragraph {number}: {message}"
                                      for number, message in sorted(self.problems)])
        return ClauseBank(tuple(topics))

    def _topic(self, draft: _TopicDraft) -> Topic:
        where = f"topic {draft.title!r}"
        if not draft.id:
            self.problem(draft.heading, f"{where}: missing 'Topic id: ...' line")
        if draft.summary is None:
            self.problem(draft.heading, f"{where}: missing summary paragraph")
        positions = tuple(
            self._position_of(d, draft.id, side)
            for side, drafts in draft.positions.items() for d in drafts
        )
        return Topic(draft.id, draft.title, draft.summary or "", positions)

    def _position_of(self, draft: _Draft, topic: str, side: Perspective) -> Position:
        where = f"position {draft.label!r}"
        if not draft.id:
            self.problem(draft.heading, f"{where}: missing 'Position id: ...' line")
        if not draft.text:
            self.problem(draft.heading, f"{where}: missing model language (a Quote paragraph)")
        if draft.reason is None:
            self.problem(draft.heading, f"{where}: missing 'Reason: ...' line")
        return Position(
            id=draft.id, topic=topic, perspective=side, kind=draft.kind, rank=draft.rank,
            label=draft.label, text="\n".join(draft.text), reason=draft.reason or "",
            exemplars=tuple(draft.exemplars),
        )


def _preview(text: str) -> str:
    """The start of a paragraph, enough to find it in Word."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _paragraphs(path: Path) -> Iterator[tuple[int, str, str]]:
    """(1-based number, style name, stripped text) of each non-empty body paragraph."""
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise UnreadablePlaybook([f"not a Word document (.docx): {type(error).__name__}"]
                                 ) from None
    if document.tables:
        # Text in a table would otherwise vanish on import without a word.
        raise UnreadablePlaybook(["the playbook has tables; put their text in paragraphs"])
    # Style names by id, read once: python-docx's `paragraph.style` searches every time.
    names = {style.style_id: style.name for style in document.styles}
    default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
    default_name = default.name if default is not None else "Normal"
    paragraphs: list[Paragraph] = document.paragraphs
    for number, paragraph in enumerate(paragraphs, start=1):
        text = paragraph.text.strip()
        if text:
            style_id = paragraph._p.style
            yield number, names.get(style_id, default_name) if style_id else default_name, text


def read_playbook(path: Path) -> ClauseBank:
    """The bank a playbook document describes; UnreadablePlaybook lists every problem."""
    if not path.is_file():
        raise UnreadablePlaybook([f"no such file: {path}"])
    reader = _PlaybookReader()
    for number, style, text in _paragraphs(path):
        reader.read(number, style, text)
    return reader.finish()
