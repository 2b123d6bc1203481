"""The .docx adapter of document review: reading paragraphs, writing tracked changes and comments.

Accepted / rejected text is read back from the saved bytes by `_accepted` / `_rejected` below,
which know OOXML, not our writer (LibreOffice checks the same in tests/integration).
"""

from __future__ import annotations

import io
import struct
import zipfile
from datetime import UTC, datetime

import pytest
from docx import Document
from docx.oxml.ns import qn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from server.adapters.review_docx import (
    DocxLimits,
    Markup,
    ReviewParagraph,
    UnreadableDocument,
    open_document,
    review_paragraphs,
    save_document,
)
from server.core.redline import Op, word_diff
from tests import review_samples as sample

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
WHEN = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def _paragraph_elements(data: bytes) -> list[etree._Element]:
    """Body paragraphs of saved bytes, table cells included, in document order."""
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml"))
    return list(root.find(f"{W}body").iter(f"{W}p"))


def _text(paragraph: etree._Element, *, accepted: bool) -> str:
    """A paragraph's text with every tracked change accepted (or rejected)."""
    skipped = f"{W}del" if accepted else f"{W}ins"
    out = []
    for element in paragraph.iter():
        if any(a.tag == skipped for a in element.iterancestors()):
            continue
        if element.tag == f"{W}t" or (element.tag == f"{W}delText" and not accepted):
            out.append(element.text or "")
        elif element.tag == f"{W}tab":
            out.append("\t")
        elif element.tag == f"{W}br":
            out.append("\n")
    return "".join(out)


def _accepted(data: bytes) -> list[str]:
    return [_text(p, accepted=True) for p in _paragraph_elements(data)]


def _rejected(data: bytes) -> list[str]:
    return [_text(p, accepted=False) for p in _paragraph_elements(data)]


