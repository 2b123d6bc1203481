"""Reading a BEIR corpus.jsonl of precedents: documents in order, errors by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.adapters.precedents import InvalidCorpus, read_precedents


def write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def record(**fields: object) -> str:
    return json.dumps(fields)


def test_reads_clauses_in_order_from_the_file_or_its_folder(tmp_path: Path) -> None:
    corpus = write(tmp_path / "corpus.jsonl",
                   record(_id="p1", text="Fees are fixed for the first year.", title=""),
                   "",
                   record(_id="p2", text="The escrow agent holds the code.", title="Escrow"))
    for source in (corpus, tmp_path):
        documents = read_precedents(source)
        assert [d.id for d in documents] == ["p1", "p2"]
        assert [d.kind for d in documents] == ["precedent", "precedent"]
        assert documents[0].label is None and documents[1].label == "Escrow"
        assert documents[1].text == "The escrow agent holds the code."
        assert documents[0].topic is None and documents[0].passages == ()


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    (record(text="No id here."), "'_id' must be a non-empty string"),
    (record(_id="p9", text="   "), "'text' must be a non-empty string"),
    (record(_id="p1", text="Same id again."), "duplicate _id 'p1'"),
])
def test_a_bad_line_is_named_without_its_text(tmp_path: Path, line: str, message: str) -> None:
    corpus = write(tmp_path / "corpus.jsonl", record(_id="p1", text="Secret wording one."), line)
    with pytest.raises(InvalidCorpus) as raised:
        read_precedents(corpus)
    assert raised.value.line == 2
    assert message in str(raised.value)
    assert str(raised.value).startswith("corpus.jsonl:2: ")
    assert "Secret wording" not in str(raised.value) and "Same id again" not in str(raised.value)
