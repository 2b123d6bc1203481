"""Load the clause bank from YAML files, strictly, reporting every problem at once.

One file per topic (schema in clause_bank/README.md). Duplicate keys, unknown or missing
fields, empty texts, duplicate ids and unknown topic ids are each reported with file, line
and field. An overlay directory replaces positions by id and may add positions or topics.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from server.core.bank import ClauseBank, Position, Topic
from server.core.topics import TOPICS, Kind, Perspective

BUILT_IN_BANK = Path(__file__).resolve().parents[2] / "clause_bank"
TOPIC_FIELDS = {"topic": True, "title": True, "summary": True, "customer": False, "vendor": False}
SIDE_FIELDS = {"preferred": False, "fallbacks": False, "unacceptable": False}
POSITION_FIELDS = {"id": True, "label": True, "text": True, "reason": True, "exemplars": True}
MIN_EXEMPLARS = 1


@dataclass(frozen=True, slots=True)
class BankProblem:
    """One thing wrong in a bank file."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class InvalidBank(Exception):
    """The bank has problems; all of them are listed."""

    def __init__(self, problems: list[BankProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Reader:
    """Walks one file's YAML nodes, collecting problems instead of stopping at the first."""

    def __init__(self, path: Path, problems: list[BankProblem]) -> None:
        self.file = str(path)
        self.problems = problems

    def problem(self, node: yaml.Node | None, field: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.problems.append(BankProblem(self.file, line, field, message))

    def mapping(
        self, node: yaml.Node, field: str, fields: dict[str, bool]
    ) -> dict[str, yaml.Node] | None:
        """A mapping's children by key; reports duplicate, unknown and missing keys."""
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, field, "expected a mapping of fields")
            return None
        children: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            where = f"{field}.{key}" if field else key
            if key in children:
                self.problem(key_node, where, "duplicate key")
            elif key not in fields:
                known = ", ".join(sorted(fields))
                self.problem(key_node, where, f"unknown field (known: {known})")
            else:
                children[key] = value_node
        for key, required in fields.items():
            if required and key not in children:
                where = f"{field}.{key}" if field else key
                self.problem(node, where, "missing field")
        return children

    def text(self, node: yaml.Node | None, field: str) -> str:
        """A non-empty string scalar, whitespace-normalised at the ends."""
        if node is None:
            return ""
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            self.problem(node, field, "expected text")
            return ""
        value = str(node.value).strip()
        if not value:
            self.problem(node, field, "empty text")
        return value

    def texts(self, node: yaml.Node | None, field: str) -> tuple[str, ...]:
        """A non-empty list of non-empty strings."""
        if node is None:
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, field, "expected a list")
            return ()
        values = tuple(self.text(item, f"{field}[{i}]") for i, item in enumerate(node.value))
        if len(values) < MIN_EXEMPLARS:
            self.problem(node, field, f"needs at least {MIN_EXEMPLARS} entries")
        return values

    def items(self, node: yaml.Node, field: str) -> list[yaml.Node]:
        """A list's items."""
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, field, "expected a list")
            return []
        return list(node.value)


@dataclass(frozen=True, slots=True)
class _Located:
    """A position with where it was written, for duplicate-id reports."""

    position: Position
    file: str
    line: int


def _read_position(reader: _Reader, node: yaml.Node, field: str, topic: str,
                   side: Perspective, kind: Kind, rank: int) -> _Located | None:
    children = reader.mapping(node, field, POSITION_FIELDS)
    if children is None:
        return None
    position = Position(
        id=reader.text(children.get("id"), f"{field}.id"),
        topic=topic,
        perspective=side,
        kind=kind,
        rank=rank,
        label=reader.text(children.get("label"), f"{field}.label"),
        text=reader.text(children.get("text"), f"{field}.text"),
        reason=reader.text(children.get("reason"), f"{field}.reason"),
        exemplars=reader.texts(children.get("exemplars"), f"{field}.exemplars"),
    )
    return _Located(position, reader.file, node.start_mark.line + 1)


def _read_side(
    reader: _Reader, node: yaml.Node, topic: str, side: Perspective
) -> list[_Located]:
    children = reader.mapping(node, side.value, SIDE_FIELDS)
    if children is None:
        return []
    found: list[_Located | None] = []
    if "preferred" in children:
        field = f"{side.value}.preferred"
        found.append(_read_position(reader, children["preferred"], field, topic, side,
                                    Kind.PREFERRED, 1))
    for key, kind in (("fallbacks", Kind.FALLBACK), ("unacceptable", Kind.UNACCEPTABLE)):
        if key in children:
            for i, item in enumerate(reader.items(children[key], f"{side.value}.{key}")):
                field = f"{side.value}.{key}[{i}]"
                found.append(_read_position(reader, item, field, topic, side, kind, i + 1))
    return [f for f in found if f is not None]