def _all_ids(data: bytes) -> dict[str, list[str]]:
    """w:id values of revisions and comments per part."""
    tags = {f"{W}{t}" for t in ("ins", "del", "comment", "commentRangeStart")}
    found: dict[str, list[str]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.endswith(".xml"):
                root = etree.fromstring(archive.read(name))
                ids = [e.get(f"{W}id") for e in root.iter() if e.tag in tags]
                found[name] = [i for i in ids if i is not None]
    return found


def _open(data: bytes) -> tuple[Markup, list[ReviewParagraph]]:
    document = open_document(data)
    return Markup(document, "Reviewer", WHEN), review_paragraphs(document)


def _by_text(paragraphs: list[ReviewParagraph], text: str) -> ReviewParagraph:
    return next(p for p in paragraphs if p.text == text)


def test_reads_body_paragraphs_and_table_cells_in_order_not_header_or_footer() -> None:
    texts = [p.text for p in review_paragraphs(open_document(sample.sample_bytes()))]
    assert texts[1] == sample.TRAINING
    assert texts.index(sample.TABLE_TRAINING) == texts.index("Model training") + 1
    assert texts[-1] == "Signed for and on behalf of each party."
    assert sample.HEADER not in texts and sample.FOOTER not in texts


def test_text_reads_tabs_breaks_and_pending_changes_as_the_paragraph_now_reads() -> None:
    paragraphs = review_paragraphs(open_document(sample.sample_bytes()))
    texts = [p.text for p in paragraphs]
    assert "Schedule A\tService levels\nUptime target: ninety-nine percent." in texts
    tracked = _by_text(paragraphs, "Fees are due net thirty days after invoice.")
    assert not tracked.editable  # already holds tracked changes: comment only
    assert _by_text(paragraphs, sample.PAYMENT).editable  # an existing comment is no obstacle


def test_redline_across_formatted_runs_keeps_formatting_and_reads_back_both_ways() -> None:
    markup, paragraphs = _open(sample.sample_bytes())
    clause = _by_text(paragraphs, sample.TRAINING)
    target = "The Vendor shall not use Customer Data to train or improve any models."
    assert markup.redline(clause, word_diff(sample.TRAINING, target))
    data = save_document(markup.document)

    assert _accepted(data)[clause.index] == target
    assert _rejected(data)[clause.index] == sample.TRAINING
    element = _paragraph_elements(data)[clause.index]
    kept_bold = [r for r in element.findall(f"{W}r") if r.find(f"{W}rPr/{W}b") is not None]
    assert "".join(t.text for r in kept_bold for t in r.iter(f"{W}t")) == "Customer Data"
    kept_italic = [r for r in element.iter(f"{W}r") if r.find(f"{W}rPr/{W}i") is not None]
    assert "".join(t.text for r in kept_italic for t in r.iter(f"{W}t")) == "train"
    for change in [*element.iter(f"{W}ins"), *element.iter(f"{W}del")]:
        assert change.get(f"{W}author") == "Reviewer"
        assert change.get(f"{W}date") == "2026-11-27T09:30:00Z"
    assert all(r.find(f"{W}t") is None for d in element.iter(f"{W}del") for r in d)


def test_inserted_text_takes_the_formatting_of_the_run_where_it_lands() -> None:
    document = Document()
    paragraph = document.add_paragraph("Use of the ")
    paragraph.add_run("Services").bold = True
    paragraph.add_run(" is permitted.")
    markup, paragraphs = _open(save_document(document))
    ops = (Op("equal", "Use of the Services"), Op("insert", " and Outputs"),
           Op("equal", " is permitted."))
    assert markup.redline(paragraphs[0], ops)
    inserted = _paragraph_elements(save_document(markup.document))[0].find(f"{W}ins/{W}r")
    assert inserted.find(f"{W}rPr/{W}b") is not None
    assert inserted.find(f"{W}t").text == " and Outputs"


@pytest.mark.parametrize("ops", [
    (Op("insert", "Subject to Clause 9, "), Op("equal", "Vendor may share Outputs.")),
    (Op("equal", "Vendor may share Outputs"), Op("insert", " with consent"), Op("equal", ".")),
    (Op("equal", "Vendor may share Outputs."), Op("insert", "\tSee\nSchedule B.")),
    (Op("delete", "Vendor may share Outputs."), Op("insert", "Vendor shall not share Outputs.")),
])
def test_insertions_at_start_middle_end_and_with_tabs_and_breaks(ops: tuple[Op, ...]) -> None:
    document = Document()
    document.add_paragraph("Vendor may share Outputs.")
    markup, paragraphs = _open(save_document(document))
    assert markup.redline(paragraphs[0], ops)
    data = save_document(markup.document)
    assert _accepted(data)[0] == "".join(o.text for o in ops if o.op != "delete")
    assert _rejected(data)[0] == "Vendor may share Outputs."
    assert review_paragraphs(open_document(data))[0].text == _accepted(data)[0]


_WORDS = st.sampled_from(["Vendor", "may", "shall", "not", "use", "Customer", "Data", "to",
                          "train", "models", ",", ".", "\t", "only", "with", "consent"])


@st.composite
def _formatted_paragraph(draw: st.DrawFn) -> tuple[list[tuple[str, bool, bool]], str]:
    """Runs (text, bold, italic) of a clause, and a target clause to redline it toward."""
    words = draw(st.lists(_WORDS, min_size=1, max_size=14))
    text = " ".join(words)
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=5)))
    bounds = [0, *[c for c in cuts if c < len(text)], len(text)]
    runs = [(text[a:b], draw(st.booleans()), draw(st.booleans()))
            for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    target = " ".join(draw(st.lists(_WORDS, min_size=1, max_size=14)))
    return runs, target


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_formatted_paragraph())
def test_any_word_diff_over_any_run_split_reads_back_as_target_and_original(
        case: tuple[list[tuple[str, bool, bool]], str]) -> None:
    runs, target = case
    document = Document()
    paragraph = document.add_paragraph()
    for text, bold, italic in runs:
        run = paragraph.add_run(text)
        run.bold, run.italic = bold or None, italic or None
    original = "".join(text for text, _, _ in runs)
    markup, paragraphs = _open(save_document(document))
    assert paragraphs[0].text == original
    changed = markup.redline(paragraphs[0], word_diff(original, target))
    data = save_document(markup.document)
    assert _accepted(data)[0] == (target if changed else original)
    assert _rejected(data)[0] == original
    # every original character keeps the bold / italic it had
    element = _paragraph_elements(data)[0]
    styled = "".join(
        ("B" if r.find(f"{W}rPr/{W}b") is not None else "-") * len(_text(r, accepted=False))
        for r in element.iter(f"{W}r") if r.getparent().tag != f"{W}ins")
    assert styled == "".join(("B" if bold else "-") * len(text) for text, bold, _ in runs)


