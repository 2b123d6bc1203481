"""Load the clause bank from YAML files, strictly, reporting every problem at once.

One file per topic (schema in clause_bank/README.md). Duplicate keys, unknown or missing
fields, wrong types, empty texts, duplicate ids, unknown topic ids, a topic in two files and
a side without its preferred position are each reported with file, line and field.

An overlay directory is layered over the bank: an overlay position replaces the bank's
position with the same id (in place, so it keeps its rank unless its kind changes); other
overlay positions are added after the bank's (an added fallback ranks last); an overlay file
may give a new title and summary, which are optional for a topic the bank already has; a
file for a topic the bank lacks adds that topic and must be complete.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from server.core.bank import ClauseBank, Position, Topic
from server.core.topics import TOPICS, Kind, Perspective

# Wide enough that each text stays on one line, so a diff shows which text changed.
DUMP_WIDTH = 10_000

BUILT_IN_BANK = Path(__file__).resolve().parents[2] / "clause_bank"
TOPIC_FIELDS = {"topic": True, "title": True, "summary": True, "customer": False, "vendor": False}
OVERLAY_TOPIC_FIELDS = {**TOPIC_FIELDS, "title": False, "summary": False}
SIDE_FIELDS = {"preferred": False, "fallbacks": False, "unacceptable": False}
POSITION_FIELDS = {"id": True, "label": True, "text": True, "reason": True, "exemplars": True}
MIN_EXEMPLARS = 1
FILE = "(file)"  # the field name for problems with a whole file

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_SCALAR_NAMES = {
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true/false",
    "tag:yaml.org,2002:timestamp": "a date",
    _NULL: "nothing",
}


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


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _described(node: yaml.Node) -> str:
    """What a node holds, in words a knowledge lawyer editing YAML understands."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return _SCALAR_NAMES.get(node.tag, "text" if node.tag == _STR else f"a {node.tag!r} value")


class _Reader:
    """Walks one file's YAML nodes, collecting problems instead of stopping at the first."""

    def __init__(self, path: Path, problems: list[BankProblem]) -> None:
        self.file = str(path)
        self.problems = problems

    def problem(self, node: yaml.Node | None, field: str, message: str) -> None:
        line = _line(node) if node is not None else 1
        self.problems.append(BankProblem(self.file, line, field, message))

    def mapping(
        self, node: yaml.Node, field: str, fields: dict[str, bool]
    ) -> dict[str, yaml.Node] | None:
        """A mapping's children by key; reports duplicate, unknown and missing keys."""
        if not isinstance(node, yaml.MappingNode):
            got = _described(node)
            self.problem(node, field or FILE, f"expected a mapping of fields, got {got}")
            return None
        children: dict[str, yaml.Node] = {}
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            where = f"{field}.{key}" if field else key
            if key in seen:
                self.problem(key_node, where, "duplicate key")
            elif key not in fields:
                known = ", ".join(fields)
                self.problem(key_node, where, f"unknown field (known: {known})")
            else:
                children[key] = value_node
            seen.add(key)
        for key, required in fields.items():
            if required and key not in children and key not in seen:
                where = f"{field}.{key}" if field else key
                self.problem(node, where, "missing field")
        return children

    def text(self, node: yaml.Node | None, field: str) -> str:
        """A non-empty string scalar, whitespace-normalised at the ends."""
        if node is None:
            return ""
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            self.problem(node, field, "empty text")
            return ""
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR:
            hint = " (put it in quotes)" if isinstance(node, yaml.ScalarNode) else ""
            self.problem(node, field, f"expected text, got {_described(node)}{hint}")
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
            self.problem(node, field, f"expected a list of texts, got {_described(node)}")
            return ()
        values = tuple(self.text(item, f"{field}[{i}]") for i, item in enumerate(node.value))
        if len(values) < MIN_EXEMPLARS:
            plural = "s" if MIN_EXEMPLARS > 1 else ""
            self.problem(node, field, f"needs at least {MIN_EXEMPLARS} exemplar{plural}")
        return values

    def items(self, node: yaml.Node, field: str) -> list[yaml.Node]:
        """A list's items."""
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, field, f"expected a list of positions, got {_described(node)}")
            return []
        return list(node.value)


@dataclass(frozen=True, slots=True)
class _Located:
    """A position with where its id was written, for reports that point at it."""

    position: Position
    file: str
    line: int
    field: str


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
    id_node = children.get("id", node)
    return _Located(position, reader.file, _line(id_node), f"{field}.id")


@dataclass(frozen=True, slots=True)
class _TopicFile:
    """What one YAML file says about one topic."""

    topic: str
    title: str
    summary: str
    positions: list[_Located]
    file: str
    line: int
    # Where each side was written, and which sides name a preferred position (valid or not),
    # so a broken preferred position is not also reported as a missing one.
    sides: dict[Perspective, tuple[str, int]] = field(default_factory=dict)
    claimed: frozenset[Perspective] = frozenset()


