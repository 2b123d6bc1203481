"""Test contracts for document review, built with python-docx in our own words.

The sample has what real counterparty paper has: numbered clauses, a defined term in bold and
an italic word inside a clause, a table, a header and a footer, a tab and a line break, an
existing tracked change by another author and an existing comment.
"""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as WordDocument
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

TRAINING = "The Vendor may use Customer Data to train and improve its models."
CAP = "In no event shall Vendor's total liability exceed the fees paid in the prior twelve months."
LAW = "This Agreement is governed by the laws of the State of New York."
PAYMENT = "Invoices are payable within thirty days of receipt."
HEADER = "Vendor may use Customer Data to train its models (draft header)."
FOOTER = "Confidential draft: Vendor may train and improve its models."
EXISTING_COMMENT = "Counterparty asked us to confirm this date."
TABLE_TRAINING = "Supplier may train and improve machine learning models using client inputs."

# An earlier reviewer's pending edits: "net" inserted, "sixty" deleted.
TRACKED_PARAGRAPH = (
    '<w:p {}><w:r><w:t xml:space="preserve">Fees are due </w:t></w:r>'
    '<w:ins w:id="7" w:author="Counterparty" w:date="2026-01-05T10:00:00Z"><w:r>'
    '<w:t xml:space="preserve">net </w:t></w:r></w:ins>'
    '<w:del w:id="8" w:author="Counterparty" w:date="2026-01-05T10:00:00Z"><w:r>'
    '<w:delText xml:space="preserve">sixty </w:delText></w:r></w:del>'
    '<w:r><w:t>thirty days after invoice.</w:t></w:r></w:p>').format(nsdecls("w"))


def sample_document() -> WordDocument:
    """The sample contract as a python-docx Document."""
    document = Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = HEADER
    section.footer.paragraphs[0].text = FOOTER
    document.add_heading("Cloud Analytics Services Agreement", level=1)
    _formatted_training_clause(document)
    document.add_paragraph(CAP, style="List Number")
    document.add_paragraph("", style="Normal")
    document.add_paragraph(LAW, style="List Number")
    law_with_comment = document.add_paragraph(PAYMENT, style="List Number")
    document.add_comment(law_with_comment.runs, text=EXISTING_COMMENT, author="Counterparty")
    breaks = document.add_paragraph("Schedule A\tService levels")
    breaks.add_run().add_break()
    breaks.add_run("Uptime target: ninety-nine percent.")
    document.element.body.insert(len(document.element.body) - 1, parse_xml(TRACKED_PARAGRAPH))
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Topic"
    table.cell(0, 1).text = "Term"
    table.cell(1, 0).text = "Model training"
    table.cell(1, 1).text = TABLE_TRAINING
    document.add_paragraph("Signed for and on behalf of each party.")
    return document


def _formatted_training_clause(document: WordDocument) -> None:
    """TRAINING, with "Customer Data" bold (a defined term) and "train" italic."""
    paragraph = document.add_paragraph(style="List Number")
    paragraph.add_run("The Vendor may use ")
    paragraph.add_run("Customer Data").bold = True
    paragraph.add_run(" to ")
    paragraph.add_run("train").italic = True
    paragraph.add_run(" and improve its models.")


def sample_bytes() -> bytes:
    """The sample contract as .docx bytes."""
    buffer = io.BytesIO()
    sample_document().save(buffer)
    return buffer.getvalue()
