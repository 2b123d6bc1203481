"""The .docx side of document review: read paragraphs, write Word tracked changes and comments.

Everything happens in memory on python-docx's lxml tree; nothing touches the disk.

- Reading: the body's paragraphs in document order, table cells included (row by row); text
  boxes are left alone (Word stores them twice, as choice and fallback). Headers, footers,
  footnotes, numbering, styles and section properties are never read or written.
- A paragraph's text is the concatenation of its runs, with w:tab as "\\t", w:br / w:cr as "\\n",
  a non-breaking hyphen as U+2011 and a soft hyphen as U+00AD. Text pending deletion and field
  instructions are not part of it; pending insertions are (the text as it now reads).
- Editing: only "plain" paragraphs are redlined: runs of text (plus bookmarks, proofing marks,
  comment anchors and note references, which stay where they are). A paragraph holding tracked
  changes, fields, hyperlinks, content controls, drawings or anything else gets a comment only,
  so an edit can never corrupt structure we do not model.
- Redlines: runs are split at op boundaries, each piece keeping its w:rPr; deleted pieces move
  into w:del (w:t becomes w:delText); inserted text goes into w:ins with a copy of the w:rPr of
  the run where the insertion happens.
- Ids: every new revision and comment gets a fresh w:id above the highest w:id in any part of the
  package, so existing revisions, comments and bookmarks keep theirs and nothing collides.
"""

from __future__ import annotations

import copy
import io
import os
import re
import struct
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from docx import Document
from docx.document import Document as WordDocument
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml import etree

from server.core.redline import Op

Element = Any  # lxml elements; lxml ships no type information

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"

# Direct children of a paragraph an edit can work around without disturbing them.
_PLAIN_PARAGRAPH_CHILDREN = {qn(t) for t in (
    "w:pPr", "w:r", "w:bookmarkStart", "w:bookmarkEnd", "w:proofErr", "w:commentRangeStart",
    "w:commentRangeEnd", "w:permStart", "w:permEnd")}
_TEXT_CHILDREN = {qn(t) for t in (
    "w:t", "w:tab", "w:br", "w:cr", "w:noBreakHyphen", "w:softHyphen")}
_MARKER_CHILDREN = {qn(t) for t in (
    "w:commentReference", "w:footnoteReference", "w:endnoteReference")}
_IGNORED_RUN_CHILDREN = {qn("w:rPr"), qn("w:lastRenderedPageBreak")}
_REVISIONS = {qn(t) for t in (
    "w:ins", "w:del", "w:moveFrom", "w:moveTo", "w:rPrChange", "w:pPrChange",
    "w:moveFromRangeStart", "w:moveToRangeStart")}
_NOT_READ = {qn(t) for t in ("w:del", "w:moveFrom", "w:instrText", "w:delText", "w:p")}
_CHARACTER = {qn("w:tab"): "\t", qn("w:br"): "\n", qn("w:cr"): "\n",
              qn("w:noBreakHyphen"): "\u2011", qn("w:softHyphen"): "\u00ad"}
_WRITE_AS = {"\t": "w:tab", "\n": "w:br", "\u2011": "w:noBreakHyphen", "\u00ad": "w:softHyphen"}
_SPECIAL = re.compile("([\t\n\u2011\u00ad])")


