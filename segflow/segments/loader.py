"""Reading segment files as YAML 1.2, keeping line numbers for `file:line key.path: message`."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from segflow.segments.fields import COMPARISONS
from segflow.segments.model import NAME_PATTERN, SegmentDefinition
from segflow.segments.placement import known, misplaced

MAX_SEGMENT_NAME = 59  # seg_<name> within PostgreSQL's 63-character identifiers
KNOWN_KEYS = sorted(
    {
        *SegmentDefinition.model_fields,
        "all",
        "any",
        "not",
        "profile",
        "attribute",
        "metric",
        "segment",
        "where",
        "window",
        "event",
        "last",
        "from",
        "to",
        "when",
        "events",
        *COMPARISONS,
    }
    - {"in_", "is_", "not_", "from_"}
)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a segment file, as the user should read it."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where} {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass
class SegmentFile:
    """A parsed segment file: its definition (when valid) and the YAML tree for line numbers."""

    name: str
    path: Path
    display: str
    tree: Any
    definition: SegmentDefinition | None = None
    problems: list[Problem] = field(default_factory=list)
    static_members: tuple[str, ...] = ()

    def line_of(self, path: tuple[str | int, ...]) -> int:
        return line_of(self.tree, path)

    def problem(self, path: tuple[str | int, ...], message: str) -> Problem:
        return Problem(self.display, self.line_of(path), format_path(path), message)


class _Constructor(RoundTripConstructor):
    """YAML 1.2 round-trip loading where an impossible calendar date (2025-02-30) stays text,
    for validation to report with its file, line and key instead of failing the whole load."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except ValueError:
            return self.construct_scalar(node)


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.version = (1, 2)  # yes/no/on/off are plain strings
    yaml.allow_duplicate_keys = False
    return yaml


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_segment_file(path: Path) -> SegmentFile:
    display = display_path(path)
    name = path.stem
    result = SegmentFile(name=name, path=path, display=display, tree=None)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        result.problems.append(Problem(display, 1, "", f"cannot read the file ({exc})"))
        return result
    try:
        tree = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = _yaml_reason(exc, mark)
        result.problems.append(Problem(display, line, "", f"YAML: {reason}"))
        return result
    except YAMLError as exc:
        result.problems.append(Problem(display, 1, "", f"YAML: {exc}"))
        return result
    result.tree = tree
    if not isinstance(tree, CommentedMap):
        result.problems.append(
            Problem(display, 1, "", "a segment file is a mapping of keys (title, rules, ...)")
        )
        return result
    if not re.fullmatch(NAME_PATTERN, name):
        result.problems.append(
            Problem(
                display,
                1,
                "",
                f"the file name {name!r} is no segment "
                "name: use lower-case letters, digits "
                "and _, starting with a letter",
            )
        )
        return result
    if len(name) > MAX_SEGMENT_NAME:
        result.problems.append(
            Problem(
                display,
                1,
                "",
                f"the segment name {name!r} is longer "
                f"than {MAX_SEGMENT_NAME} characters: seg_<name> must fit "
                "PostgreSQL's 63-character names",
            )
        )
        return result
    try:
        definition = SegmentDefinition.model_validate(_plain(tree))
    except ValidationError as exc:
        result.problems.extend(_problems_from(exc, result))
        return result
    if definition.name is not None and definition.name != name:
        result.problems.append(
            result.problem(
                ("name",),
                f"must equal the file name {name!r} (renaming a file makes a new segment)",
            )
        )
        return result
    result.definition = definition
    return result


def _yaml_reason(exc: MarkedYAMLError, mark: Any) -> str:
    """The YAML parser's complaint, in words for the usual causes."""
    reason = (exc.problem or exc.context or "invalid YAML").strip()
    if "'\\t'" in reason or "\t" in reason:
        column = f" (column {mark.column + 1})" if mark else ""
        return f"a tab character{column}: YAML indents with spaces only, replace it with spaces"
    if reason.startswith("expected <block end>") or "mapping values are not allowed" in reason:
        return (
            f"{reason}: this line's indentation does not line up with the lines above it "
            "(keys of one mapping start in the same column)"
        )
    return reason


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers as plain dicts and lists."""
    if isinstance(node, CommentedMap):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    return node


def line_of(tree: Any, path: tuple[str | int, ...]) -> int:
    """The 1-based line of the deepest part of `path` present in the YAML tree."""
    line = 0
    node = tree
    for part in path:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0]
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0]
            node = node[part]
        else:
            break
    return line + 1


def format_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def split_key(key: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for piece in key.split("."):
        match = re.fullmatch(r"([^\[]*)((?:\[\d+\])*)", piece)
        assert match
        if match.group(1):
            parts.append(match.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", match.group(2)))
    return tuple(parts)


def _problems_from(exc: ValidationError, file: SegmentFile) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("@")))
        ctx = error.get("ctx") or {}
        if error["type"] == "segflow" and ctx.get("key"):
            loc = loc + split_key(ctx["key"])
        problem = file.problem(loc, _message(dict(error), loc, file.tree))
        if str(problem) not in seen:
            seen.add(str(problem))
            problems.append(problem)
    return problems


def _message(error: dict, loc: tuple[str | int, ...], tree: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "segflow":
        return str(ctx.get("message", error["msg"]))
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        if known(key):  # a key of the language in the wrong place
            return misplaced(tree, loc) or f"{key!r} does not belong here"
        close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
        return f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind == "missing":
        return "required key missing"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected')}, got {given!r}"
    if kind == "string_pattern_mismatch":
        return (
            f"{given!r} is no valid name: lower-case letters, digits and _, starting with a "
            "letter, at most 63 characters (NAME or NAME.TIER for a segment reference)"
        )
    if kind in ("too_short", "list_too_short"):
        return "must not be empty"
    if kind == "list_type":
        return "expected a list"
    if kind == "dict_type" or kind == "model_type":
        return "expected a mapping"
    if kind in ("string_type", "str_type"):
        return "expected text"
    if kind == "bool_type" or kind == "bool_parsing":
        return "expected true or false"
    return str(error["msg"])