def test_a_paragraph_with_tracked_changes_is_commented_not_redlined() -> None:
    data = sample.sample_bytes()
    markup, paragraphs = _open(data)
    tracked = _by_text(paragraphs, "Fees are due net thirty days after invoice.")
    before = etree.tostring(tracked.element)
    assert not markup.redline(tracked, (Op("delete", tracked.text), Op("insert", "Net 45.")))
    assert etree.tostring(tracked.element) == before


def test_ops_that_do_not_spell_the_paragraph_are_refused() -> None:
    markup, paragraphs = _open(sample.sample_bytes())
    clause = _by_text(paragraphs, sample.CAP)
    before = etree.tostring(clause.element)
    assert not markup.redline(clause, (Op("delete", "Something else."), Op("insert", "X.")))
    assert etree.tostring(clause.element) == before


def test_new_ids_are_unique_above_existing_ones_and_existing_revisions_and_comments_stay() -> None:
    data = sample.sample_bytes()
    markup, paragraphs = _open(data)
    for clause in (sample.TRAINING, sample.CAP, sample.TABLE_TRAINING):
        paragraph = _by_text(paragraphs, clause)
        markup.redline(paragraph, word_diff(clause, "Vendor shall not do so."))
        markup.comment(paragraph, ["training-use: unacceptable", "Our reason."])
    markup.comment(_by_text(paragraphs, "Fees are due net thirty days after invoice."), ["x"])
    out = save_document(markup.document)

    ids = _all_ids(out)
    revisions = [i for name, found in ids.items() if name == "word/document.xml"
                 for i in found]
    comments = ids["word/comments.xml"]
    new = set(revisions + comments) - {"0", "7", "8"}
    assert all(int(i) > 8 for i in new)
    revision_ids = [e.get(f"{W}id") for p in _paragraph_elements(out)
                    for e in p.iter(f"{W}ins", f"{W}del")]
    comment_ids = comments
    assert len(set(revision_ids)) == len(revision_ids)
    assert len(set(comment_ids)) == len(comment_ids) == 5  # the existing one and four new
    assert not set(revision_ids) & set(comment_ids)
    assert "7" in revision_ids and "8" in revision_ids
    reopened = Document(io.BytesIO(out))
    texts = [c.text for c in reopened.comments]
    assert sample.EXISTING_COMMENT in texts
    assert "training-use: unacceptable\nOur reason." in texts


def test_comment_is_anchored_on_the_paragraph_and_signed() -> None:
    markup, paragraphs = _open(sample.sample_bytes())
    clause = _by_text(paragraphs, sample.CAP)
    comment_id = markup.comment(clause, ["liability-cap: unacceptable", "Why.", "Fallback 1"])
    out = save_document(markup.document)
    element = _paragraph_elements(out)[clause.index]
    assert element.find(f"{W}commentRangeStart").get(f"{W}id") == comment_id
    assert element.find(f"{W}commentRangeEnd").get(f"{W}id") == comment_id
    assert element.find(f"{W}r/{W}commentReference").get(f"{W}id") == comment_id
    comment = next(c for c in Document(io.BytesIO(out)).comments if str(c.comment_id)
                   == comment_id)
    assert comment.author == "Reviewer" and comment.initials == "R"
    assert comment.text == "liability-cap: unacceptable\nWhy.\nFallback 1"


def test_comments_part_is_created_with_content_type_and_relationship() -> None:
    document = Document()
    document.add_paragraph("Vendor may share Outputs.")
    markup, paragraphs = _open(save_document(document))
    markup.comment(paragraphs[0], ["a note"])
    with zipfile.ZipFile(io.BytesIO(save_document(markup.document))) as archive:
        types = archive.read("[Content_Types].xml").decode()
        relationships = archive.read("word/_rels/document.xml.rels").decode()
        assert "word/comments.xml" in archive.namelist()
    assert ('PartName="/word/comments.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.comments+xml"') in types
    assert 'relationships/comments" Target="comments.xml"' in relationships