class UnreadableDocument(ValueError):
    """The upload is not a .docx we can review; the message says why, in the user's terms.

    `kind` is "unsupported" (another format), "damaged" or "too-large".
    """

    def __init__(self, message: str, kind: str = "unsupported") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class DocxLimits:
    """Bounds checked on the zip directory before anything is decompressed.

    REDLINE_MAX_DOCX_UNCOMPRESSED (bytes, default 200 MB) bounds the sum of the parts' sizes;
    REDLINE_MAX_DOCX_PARTS (default 2000) bounds how many parts the zip may hold;
    REDLINE_MAX_REVIEW_PARAGRAPHS (default 5000) bounds the paragraphs with text, so one
    upload cannot hold a worker for many minutes.
    """

    max_uncompressed: int = 200 * 1024 * 1024
    max_members: int = 2_000
    max_paragraphs: int = 5_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DocxLimits:
        """The limits from the environment, defaults for what is unset."""
        env = os.environ if env is None else env
        defaults = cls()
        return cls(_whole(env, "REDLINE_MAX_DOCX_UNCOMPRESSED", defaults.max_uncompressed),
                   _whole(env, "REDLINE_MAX_DOCX_PARTS", defaults.max_members),
                   _whole(env, "REDLINE_MAX_REVIEW_PARAGRAPHS", defaults.max_paragraphs))


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name) or ""
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive whole number, got {raw!r}")
    return int(raw)


@dataclass(frozen=True, slots=True)
class ReviewParagraph:
    """One body paragraph: its position among reviewed paragraphs, its text, its XML."""

    index: int
    text: str
    editable: bool  # False: too complex to redline safely, so it gets a comment only
    element: Element


def open_document(data: bytes, limits: DocxLimits = DocxLimits()) -> WordDocument:
    """The upload as a python-docx Document, or UnreadableDocument saying what is wrong."""
    if data.startswith(OLE2_MAGIC):
        if _ole_holds_encryption(data):
            raise UnreadableDocument(
                "The file is password-protected. Remove the password in Word and upload again.")
        raise UnreadableDocument(
            "The file is a legacy Word .doc (or another OLE file). Save it as .docx and retry.")
    if not data.startswith(b"PK"):
        raise UnreadableDocument("The file is not a .docx (Word) document.")
    _check_zip(data, limits)
    try:
        return Document(io.BytesIO(data))
    except ValueError as error:
        if "content type" in str(error):
            raise UnreadableDocument(
                "The file is an Office package but not a Word document (.docx).") from None
        raise UnreadableDocument("The .docx file is damaged and cannot be read.", "damaged"
                                 ) from None
    except Exception:  # python-docx raises KeyError, lxml errors and more for broken parts
        raise UnreadableDocument("The .docx file is damaged and cannot be read.", "damaged"
                                 ) from None


def _check_zip(data: bytes, limits: DocxLimits) -> None:
    """Refuse broken zips and zip bombs from the central directory alone.

    zipfile never inflates a member past its declared size, so bounding the declared sizes
    bounds what python-docx can decompress.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise UnreadableDocument("The .docx file is damaged (not a readable zip).", "damaged"
                                 ) from None
    if len(members) > limits.max_members:
        raise UnreadableDocument(
            f"The .docx has {len(members)} parts; the limit is {limits.max_members}.", "too-large")
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed:
        raise UnreadableDocument(
            f"The .docx would expand to {total} bytes; the limit is {limits.max_uncompressed}.",
            "too-large")
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names:
        raise UnreadableDocument("The file is a zip archive but not a .docx document.")


def _ole_holds_encryption(data: bytes) -> bool:
    """Whether an OLE2 compound file's directory names an EncryptionInfo stream.

    Office stores a password-protected .docx as an OLE2 container with EncryptionInfo and
    EncryptedPackage streams; a legacy .doc has a WordDocument stream instead.
    """
    try:
        return "EncryptionInfo" in _ole_directory_names(data)
    except (struct.error, IndexError, ValueError):
        return False


def _ole_directory_names(data: bytes) -> set[str]:
    """The stream and storage names in an OLE2 file's directory (a minimal CFB reader)."""
    sector_shift, = struct.unpack_from("<H", data, 0x1E)
    size = 1 << sector_shift
    if size not in (512, 4096):
        raise ValueError("unexpected sector size")
    first_directory, = struct.unpack_from("<i", data, 0x30)
    fat_sectors = [s for s in struct.unpack_from("<109i", data, 0x4C) if s >= 0]
    fat: list[int] = []
    for sector in fat_sectors:
        start = size + sector * size
        fat.extend(struct.unpack_from(f"<{size // 4}i", data, start))
    names: set[str] = set()
    sector, seen = first_directory, set()
    while sector >= 0 and sector not in seen and sector < len(fat):
        seen.add(sector)
        start = size + sector * size
        for entry in range(start, start + size, 128):
            length, = struct.unpack_from("<H", data, entry + 0x40)
            if 2 <= length <= 64:
                names.add(data[entry:entry + length - 2].decode("utf-16-le", "replace"))
        sector = fat[sector]
    return names


