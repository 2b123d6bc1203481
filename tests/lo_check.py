"""Read .docx files through LibreOffice, with all tracked changes accepted and then rejected.

Run with Debian's /usr/bin/python3 (it has python3-uno; the project's venv cannot import uno):

    /usr/bin/python3 tests/lo_check.py --pipe NAME FILE.docx [FILE.docx ...]

against a running `soffice --headless --accept=pipe,name=NAME;urp;`. Prints one JSON object:
{path: {"accepted": [...], "rejected": [...], "comments": n, "redline_authors": {name: n}}},
where the lists are the body's paragraph texts in document order, table cells row by row.
`--pipe NAME --resave IN.docx OUT.docx` saves IN again as LibreOffice writes .docx files.
This file deliberately shares no code with the project: it is the independent witness.
"""

from __future__ import annotations

import json
import re
import sys
import time

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def connect(pipe: str, timeout: float = 90.0):  # type: ignore[no-untyped-def]
    """The desktop of the LibreOffice listening on the pipe (retried while it starts)."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    while True:
        try:
            context = resolver.resolve(
                f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    return context, context.ServiceManager.createInstanceWithContext(
        "com.sun.star.frame.Desktop", context)


def prop(name: str, value: object) -> PropertyValue:
    """A UNO PropertyValue."""
    item = PropertyValue()
    item.Name, item.Value = name, value
    return item


def cell_order(name: str) -> tuple[int, str]:
    """Row first, then column: "B2" -> (2, "B")."""
    match = re.fullmatch(r"([A-Za-z]+)(\d+)", name)
    assert match, name
    return int(match.group(2)), match.group(1).rjust(3)


def paragraph_texts(text) -> list[str]:  # type: ignore[no-untyped-def]
    """Texts of the paragraphs of a text, descending into tables cell by cell."""
    found: list[str] = []
    enumeration = text.createEnumeration()
    while enumeration.hasMoreElements():
        element = enumeration.nextElement()
        if element.supportsService("com.sun.star.text.TextTable"):
            for name in sorted(element.getCellNames(), key=cell_order):
                found.extend(paragraph_texts(element.getCellByName(name).getText()))
        else:
            found.append(element.getString())
    return found


def count_comments(document) -> int:  # type: ignore[no-untyped-def]
    """How many annotations (comments) the document holds."""
    count = 0
    fields = document.getTextFields().createEnumeration()
    while fields.hasMoreElements():
        if fields.nextElement().supportsService("com.sun.star.text.TextField.Annotation"):
            count += 1
    return count


def redline_authors(document) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Tracked changes counted by author."""
    authors: dict[str, int] = {}
    redlines = document.getRedlines().createEnumeration()
    while redlines.hasMoreElements():
        author = redlines.nextElement().getPropertyValue("RedlineAuthor")
        authors[author] = authors.get(author, 0) + 1
    return authors


def read(context, desktop, path: str, command: str):  # type: ignore[no-untyped-def]
    """Open the file, run the dispatch command, return (texts, comments, authors)."""
    url = uno.systemPathToFileUrl(path)
    document = desktop.loadComponentFromURL(url, "_blank", 0, (prop("Hidden", True),))
    try:
        authors = redline_authors(document)
        dispatcher = context.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.DispatchHelper", context)
        frame = document.getCurrentController().getFrame()
        dispatcher.executeDispatch(frame, command, "", 0, ())
        return paragraph_texts(document.getText()), count_comments(document), authors
    finally:
        document.close(True)


def resave(desktop, source: str, target: str) -> None:  # type: ignore[no-untyped-def]
    """Open a .docx and save it again as LibreOffice writes Word files."""
    document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(source), "_blank", 0,
                                            (prop("Hidden", True),))
    try:
        document.storeToURL(uno.systemPathToFileUrl(target),
                            (prop("FilterName", "MS Word 2007 XML"),))
    finally:
        document.close(True)


def main(argv: list[str]) -> int:
    """Read each file accepted and rejected; print the JSON report (or --resave SRC DST)."""
    if len(argv) < 3 or argv[0] != "--pipe":
        print(__doc__, file=sys.stderr)
        return 2
    context, desktop = connect(argv[1])
    if argv[2] == "--resave" and len(argv) == 5:
        resave(desktop, argv[3], argv[4])
        return 0
    report = {}
    for path in argv[2:]:
        accepted, comments, authors = read(context, desktop, path, ".uno:AcceptAllTrackedChanges")
        rejected, _, _ = read(context, desktop, path, ".uno:RejectAllTrackedChanges")
        report[path] = {"accepted": accepted, "rejected": rejected, "comments": comments,
                        "redline_authors": authors}
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
