"""Reading `syncs/*.yml` with line numbers, as segment files are read (same helpers, same
`file:line key.path: message` problems), and checking them against the segments."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from segflow.segments.loader import (
    Problem,
    _plain,
    _yaml,
    display_path,
    format_path,
    line_of,
    split_key,
)
from segflow.segments.project import SegmentProject
from segflow.sync.model import SyncDefinition

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
KNOWN_KEYS = sorted(SyncDefinition.model_fields)
RESERVED = {"run", "status", "schema"}  # subcommands of `segflow sync`


def syncs_dir() -> Path:
    """SEGFLOW_SYNCS (default `syncs`), relative to the working directory."""
    return Path(os.environ.get("SEGFLOW_SYNCS", "").strip() or "syncs").resolve()


@dataclass
class SyncFile:
    name: str
    display: str
    tree: Any = None
    definition: SyncDefinition | None = None
    problems: list[Problem] = field(default_factory=list)

    def problem(self, path: tuple[str | int, ...], message: str) -> Problem:
        return Problem(self.display, line_of(self.tree, path), format_path(path), message)


def sync_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml"))


def load_sync_file(path: Path) -> SyncFile:
    result = SyncFile(name=path.stem, display=display_path(path))
    try:
        result.tree = _yaml().load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        result.problems.append(Problem(result.display, 1, "", f"cannot read the file ({exc})"))
        return result
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = (exc.problem or exc.context or "invalid YAML").strip()
        line = mark.line + 1 if mark else 1
        result.problems.append(Problem(result.display, line, "", f"YAML: {reason}"))
        return result
    except YAMLError as exc:
        result.problems.append(Problem(result.display, 1, "", f"YAML: {exc}"))
        return result
    if not isinstance(result.tree, CommentedMap):
        message = "a sync file is a mapping of keys (segment, destination, list, ...)"
        result.problems.append(Problem(result.display, 1, "", message))
        return result
    if not NAME.match(result.name):
        message = (
            f"the file name {result.name!r} is no sync name: use lower-case letters, digits "
            "and _, starting with a letter"
        )
        result.problems.append(Problem(result.display, 1, "", message))
        return result
    if result.name in RESERVED:
        message = f"{result.name!r} is a `segflow sync` subcommand: name the sync otherwise"
        result.problems.append(Problem(result.display, 1, "", message))
        return result
    try:
        result.definition = SyncDefinition.model_validate(_plain(result.tree))
    except ValidationError as exc:
        result.problems.extend(_problems(exc, result))
    return result


def _problems(exc: ValidationError, file: SyncFile) -> list[Problem]:
    out: dict[str, Problem] = {}
    for error in exc.errors():
        loc: tuple[str | int, ...] = tuple(error["loc"])
        ctx = error.get("ctx") or {}
        kind, given = error["type"], error.get("input")
        if kind == "segflow":
            key = str(ctx["key"])
            # a field key may hold dots itself (properties.loyalty_tier)
            extra = ("fields", key[7:]) if key.startswith("fields.") else split_key(key)
            loc, message = loc + extra, str(ctx["message"])
        elif kind == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), KNOWN_KEYS, n=1)
            message = f"unknown key {loc[-1]!r}" + (
                f" (did you mean {close[0]!r}?)" if close else ""
            )
        elif kind == "missing":
            message = "required key missing"
        elif kind == "literal_error":
            message = f"expected one of {ctx.get('expected')}, got {given!r}"
        elif kind == "string_pattern_mismatch":
            message = f"{given!r} is no segment name (NAME or NAME.TIER)"
        else:
            message = str(error["msg"])
        problem = file.problem(loc, message)
        out.setdefault(str(problem), problem)
    return list(out.values())


@dataclass
class SyncProject:
    syncs: dict[str, SyncDefinition] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def load_syncs(folder: Path, segments: SegmentProject) -> SyncProject:
    """Every sync file of `folder`, checked on its own and against the valid segments."""
    project = SyncProject()
    for path in sync_files(folder):
        loaded = load_sync_file(path)
        definition = loaded.definition
        if definition is not None:
            loaded.problems += _check_segment(loaded, definition, segments)
        if loaded.problems:
            project.problems += loaded.problems
        elif definition is not None:
            project.syncs[loaded.name] = definition
    return project


def _check_segment(
    loaded: SyncFile, definition: SyncDefinition, segments: SegmentProject
) -> list[Problem]:
    name = definition.segment_name
    if name not in segments.segments or segments.segments[name].definition is None:
        close = difflib.get_close_matches(name, list(segments.segments), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return [loaded.problem(("segment",), f"no segment {name!r}{hint}")]
    segment = segments.definition(name)
    tiers = [t.name for t in segment.tiers or []]
    if definition.tier is not None and definition.tier not in tiers:
        known = ", ".join(tiers) if tiers else "none: it is not tiered"
        return [loaded.problem(("segment",), f"{name!r} has no tier {definition.tier!r} ({known})")]
    if "tier" in definition.fields.values() and not tiers:
        key = next(k for k, v in definition.fields.items() if v == "tier")
        return [loaded.problem(("fields", key), f"{name!r} has no tiers to send")]
    return []


def sync_problems(segments: SegmentProject) -> list[Problem]:
    """The problems of every sync file in SEGFLOW_SYNCS (for `segflow validate`)."""
    return load_syncs(syncs_dir(), segments).problems