def review_paragraphs(document: WordDocument, limits: DocxLimits | None = None
                      ) -> list[ReviewParagraph]:
    """The body's paragraphs in document order, table cells included, with their text."""
    found: list[ReviewParagraph] = []
    for element in _body_paragraphs(document):
        text = paragraph_text(element)
        found.append(ReviewParagraph(len(found), text, _is_plain(element), element))
    most = (limits or DocxLimits()).max_paragraphs
    with_text = sum(1 for p in found if p.text.strip())
    if with_text > most:
        raise UnreadableDocument(
            f"The document has {with_text} paragraphs; the limit for one review is {most}.",
            "too-large")
    return found


def _body_paragraphs(document: WordDocument) -> Iterator[Element]:
    body = document.element.body
    for element in body.iter(qn("w:p")):
        if not _inside_text_box(element, body):
            yield element


def _inside_text_box(element: Element, body: Element) -> bool:
    parent = element.getparent()
    while parent is not None and parent is not body:
        if parent.tag in (qn("w:txbxContent"), _MC_FALLBACK, qn("w:p")):
            return True
        parent = parent.getparent()
    return False


def paragraph_text(element: Element) -> str:
    """The paragraph as it now reads: pending insertions in, pending deletions out."""
    return "".join(_read(element))


def _read(element: Element) -> Iterator[str]:
    for child in element:
        if child.tag in _NOT_READ:
            continue
        if child.tag == qn("w:t"):
            yield child.text or ""
        elif child.tag in _CHARACTER:
            yield _CHARACTER[child.tag]
        else:
            yield from _read(child)


def _is_plain(element: Element) -> bool:
    """Whether every part of the paragraph is something a redline can be written around."""
    if any(e.tag in _REVISIONS for e in element.iter()):
        return False
    for child in element:
        if child.tag not in _PLAIN_PARAGRAPH_CHILDREN:
            return False
        if child.tag == qn("w:r") and _run_kind(child) is None:
            return False
    return True


def _run_kind(run: Element) -> str | None:
    """"text" (only text content), "marker" (only a note or comment reference), else None."""
    content = [c.tag for c in run if c.tag not in _IGNORED_RUN_CHILDREN]
    if all(tag in _TEXT_CHILDREN for tag in content):
        return "text"
    if len(content) == 1 and content[0] in _MARKER_CHILDREN:
        return "marker"
    return None


def _run_text(run: Element) -> str:
    return "".join(_read(run))


class IdAllocator:
    """Fresh w:id values above every id already used anywhere in the package."""

    def __init__(self, document: WordDocument) -> None:
        self._next = _highest_id(document) + 1

    def take(self) -> str:
        """The next unused id."""
        value = self._next
        self._next += 1
        return str(value)


def _highest_id(document: WordDocument) -> int:
    attribute = qn("w:id")
    highest = -1
    for part in document.part.package.iter_parts():
        root = getattr(part, "element", None)
        if root is None:
            if not part.content_type.endswith("xml"):
                continue
            root = _parse_quietly(part.blob)
            if root is None:
                continue
        for element in root.iter():
            value = element.get(attribute)
            if value is not None and value.lstrip("-").isdigit():
                highest = max(highest, int(value))
    return highest


def _parse_quietly(blob: bytes) -> Element | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        return etree.fromstring(blob, parser)
    except etree.XMLSyntaxError:
        return None