def test_headers_footers_styles_numbering_and_settings_are_untouched() -> None:
    data = sample.sample_bytes()
    markup, paragraphs = _open(data)
    for paragraph in paragraphs:
        if paragraph.editable and paragraph.text:
            markup.redline(paragraph, (Op("delete", paragraph.text), Op("insert", "Replaced.")))
            markup.comment(paragraph, ["note"])
    out = save_document(markup.document)

    def canonical(blob: bytes, name: str) -> bytes:
        return etree.tostring(etree.fromstring(zipfile.ZipFile(io.BytesIO(blob)).read(name)),
                              method="c14n")

    names = [n for n in zipfile.ZipFile(io.BytesIO(data)).namelist()
             if n.startswith(("word/header", "word/footer", "word/styles", "word/numbering",
                              "word/settings", "word/footnotes"))]
    assert any("header" in n for n in names) and any("footer" in n for n in names)
    for name in names:
        assert canonical(out, name) == canonical(data, name), name
    before = etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml"))
    after = etree.fromstring(zipfile.ZipFile(io.BytesIO(out)).read("word/document.xml"))
    for tag in ("sectPr", "pPr", "tblPr"):
        assert [etree.tostring(e) for e in before.iter(f"{W}{tag}")] == [
            etree.tostring(e) for e in after.iter(f"{W}{tag}")], tag


# --- bad input ---------------------------------------------------------------------------