def _read_side(
    reader: _Reader, node: yaml.Node, topic: str, side: Perspective
) -> tuple[list[_Located], bool]:
    """A side's positions, and whether it names a preferred position."""
    children = reader.mapping(node, side.value, SIDE_FIELDS)
    if children is None:
        return [], True  # already reported; a missing preferred would only repeat it
    found: list[_Located | None] = []
    if "preferred" in children:
        where = f"{side.value}.preferred"
        found.append(_read_position(reader, children["preferred"], where, topic, side,
                                    Kind.PREFERRED, 1))
    for key, kind in (("fallbacks", Kind.FALLBACK), ("unacceptable", Kind.UNACCEPTABLE)):
        if key in children:
            for i, item in enumerate(reader.items(children[key], f"{side.value}.{key}")):
                where = f"{side.value}.{key}[{i}]"
                found.append(_read_position(reader, item, where, topic, side, kind, i + 1))
    return [f for f in found if f is not None], "preferred" in children


def _compose(path: Path, problems: list[BankProblem]) -> yaml.Node | None:
    """The file's YAML node tree, or None (reported) when it cannot be read."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        problems.append(_yaml_problem(path, error))
        return None
    except UnicodeDecodeError:
        problems.append(BankProblem(str(path), 1, FILE, "not UTF-8 text"))
        return None
    except OSError as error:
        problems.append(BankProblem(str(path), 1, FILE, f"cannot read: {error.strerror}"))
        return None
    if root is None:
        problems.append(BankProblem(str(path), 1, FILE, "empty file"))
    return root


def _yaml_problem(path: Path, error: yaml.YAMLError) -> BankProblem:
    """A parse error on one line (PyYAML's own text spans several, with a snippet)."""
    mark = getattr(error, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    what = getattr(error, "problem", None) or type(error).__name__
    context = getattr(error, "context", None)
    column = f" at column {mark.column + 1}" if mark is not None else ""
    detail = f"{context}, {what}" if context else str(what)
    return BankProblem(str(path), line, FILE, f"not valid YAML: {detail}{column}")


def _read_file(path: Path, problems: list[BankProblem], overlay: bool) -> _TopicFile | None:
    root = _compose(path, problems)
    if root is None:
        return None
    reader = _Reader(path, problems)
    children = reader.mapping(root, "", OVERLAY_TOPIC_FIELDS if overlay else TOPIC_FIELDS)
    if children is None:
        return None
    topic = reader.text(children.get("topic"), "topic")
    if topic and topic not in TOPICS:
        reader.problem(children["topic"], "topic",
                       f"unknown topic id {topic!r} (the fixed ids: {', '.join(TOPICS)})")
    positions: list[_Located] = []
    sides: dict[Perspective, tuple[str, int]] = {}
    claimed: set[Perspective] = set()
    for side in Perspective:
        if side.value in children:
            sides[side] = (str(path), _line(children[side.value]))
            found, has_preferred = _read_side(reader, children[side.value], topic, side)
            positions += found
            if has_preferred:
                claimed.add(side)
    return _TopicFile(
        topic=topic,
        title=reader.text(children.get("title"), "title"),
        summary=reader.text(children.get("summary"), "summary"),
        positions=positions,
        file=str(path),
        line=_line(root),
        sides=sides,
        claimed=frozenset(claimed),
    )


def _duplicate_ids(files: Iterable[_TopicFile]) -> list[BankProblem]:
    seen: dict[str, _Located] = {}
    problems = []
    for topic_file in files:
        for located in topic_file.positions:
            first = seen.setdefault(located.position.id, located)
            if first is not located and located.position.id:
                problems.append(BankProblem(
                    located.file, located.line, located.field,
                    f"duplicate id {located.position.id!r} (first at {first.file}:{first.line})",
                ))
    return problems


def _complete_sides(topic_file: _TopicFile) -> list[BankProblem]:
    """Every side of a topic needs exactly one preferred position to aim redlines at."""
    problems = []
    for side in Perspective:
        preferred = [p for p in topic_file.positions
                     if p.position.perspective is side and p.position.kind is Kind.PREFERRED]
        if not preferred and side not in topic_file.claimed:
            if side in topic_file.sides:
                file, line = topic_file.sides[side]
                problems.append(BankProblem(file, line, f"{side.value}.preferred",
                                            "missing field (every side needs one)"))
            else:
                problems.append(BankProblem(topic_file.file, topic_file.line, side.value,
                                            "missing field (every topic needs both sides)"))
        for extra in preferred[1:]:
            first = preferred[0]
            problems.append(BankProblem(
                extra.file, extra.line, extra.field,
                f"a second preferred position for {side.value} (the first is "
                f"{first.position.id!r} at {first.file}:{first.line}); to replace it, "
                "use its id",
            ))
    return problems


def _files(directory: Path, problems: list[BankProblem]) -> list[Path]:
    for stray in sorted(directory.glob("*.yml")):
        # Silently skipping a firm's file would drop its playbook positions without a word.
        problems.append(BankProblem(str(stray), 1, FILE, "bank files must end in .yaml"))
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())


def _read_directory(
    directory: Path, problems: list[BankProblem], overlay: bool = False
) -> list[_TopicFile]:
    if not directory.is_dir():
        problems.append(BankProblem(str(directory), 1, "(directory)", "no such directory"))
        return []
    paths = _files(directory, problems)
    files = [f for f in (_read_file(path, problems, overlay) for path in paths) if f]
    if not paths:
        problems.append(BankProblem(str(directory), 1, "(directory)", "no .yaml files"))
    seen: dict[str, _TopicFile] = {}
    for topic_file in files:
        first = seen.setdefault(topic_file.topic, topic_file)
        if first is not topic_file and topic_file.topic:
            problems.append(BankProblem(topic_file.file, topic_file.line, "topic",
                                        f"topic {topic_file.topic!r} also in {first.file}"))
    return files


def _merge(base: list[_TopicFile], overlay: list[_TopicFile],
           problems: list[BankProblem]) -> list[_TopicFile]:
    """Overlay positions replace base positions with the same id; new ones are added."""
    by_topic = {f.topic: f for f in base}
    home = {p.position.id: (f.topic, p) for f in base for p in f.positions}
    for layer in overlay:
        for located in layer.positions:
            topic, theirs = home.get(located.position.id, (layer.topic, located))
            if topic != layer.topic:
                problems.append(BankProblem(
                    located.file, located.line, located.field,
                    f"id {located.position.id!r} belongs to topic {topic!r} "
                    f"({theirs.file}:{theirs.line}); an overlay replaces a position in its own "
                    "topic's file",
                ))
        under = by_topic.get(layer.topic)
        if under is None:
            by_topic[layer.topic] = layer
            problems += _new_topic_fields(layer)
            continue
        replacing = {located.position.id: located for located in layer.positions}
        kept = [replacing.pop(p.position.id, p) for p in under.positions]
        by_topic[layer.topic] = replace(
            under,
            title=layer.title or under.title,
            summary=layer.summary or under.summary,
            positions=kept + list(replacing.values()),
            sides={**layer.sides, **under.sides},
            claimed=under.claimed | layer.claimed,
        )
    return list(by_topic.values())


def _new_topic_fields(layer: _TopicFile) -> list[BankProblem]:
    """A topic the bank lacks is added whole, so it needs what a bank file needs."""
    return [
        BankProblem(layer.file, layer.line, name, "missing field (a new topic needs it)")
        for name, value in (("title", layer.title), ("summary", layer.summary))
        if not value
    ]


def _rerank(positions: list[_Located]) -> tuple[Position, ...]:
    """Ranks follow the merged order, so an added fallback comes after the kept ones.

    The result is in playbook order (customer then vendor; preferred, fallbacks, unacceptable),
    so the same playbook gives an equal ClauseBank however its files were layered.
    """
    ranked: list[Position] = []
    counts: dict[tuple[Perspective, Kind], int] = {}
    for located in positions:
        p = located.position
        rank = counts[(p.perspective, p.kind)] = counts.get((p.perspective, p.kind), 0) + 1
        ranked.append(replace(p, rank=rank))
    sides, kinds = list(Perspective), list(Kind)
    ranked.sort(key=lambda p: (sides.index(p.perspective), kinds.index(p.kind), p.rank))
    return tuple(ranked)


def load_bank(directory: Path = BUILT_IN_BANK, overlay: Path | None = None) -> ClauseBank:
    """The bank in this directory, with an optional overlay; InvalidBank lists all problems."""
    problems: list[BankProblem] = []
    files = _read_directory(directory, problems)
    problems += _duplicate_ids(files)
    if overlay is not None:
        layers = _read_directory(overlay, problems, overlay=True)
        problems += _duplicate_ids(layers)
        files = _merge(files, layers, problems)
    for topic_file in files:
        problems += _complete_sides(topic_file)
    if problems:
        raise InvalidBank(problems)
    order = list(TOPICS)
    files.sort(key=lambda f: order.index(f.topic))
    return ClauseBank(tuple(
        Topic(f.topic, f.title, f.summary, _rerank(f.positions)) for f in files
    ))


def topic_yaml(topic: Topic) -> str:
    """One topic as a bank file in the documented schema (what `load_bank` reads back)."""
    document: dict[str, object] = {"topic": topic.id, "title": topic.title,
                                   "summary": topic.summary}
    for side in Perspective:
        positions = topic.side(side)
        mapping: dict[str, object] = {}
        for kind, key in ((Kind.PREFERRED, "preferred"), (Kind.FALLBACK, "fallbacks"),
                          (Kind.UNACCEPTABLE, "unacceptable")):
            records = [_position_mapping(p) for p in positions if p.kind is kind]
            if records:
                mapping[key] = records[0] if kind is Kind.PREFERRED else records
        document[side.value] = mapping
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=DUMP_WIDTH)


def _position_mapping(position: Position) -> dict[str, object]:
    return {"id": position.id, "label": position.label, "text": position.text,
            "reason": position.reason, "exemplars": list(position.exemplars)}
