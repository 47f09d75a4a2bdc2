"""All segments of a project together: references, tiers, cycles and static member lists."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from segflow.errors import UserInputError
from segflow.segments.conditions import (
    Path_,
    definition_hash,
    segment_conditions,
)
from segflow.segments.loader import Problem, SegmentFile, load_segment_file
from segflow.segments.model import (
    SegmentDefinition,
    SegmentLeaf,
)


@dataclass
class SegmentProject:
    """The valid segments by name, in dependency order, and every problem found."""

    segments: dict[str, SegmentFile] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def definition(self, name: str) -> SegmentDefinition:
        definition = self.segments[name].definition
        assert definition is not None
        return definition

    def definition_hash(self, name: str) -> str:
        """The hash of what decides the segment's membership, static list included."""
        return definition_hash(self.definition(name), self.segments[name].static_members)

    def references(self, name: str) -> list[str]:
        return sorted(
            {
                c.target[0]
                for c, _ in segment_conditions(self.definition(name))
                if isinstance(c, SegmentLeaf)
            }
        )

    def closure(self, name: str) -> list[str]:
        """`name` and every segment it refers to, each after the ones it refers to."""
        ordered: list[str] = []

        def visit(current: str) -> None:
            if current in ordered:
                return
            for ref in self.references(current):
                visit(ref)
            ordered.append(current)

        visit(name)
        return ordered

    def ordered(self) -> list[str]:
        out: list[str] = []
        for name in sorted(self.segments):
            for member in self.closure(name):
                if member not in out:
                    out.append(member)
        return out

    def raise_for_problems(self) -> None:
        if self.problems:
            raise UserInputError("\n".join(str(p) for p in self.problems))


def segment_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())


def load_project(folder: Path, extra: Path | None = None) -> SegmentProject:
    """Load `folder/*.yml`; `extra` (an unsaved definition) replaces the file of its name."""
    paths = segment_files(folder)
    if extra is not None:
        paths = [p for p in paths if p.stem != extra.stem] + [extra]
    project = SegmentProject()
    files: dict[str, SegmentFile] = {}
    for path in paths:
        loaded = load_segment_file(path)
        if loaded.name in files:
            project.problems.append(
                Problem(
                    loaded.display,
                    1,
                    "",
                    f"segment {loaded.name!r} is also defined in {files[loaded.name].display}",
                )
            )
            continue
        files[loaded.name] = loaded
        project.problems.extend(loaded.problems)
    valid = {n: f for n, f in files.items() if f.definition is not None}
    for loaded in valid.values():
        _check_static_members(loaded, folder)
        project.problems.extend(loaded.problems)
        _check_references(loaded, valid, files, project)
    _check_cycles(valid, project)
    project.segments = {n: f for n, f in sorted(valid.items()) if not f.problems}
    return project


def _check_static_members(loaded: SegmentFile, folder: Path) -> None:
    definition = loaded.definition
    assert definition is not None
    if definition.kind != "static":
        return
    if definition.members is not None:
        loaded.static_members = tuple(dict.fromkeys(m.strip() for m in definition.members))
        return
    path = (folder / str(definition.members_file)).resolve()
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if "customer_id" not in [h.strip() for h in reader.fieldnames or []]:
                raise ValueError("it has no column customer_id")
            ids = [
                (row.get("customer_id") or row.get(" customer_id") or "").strip() for row in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        loaded.problems.append(
            loaded.problem(
                ("members_file",), f"cannot read the member list {definition.members_file}: {exc}"
            )
        )
        return
    loaded.static_members = tuple(dict.fromkeys(i for i in ids if i))


def _check_references(
    loaded: SegmentFile,
    valid: dict[str, SegmentFile],
    files: dict[str, SegmentFile],
    project: SegmentProject,
) -> None:
    assert loaded.definition is not None
    for condition, path in segment_conditions(loaded.definition):
        if not isinstance(condition, SegmentLeaf):
            continue
        name, tier = condition.target
        key = (*path, "segment")
        if name not in files:
            problem = loaded.problem(key, f"unknown segment {name!r}")
        elif name not in valid:
            problem = loaded.problem(key, f"segment {name!r} has errors of its own")
        elif tier is not None and valid[name].definition.kind != "tiered":  # type: ignore[union-attr]
            problem = loaded.problem(
                key, f"segment {name!r} is not tiered: it has no tier {tier!r}"
            )
        elif tier is not None and tier not in [
            t.name
            for t in valid[name].definition.tiers or []  # type: ignore[union-attr]
        ]:
            problem = loaded.problem(key, f"segment {name!r} has no tier {tier!r}")
        else:
            continue
        loaded.problems.append(problem)
        project.problems.append(problem)


def _report_cycle(
    ring: list[str],
    graph: dict[str, list[tuple[str, Path_]]],
    valid: dict[str, SegmentFile],
    project: SegmentProject,
) -> None:
    """A cycle is a problem of every file on it, each at its reference to the next one, so
    that validating any one of the files reports it."""
    for i, member in enumerate(ring):
        following = ring[i + 1] if i + 1 < len(ring) else ring[0]
        path = next(p for target, p in graph[member] if target == following)
        order = [*ring[i:], *ring[:i], member]
        problem = valid[member].problem(path, "a cycle of references: " + " -> ".join(order))
        valid[member].problems.append(problem)
        project.problems.append(problem)


def _check_cycles(valid: dict[str, SegmentFile], project: SegmentProject) -> None:
    graph: dict[str, list[tuple[str, Path_]]] = {}
    for name, loaded in valid.items():
        assert loaded.definition is not None
        graph[name] = [
            (c.target[0], (*p, "segment"))
            for c, p in segment_conditions(loaded.definition)
            if isinstance(c, SegmentLeaf) and c.target[0] in valid
        ]
    reported: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(name: str, stack: list[str]) -> None:
        state[name] = 1
        for target, _ in graph[name]:
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    _report_cycle(cycle[:-1], graph, valid, project)
            elif state.get(target) is None:
                visit(target, [*stack, target])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