def _ole(names: list[str]) -> bytes:
    """A minimal OLE2 compound file whose directory holds the named streams."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 0x18, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<iii", header, 0x2C, 1, 1, 0)
    struct.pack_into("<iiii", header, 0x38, 4096, -2, 0, -2)
    struct.pack_into("<i", header, 0x44, 0)
    struct.pack_into("<109i", header, 0x4C, 0, *([-1] * 108))
    fat = struct.pack("<128i", -3, -2, *([-1] * 126))
    directory = bytearray(512)
    for slot, name in enumerate(["Root Entry", *names][:4]):
        encoded = name.encode("utf-16-le") + b"\0\0"
        directory[slot * 128:slot * 128 + len(encoded)] = encoded
        struct.pack_into("<H", directory, slot * 128 + 0x40, len(encoded))
    return bytes(header) + fat + bytes(directory)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "kind", "words"), [
    (b"Plain text, not a document.", "unsupported", "not a .docx"),
    (b"", "unsupported", "not a .docx"),
    (b"%PDF-1.7\n", "unsupported", "not a .docx"),
    (_ole(["WordDocument", "1Table"]), "unsupported", "legacy Word .doc"),
    (_ole(["EncryptionInfo", "EncryptedPackage"]), "unsupported", "password-protected"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "unsupported", "legacy Word .doc"),
    (sample.sample_bytes()[:2000], "damaged", "damaged"),
    (b"PK\x03\x04" + b"\0" * 64, "damaged", "damaged"),
    (_zip({"hello.txt": b"hi"}), "unsupported", "not a .docx"),
    (_zip({"[Content_Types].xml": b"<Types/>"}), "damaged", "damaged"),
])
def test_bad_input_is_refused_with_a_reason(data: bytes, kind: str, words: str) -> None:
    with pytest.raises(UnreadableDocument) as refused:
        open_document(data)
    assert refused.value.kind == kind
    assert words in str(refused.value)


def test_a_workbook_is_not_a_word_document() -> None:
    types = (b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
             b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
             b'relationships+xml"/><Override PartName="/xl/workbook.xml" ContentType="'
             b'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
             b'</Types>')
    rels = (b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            b'</Relationships>')
    workbook = _zip({"[Content_Types].xml": types, "_rels/.rels": rels,
                     "xl/workbook.xml": b"<workbook/>"})
    with pytest.raises(UnreadableDocument, match="not a Word document"):
        open_document(workbook)


def test_zip_bomb_is_refused_from_the_directory_before_decompressing() -> None:
    # 50 MB of zeros deflate to about 50 kB; the declared size gives it away.
    bomb = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": bytes(50_000_000)})
    assert len(bomb) < 100_000
    with pytest.raises(UnreadableDocument, match="expand to") as refused:
        open_document(bomb, DocxLimits(max_uncompressed=10_000_000))
    assert refused.value.kind == "too-large"


def test_too_many_parts_is_refused() -> None:
    with pytest.raises(UnreadableDocument, match="parts") as refused:
        open_document(sample.sample_bytes(), DocxLimits(max_members=3))
    assert refused.value.kind == "too-large"


def test_too_many_paragraphs_is_refused() -> None:
    document = open_document(sample.sample_bytes())
    with_text = sum(1 for p in review_paragraphs(document) if p.text.strip())
    assert len(review_paragraphs(document, DocxLimits(max_paragraphs=with_text))) > with_text
    with pytest.raises(UnreadableDocument, match="paragraphs") as refused:
        review_paragraphs(document, DocxLimits(max_paragraphs=with_text - 1))
    assert refused.value.kind == "too-large"


def test_limits_come_from_the_environment() -> None:
    limits = DocxLimits.from_env({"REDLINE_MAX_DOCX_UNCOMPRESSED": "1000",
                                  "REDLINE_MAX_DOCX_PARTS": "7",
                                  "REDLINE_MAX_REVIEW_PARAGRAPHS": "9"})
    assert limits == DocxLimits(max_uncompressed=1000, max_members=7, max_paragraphs=9)
    assert DocxLimits.from_env({}) == DocxLimits()
    with pytest.raises(ValueError, match="REDLINE_MAX_DOCX_PARTS"):
        DocxLimits.from_env({"REDLINE_MAX_DOCX_PARTS": "lots"})


def test_text_boxes_are_not_reviewed_but_table_cells_are() -> None:
    document = Document()
    document.add_paragraph("Body clause.")
    table = document.add_table(rows=1, cols=1)
    table.cell(0, 0).text = "Cell clause."
    inner = table.cell(0, 0).add_table(rows=1, cols=1)
    inner.cell(0, 0).text = "Nested cell clause."
    host = document.add_paragraph("Host.")
    box = etree.SubElement(etree.SubElement(host._p, qn("w:r")), qn("w:pict"))
    content = etree.SubElement(box, qn("w:txbxContent"))
    inside = etree.SubElement(etree.SubElement(content, qn("w:p")), qn("w:r"))
    etree.SubElement(inside, qn("w:t")).text = "Text box clause."
    paragraphs = review_paragraphs(open_document(save_document(document)))
    texts = [p.text for p in paragraphs]
    assert texts.index("Body clause.") < texts.index("Cell clause.") < texts.index(
        "Nested cell clause.")
    assert "Text box clause." not in texts
    host_paragraph = next(p for p in paragraphs if p.text.startswith("Host."))
    assert host_paragraph.text == "Host." and not host_paragraph.editable


_FIELD_PARAGRAPHS = {
    "hyperlink": ('<w:p {}><w:r><w:t xml:space="preserve">See </w:t></w:r><w:hyperlink '
                  'w:anchor="terms"><w:r><w:t>the terms</w:t></w:r></w:hyperlink>'
                  '<w:r><w:t>.</w:t></w:r></w:p>', "See the terms."),
    "simple field": ('<w:p {}><w:r><w:t xml:space="preserve">Page </w:t></w:r><w:fldSimple '
                     'w:instr=" PAGE "><w:r><w:t>4</w:t></w:r></w:fldSimple></w:p>', "Page 4"),
    "complex field": ('<w:p {}><w:r><w:t xml:space="preserve">As in clause </w:t></w:r>'
                      '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText '
                      'xml:space="preserve"> REF _Ref1 \\r </w:instrText></w:r><w:r><w:fldChar '
                      'w:fldCharType="separate"/></w:r><w:r><w:t>7.2</w:t></w:r><w:r><w:fldChar'
                      ' w:fldCharType="end"/></w:r></w:p>', "As in clause 7.2"),
    "format change": ('<w:p {}><w:r><w:rPr><w:b/><w:rPrChange w:id="3" w:author="A"><w:rPr/>'
                      '</w:rPrChange></w:rPr><w:t>Bold now.</w:t></w:r></w:p>', "Bold now."),
}


@pytest.mark.parametrize("kind", list(_FIELD_PARAGRAPHS))
def test_fields_links_and_format_changes_are_read_but_only_commented(kind: str) -> None:
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    xml, text = _FIELD_PARAGRAPHS[kind]
    document = Document()
    document.element.body.insert(0, parse_xml(xml.format(nsdecls("w"))))
    markup, paragraphs = _open(save_document(document))
    assert paragraphs[0].text == text
    assert not paragraphs[0].editable
    assert not markup.redline(paragraphs[0], (Op("delete", text), Op("insert", "Other.")))
    markup.comment(paragraphs[0], ["needs-review"])
    out = save_document(markup.document)
    assert _rejected(out)[0] == _accepted(out)[0]  # no tracked change was written
    assert [c.text for c in Document(io.BytesIO(out)).comments] == ["needs-review"]