@dataclass(frozen=True, slots=True)
class _TopicFile:
    """What one YAML file says about one topic."""

    topic: str
    title: str
    summary: str
    positions: list[_Located]
    file: str
    line: int


def _read_file(path: Path, problems: list[BankProblem]) -> _TopicFile | None:
    reader = _Reader(path, problems)
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problems.append(BankProblem(str(path), line, "(file)", f"not valid YAML: {error}"))
        return None
    except UnicodeDecodeError:
        problems.append(BankProblem(str(path), 1, "(file)", "not UTF-8 text"))
        return None
    if root is None:
        problems.append(BankProblem(str(path), 1, "(file)", "empty file"))
        return None
    children = reader.mapping(root, "", TOPIC_FIELDS)
    if children is None:
        return None
    topic = reader.text(children.get("topic"), "topic")
    if topic and topic not in TOPICS:
        reader.problem(children["topic"], "topic", f"unknown topic id {topic!r}")
    positions: list[_Located] = []
    for side in Perspective:
        if side.value in children:
            positions += _read_side(reader, children[side.value], topic, side)
    return _TopicFile(
        topic=topic,
        title=reader.text(children.get("title"), "title"),
        summary=reader.text(children.get("summary"), "summary"),
        positions=positions,
        file=str(path),
        line=root.start_mark.line + 1,
    )


def _duplicate_ids(files: Iterable[_TopicFile]) -> list[BankProblem]:
    seen: dict[str, _Located] = {}
    problems = []
    for topic_file in files:
        for located in topic_file.positions:
            first = seen.setdefault(located.position.id, located)
            if first is not located and located.position.id:
                problems.append(BankProblem(
                    located.file, located.line, "id",
                    f"duplicate id {located.position.id!r} (first at {first.file}:{first.line})",
                ))
    return problems


def _complete_sides(topic_file: _TopicFile) -> list[BankProblem]:
    """Every side of a topic needs a preferred position to aim redlines at."""
    problems = []
    for side in Perspective:
        kinds = [p.position.kind for p in topic_file.positions if p.position.perspective is side]
        if Kind.PREFERRED not in kinds:
            problems.append(BankProblem(topic_file.file, topic_file.line, f"{side.value}.preferred",
                                        "missing field"))
    return problems


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())


def _read_directory(directory: Path, problems: list[BankProblem]) -> list[_TopicFile]:
    if not directory.is_dir():
        problems.append(BankProblem(str(directory), 1, "(directory)", "no such directory"))
        return []
    files = [f for f in (_read_file(path, problems) for path in _files(directory)) if f]
    if not files and not problems:
        problems.append(BankProblem(str(directory), 1, "(directory)", "no .yaml files"))
    seen: dict[str, _TopicFile] = {}
    for topic_file in files:
        first = seen.setdefault(topic_file.topic, topic_file)
        if first is not topic_file and topic_file.topic:
            problems.append(BankProblem(topic_file.file, topic_file.line, "topic",
                                        f"topic {topic_file.topic!r} also in {first.file}"))
    return files


def _merge(base: list[_TopicFile], overlay: list[_TopicFile]) -> list[_TopicFile]:
    """Overlay positions replace base positions with the same id; new ones are added."""
    by_topic = {f.topic: f for f in base}
    for layer in overlay:
        under = by_topic.get(layer.topic)
        if under is None:
            by_topic[layer.topic] = layer
            continue
        replacing = {located.position.id: located for located in layer.positions}
        kept = [replacing.pop(p.position.id, p) for p in under.positions]
        by_topic[layer.topic] = replace(under, positions=kept + list(replacing.values()))
    return list(by_topic.values())


def _rerank(positions: list[_Located]) -> tuple[Position, ...]:
    """Ranks follow the merged order, so an added fallback comes after the kept ones."""
    ranked: list[Position] = []
    counts: dict[tuple[Perspective, Kind], int] = {}
    for located in positions:
        p = located.position
        rank = counts[(p.perspective, p.kind)] = counts.get((p.perspective, p.kind), 0) + 1
        ranked.append(replace(p, rank=rank))
    return tuple(ranked)


def load_bank(directory: Path = BUILT_IN_BANK, overlay: Path | None = None) -> ClauseBank:
    """The bank in this directory, with an optional overlay; InvalidBank lists all problems."""
    problems: list[BankProblem] = []
    files = _read_directory(directory, problems)
    if overlay is not None:
        files = _merge(files, _read_directory(overlay, problems))
    problems += _duplicate_ids(files)
    for topic_file in files:
        problems += _complete_sides(topic_file)
    if problems:
        raise InvalidBank(problems)
    order = list(TOPICS)
    files.sort(key=lambda f: order.index(f.topic))
    return ClauseBank(tuple(
        Topic(f.topic, f.title, f.summary, _rerank(f.positions)) for f in files
    ))
