"""POST /api/v1/review: a whole .docx reviewed against the playbook.

Multipart upload, field "file" (optional fields "perspective" and "author"). The answer is the
marked-up .docx, or with `Accept: application/json` the list of issues. The upload is parsed
into memory (never spooled to a temporary file) and the document is never written to disk.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request, send_file
from werkzeug.datastructures import FileStorage
from werkzeug.formparser import FormDataParser
from werkzeug.utils import secure_filename

from server.adapters.review_docx import DocxLimits, UnreadableDocument
from server.api.errors import ApiError
from server.api.suggest import perspective_of
from server.review import DEFAULT_AUTHOR, issue_record, review_document, summary_record
from server.services import services

bp = Blueprint("review", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_STATUS = {"unsupported": 415, "damaged": 400, "too-large": 413}
_AUTHOR_LIMIT = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@bp.post("/review")
def review() -> Response:
    """The uploaded contract, marked up (or its issues as JSON)."""
    form, upload = _multipart()
    data = upload.read()
    if not data:
        raise ApiError(400, "The uploaded file is empty.", {"file": "a non-empty .docx"})
    perspective = perspective_of(form.get("perspective") or None)
    author = _author(form.get("author"))
    as_json = request.accept_mimetypes.best_match([DOCX, "application/json"]) == (
        "application/json")
    engine = services().ready_engine()
    try:
        result = review_document(data, engine, perspective, author=author,
                                 limits=DocxLimits.from_env(), markup=not as_json)
    except UnreadableDocument as error:
        raise ApiError(_STATUS[error.kind], str(error), {"file": error.kind}) from None
    log.info("reviewed %d bytes, %d paragraphs, %d issues", len(data), result.paragraphs,
             len(result.issues))
    if as_json or result.document is None:
        return jsonify(paragraphs=result.paragraphs,
                       issues=[issue_record(i) for i in result.issues],
                       summary=summary_record(result))
    return send_file(io.BytesIO(result.document), mimetype=DOCX, as_attachment=True,
                     download_name=_download_name(upload.filename))


def _multipart() -> tuple[Any, FileStorage]:
    """The form and the uploaded file, parsed into memory."""
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "Upload the .docx as multipart/form-data, in the field 'file'.")
    parser = FormDataParser(stream_factory=_in_memory,
                            max_form_memory_size=request.max_form_memory_size,
                            max_content_length=request.max_content_length,
                            max_form_parts=request.max_form_parts)
    _, form, files = parser.parse(request.stream, request.mimetype, request.content_length,
                                  request.mimetype_params)
    upload = files.get("file")
    if upload is None:
        raise ApiError(400, "No file uploaded: send the .docx in the form field 'file'.",
                       {"file": "required"})
    return form, upload


def _in_memory(total_content_length: int | None, content_type: str | None,
               filename: str | None, content_length: int | None = None) -> io.BytesIO:
    """Where an uploaded file's bytes go: memory (MAX_CONTENT_LENGTH bounds it)."""
    del total_content_length, content_type, filename, content_length
    return io.BytesIO()


def _author(value: str | None) -> str:
    """The name tracked changes and comments are signed with."""
    if value is None or not value.strip():
        return DEFAULT_AUTHOR
    name = _CONTROL.sub("", value).strip()
    if not name or len(name) > _AUTHOR_LIMIT:
        raise ApiError(400, f"'author' must be a name of at most {_AUTHOR_LIMIT} characters.",
                       {"author": f"1 to {_AUTHOR_LIMIT} printable characters"})
    return name


def _download_name(uploaded: str | None) -> str:
    stem = secure_filename((uploaded or "").rsplit(".", 1)[0]) or "contract"
    return f"{stem}-reviewed.docx"
