"""The Word add-in's task pane, its assets and icons, and the manifest, all from our own origin.

Serving the pane from the API's origin means the pane's fetch calls need no CORS.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

from server.api.errors import ApiError
from server.manifest import BadServiceUrl, stamp
from server.services import services

bp = Blueprint("taskpane", __name__)

PANE = Path(__file__).resolve().parents[1] / "taskpane"
ASSET_TYPES = frozenset({".js", ".css", ".png", ".svg"})


@bp.get("/taskpane.html")
def taskpane() -> Response:
    """The task pane Word opens from the ribbon button."""
    return send_from_directory(PANE, "taskpane.html", mimetype="text/html")


@bp.get("/support.html")
def support() -> Response:
    """The support page the manifest's SupportUrl names."""
    return send_from_directory(PANE, "support.html", mimetype="text/html")


@bp.get("/assets/<path:name>")
def asset(name: str) -> Response:
    """A script, style sheet or icon of the pane."""
    if Path(name).suffix not in ASSET_TYPES:
        abort(404)
    response = send_from_directory(PANE / "assets", name)
    if name.endswith(".js"):
        response.mimetype = "text/javascript"  # ES modules need a JavaScript type
    return response


@bp.get("/manifest.xml")
def manifest() -> Response:
    """The add-in manifest stamped for this deployment's public URL (REDLINE_PUBLIC_URL)."""
    try:
        xml = stamp(services().settings.public_url)
    except BadServiceUrl as error:
        raise ApiError(500, str(error)) from None
    return Response(xml, mimetype="application/xml",
                    headers={"Content-Disposition": 'inline; filename="manifest.xml"'})
