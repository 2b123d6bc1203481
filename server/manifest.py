"""The add-in manifest, stamped for one deployment's HTTPS URL.

The template (addin-manifest/manifest.template.xml) names every URL relative to `${base_url}`,
so the pane, its icons and the support page all come from the service's own origin. The add-in
id is a UUID5 of that URL: re-stamping for the same deployment gives the same id (Office treats
a new id as a new add-in), while two deployments get two ids.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from string import Template
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

TEMPLATE = Path(__file__).resolve().parents[1] / "addin-manifest" / "manifest.template.xml"
VERSION = "1.0.0.0"
# A fixed namespace of our own, so ids depend only on the deployment's URL.
NAMESPACE = uuid.UUID("5f0c8a3e-6b1d-4c5e-9a7f-2d3b4c5e6f70")


class BadServiceUrl(ValueError):
    """The URL cannot host an Office add-in (Office requires HTTPS, no query or fragment)."""


def base_url(url: str) -> str:
    """The normalised service URL: https, a host, an optional path prefix, no trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        raise BadServiceUrl(f"Office add-ins must be served over https://, got {url!r}.")
    if not parts.hostname:
        raise BadServiceUrl(f"The URL {url!r} names no host.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise BadServiceUrl(f"The URL {url!r} must not carry a query, fragment or credentials.")
    return f"https://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def addin_id(url: str) -> uuid.UUID:
    """The add-in's stable id for this deployment."""
    return uuid.uuid5(NAMESPACE, base_url(url))


def stamp(url: str, template: Path = TEMPLATE) -> str:
    """The manifest XML for a deployment at `url`."""
    base = base_url(url)
    values = {"base_url": escape(base, {'"': "&quot;"}), "addin_id": str(addin_id(base)),
              "version": VERSION}
    return Template(template.read_text(encoding="utf-8")).substitute(values)