class Markup:
    """Writes tracked changes and comments into one document, as one author at one time."""

    def __init__(self, document: WordDocument, author: str, when: datetime) -> None:
        self.document = document
        self.author = author
        self.date = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.ids = IdAllocator(document)
        self._comments: Element | None = None

    def redline(self, paragraph: ReviewParagraph, ops: Sequence[Op]) -> bool:
        """Apply the ops as tracked changes; False (and nothing changed) when it cannot."""
        if not paragraph.editable:
            return False
        if "".join(o.text for o in ops if o.op != "insert") != paragraph.text:
            return False
        if all(o.op == "equal" for o in ops) or not paragraph.text:
            return False
        runs = _split_runs(paragraph.element, _boundaries(ops))
        self._mark(paragraph.element, runs, ops)
        return True

    def comment(self, paragraph: ReviewParagraph, lines: Sequence[str]) -> str:
        """Anchor a comment on the whole paragraph; returns its id."""
        comment_id = self.ids.take()
        self._comments_root().append(self._comment_element(comment_id, lines))
        element = paragraph.element
        start = _element("w:commentRangeStart", {"w:id": comment_id})
        properties = element.find(qn("w:pPr"))
        if properties is not None:
            properties.addnext(start)
        else:
            element.insert(0, start)
        element.append(_element("w:commentRangeEnd", {"w:id": comment_id}))
        reference = _element("w:r")
        reference.append(_element("w:commentReference", {"w:id": comment_id}))
        element.append(reference)
        return comment_id

    def _comments_root(self) -> Element:
        if self._comments is None:
            self.document.comments  # noqa: B018 - creates and relates the part when absent
            part: Any = self.document.part.part_related_by(RT.COMMENTS)
            self._comments = part.element
        return self._comments

    def _comment_element(self, comment_id: str, lines: Sequence[str]) -> Element:
        comment = _element("w:comment", {
            "w:id": comment_id, "w:author": self.author, "w:date": self.date,
            "w:initials": _initials(self.author)})
        for number, line in enumerate(lines):
            paragraph = _element("w:p")
            if number == 0:
                mark = _element("w:r")
                mark.append(_element("w:annotationRef"))
                paragraph.append(mark)
            run = _element("w:r")
            _write_text(run, line, "w:t")
            paragraph.append(run)
            comment.append(paragraph)
        return comment

    def _mark(self, paragraph: Element, runs: list[tuple[int, int, Element]],
              ops: Sequence[Op]) -> None:
        """Wrap deleted runs in w:del and add w:ins after the run where each insertion falls."""
        position = 0
        for op in ops:
            if op.op == "insert":
                self._insert(paragraph, runs, position, op.text)
                continue
            end = position + len(op.text)
            if op.op == "delete":
                for start, stop, run in runs:
                    if position <= start and stop <= end and stop > start:
                        self._delete(run)
            position = end

    def _delete(self, run: Element) -> None:
        for text in run.findall(qn("w:t")):
            text.tag = qn("w:delText")
        previous = run.getprevious()
        if previous is not None and previous.tag == qn("w:del") and previous.get(
                qn("w:author")) == self.author and previous.get(qn("w:date")) == self.date:
            previous.append(run)  # one w:del for adjacent deleted runs
            return
        wrapper = self._revision("w:del")
        run.addprevious(wrapper)
        wrapper.append(run)

    def _insert(self, paragraph: Element, runs: list[tuple[int, int, Element]], position: int,
                text: str) -> None:
        before = [run for start, stop, run in runs if stop == position and stop > start]
        after = [run for start, stop, run in runs if start == position and stop > start]
        anchor = before[-1] if before else after[0]
        inserted = self._revision("w:ins")
        run = _element("w:r")
        properties = anchor.find(qn("w:rPr"))
        if properties is not None:
            run.append(copy.deepcopy(properties))
        _write_text(run, text, "w:t")
        inserted.append(run)
        outer = anchor.getparent() if anchor.getparent() is not paragraph else anchor
        if before:
            outer.addnext(inserted)
        else:
            outer.addprevious(inserted)

    def _revision(self, tag: str) -> Element:
        return _element(tag, {"w:id": self.ids.take(), "w:author": self.author,
                              "w:date": self.date})


