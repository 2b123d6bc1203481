"""The add-in manifest: schema-valid, HTTPS on one origin, a stable id, and served by the app."""

from __future__ import annotations

import re
import struct
import subprocess
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from server.__main__ import main
from server.manifest import BadServiceUrl, addin_id, base_url, stamp

REPO = Path(__file__).resolve().parents[2]
# CI clones the repo next to shared/, as on a developer's machine.
SCHEMA = REPO.parent / "shared" / "schemas" / "office-addin-manifest" / "OfficeAppManifestV1_1.xsd"
NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "ov": "http://schemas.microsoft.com/office/taskpaneappversionoverrides",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
}
URL = "https://clausewise.example.com"


def urls_in(xml: str) -> list[str]:
    """Every URL the manifest names: DefaultValue attributes that look like URLs, AppDomains."""
    root = ET.fromstring(xml)
    found = [e.get("DefaultValue", "") for e in root.iter()
             if re.match(r"^[a-z]+://", e.get("DefaultValue", ""))]
    found += [(e.text or "").strip() for e in root.iter(f"{{{NS['o']}}}AppDomain")]
    return found


def get(client: FlaskClient, path: str) -> tuple[int, str, bytes]:
    """Status, media type and body of a GET, with the (streamed) file closed."""
    with client.get(path) as response:
        return response.status_code, response.mimetype, response.get_data()


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("url", [URL, "https://localhost:8443", "https://law.example/clausewise"])
def test_stamped_manifest_is_valid_against_the_office_schema(url: str, tmp_path: Path) -> None:
    assert SCHEMA.is_file(), f"the Office manifest schemas belong at {SCHEMA}"
    path = tmp_path / "manifest.xml"
    path.write_text(stamp(url), encoding="utf-8")
    result = subprocess.run(["xmllint", "--noout", "--schema", str(SCHEMA), str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_every_url_is_https_on_the_service_origin() -> None:
    urls = urls_in(stamp(URL + "/"))
    assert len(urls) >= 9  # icons, pane, support, app domain, ribbon resources
    for url in urls:
        parts = urlsplit(url)
        assert parts.scheme == "https", url
        assert f"{parts.scheme}://{parts.netloc}" == URL, url


def test_the_id_is_a_stable_guid_per_deployment() -> None:
    xml = stamp(URL)
    text = ET.fromstring(xml).findtext("o:Id", namespaces=NS)
    assert text is not None
    assert uuid.UUID(text) == addin_id(URL)
    assert stamp(URL + "/") == xml  # re-stamping keeps the id: Office sees the same add-in
    assert addin_id("https://other.example.com") != addin_id(URL)
    assert addin_id("https://localhost:8443") != addin_id(URL)


def test_manifest_declares_a_word_task_pane_with_a_ribbon_button() -> None:
    root = ET.fromstring(stamp(URL))
    assert root.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "TaskPaneApp"
    assert [h.get("Name") for h in root.findall("o:Hosts/o:Host", NS)] == ["Document"]
    assert root.findtext("o:Permissions", namespaces=NS) == "ReadWriteDocument"
    [word_api] = root.findall("o:Requirements/o:Sets/o:Set", NS)
    assert (word_api.get("Name"), word_api.get("MinVersion")) == ("WordApi", "1.3")
    assert root.find("o:SupportUrl", NS) is not None
    [button] = root.findall(".//ov:Control", NS)
    action = button.find("ov:Action", NS)
    assert action is not None
    assert action.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "ShowTaskpane"
    images = {i.get("id"): i.get("DefaultValue") for i in root.findall(".//bt:Images/bt:Image", NS)}
    resid = action.find("ov:SourceLocation", NS)
    assert resid is not None
    pane_urls = {u.get("id"): u.get("DefaultValue") for u in root.findall(".//bt:Urls/bt:Url", NS)}
    assert pane_urls[resid.get("resid")] == f"{URL}/taskpane.html"
    sizes = sorted(int(i.get("size", "0")) for i in button.findall("ov:Icon/bt:Image", NS))
    assert sizes == [16, 32, 80]
    assert all(images[i.get("resid")] for i in button.findall("ov:Icon/bt:Image", NS))


def test_every_url_in_the_manifest_is_served_by_the_app(client: FlaskClient) -> None:
    for url in set(urls_in(stamp(URL))) - {URL}:
        path = urlsplit(url).path
        status, _, data = get(client, path)
        assert status == 200, path
        match = re.search(r"icon-(\d+)\.png$", path)
        if match:
            size = int(match.group(1))
            assert png_size(data) == (size, size)


def test_all_four_icon_sizes_are_shipped(client: FlaskClient) -> None:
    for size in (16, 32, 64, 80):
        status, mimetype, data = get(client, f"/assets/icon-{size}.png")
        assert (status, mimetype) == (200, "image/png")
        assert png_size(data) == (size, size)


def test_the_app_serves_the_manifest_for_its_public_url(client: FlaskClient) -> None:
    response = client.get("/manifest.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.get_data(as_text=True) == stamp("https://localhost:8443")


@pytest.mark.parametrize("url", [
    "http://clausewise.example.com", "https://", "https://x.example.com/?tenant=1",
    "https://x.example.com/#pane", "https://user:pw@x.example.com", "clausewise.example.com",
])
def test_urls_an_add_in_cannot_use_are_refused(url: str) -> None:
    with pytest.raises(BadServiceUrl):
        base_url(url)


def test_the_cli_prints_the_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--url", URL]) == 0
    assert capsys.readouterr().out == stamp(URL)
    assert main(["manifest", "--url", "http://insecure.example.com"]) == 2
    assert "https" in capsys.readouterr().err


def test_pane_assets_are_served_with_the_right_types(client: FlaskClient) -> None:
    status, mimetype, page = get(client, "/taskpane.html")
    assert (status, mimetype) == (200, "text/html")
    html = page.decode()
    assert "https://appsforoffice.microsoft.com/lib/1/hosted/office.js" in html
    scripts = re.findall(r'<script type="module" src="([^"]+)"', html)
    assert scripts == ["assets/js/taskpane.js"]
    for name in ("taskpane", "word", "api", "render"):
        assert get(client, f"/assets/js/{name}.js")[:2] == (200, "text/javascript"), name
    assert get(client, "/assets/taskpane.css")[:2] == (200, "text/css")
    assert get(client, "/support.html")[0] == 200
    for path in ("/assets/../manifest.py", "/assets/js/../../taskpane.html", "/package.json",
                 "/assets/../package.json", "/assets/js/word.py"):
        assert get(client, path)[0] == 404, path