def _boundaries(ops: Sequence[Op]) -> set[int]:
    """Positions in the paragraph's text where an op starts or ends."""
    cuts, position = {0}, 0
    for op in ops:
        if op.op != "insert":
            position += len(op.text)
        cuts.add(position)
    return cuts


def _split_runs(paragraph: Element, cuts: set[int]) -> list[tuple[int, int, Element]]:
    """Split text runs at the cuts; returns every text run with its span, in order."""
    spans, position = [], 0
    for run in [c for c in paragraph if c.tag == qn("w:r")]:
        if _run_kind(run) != "text":
            continue
        length = len(_run_text(run))
        inner = sorted(c - position for c in cuts if position < c < position + length)
        pieces = _split_run(run, inner) if inner else [run]
        start = position
        for piece in pieces:
            stop = start + len(_run_text(piece))
            spans.append((start, stop, piece))
            start = stop
        position += length
    return spans


def _split_run(run: Element, offsets: list[int]) -> list[Element]:
    """The run cut at the offsets into runs with copies of its w:rPr, replacing it in place."""
    properties = run.find(qn("w:rPr"))
    pieces = [_fresh_run(run, properties)]
    cuts = iter(offsets)
    cut = next(cuts, None)
    position = 0
    for child in [c for c in run if c.tag != qn("w:rPr")]:
        text = _character_of(child)
        while cut is not None and cut <= position:
            if _has_content(pieces[-1]):
                pieces.append(_fresh_run(run, properties))
            cut = next(cuts, None)
        taken = 0
        while cut is not None and cut < position + len(text):  # only a w:t is this long
            pieces[-1].append(_text_element(text[taken:cut - position]))
            pieces.append(_fresh_run(run, properties))
            taken = cut - position
            cut = next(cuts, None)
        pieces[-1].append(child if taken == 0 else _text_element(text[taken:]))
        position += len(text)
    for piece in pieces:
        run.addprevious(piece)
    run.getparent().remove(run)
    return pieces


def _has_content(run: Element) -> bool:
    return any(c.tag != qn("w:rPr") for c in run)


def _character_of(child: Element) -> str:
    if child.tag == qn("w:t"):
        return str(child.text or "")
    return _CHARACTER.get(child.tag, "")


def _text_element(text: str) -> Element:
    piece = _element("w:t")
    piece.text = text
    piece.set(_XML_SPACE, "preserve")
    return piece


def _fresh_run(run: Element, properties: Element | None) -> Element:
    fresh = _element("w:r")
    for name, value in run.attrib.items():
        fresh.set(name, value)
    if properties is not None:
        fresh.append(copy.deepcopy(properties))
    return fresh


def _write_text(run: Element, text: str, tag: str) -> None:
    """Append text to a run, writing tabs, breaks and hyphens as their own elements."""
    for piece in _SPECIAL.split(text):
        if not piece:
            continue
        if piece in _WRITE_AS:
            run.append(_element(_WRITE_AS[piece]))
            continue
        element = _element(tag)
        element.text = _xml_safe(piece)
        element.set(_XML_SPACE, "preserve")
        run.append(element)


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    """Text with characters XML 1.0 cannot hold removed (carriage returns become spaces)."""
    return _XML_INVALID.sub("", text.replace("\r", " "))


def _element(tag: str, attributes: dict[str, str] | None = None) -> Element:
    element = OxmlElement(tag)
    for name, value in (attributes or {}).items():
        element.set(qn(name), value)
    return element


def _initials(author: str) -> str:
    return "".join(word[0] for word in author.split() if word)[:4].upper() or "CW"


def save_document(document: WordDocument) -> bytes:
    """The document as .docx bytes (in memory)."""
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
