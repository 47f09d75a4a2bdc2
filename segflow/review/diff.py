"""The impact of a change to the segments: both sides evaluated on the warehouse, nothing built.

The base side's definitions come from git (`gitref.py`), the other side is the working tree.
Both are evaluated as of one D with the SQL of the build (`segments/evaluate.py`): one query
per side computes every listed segment (and what it refers to) in one pass, so the answer
takes about as long as one preview.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from segflow.errors import UserInputError
from segflow.evaluation.queries import BASE_RELATIONS, require_built, with_clause
from segflow.review import gitref
from segflow.segments.loader import Problem
from segflow.segments.project import SegmentProject, load_project, segment_files
from segflow.segments.sql import date_literal, direct_context, population_sql
from segflow.settings import Settings
from segflow.sync.loader import syncs_dir
from segflow.warehouse import Warehouse

EXAMPLES = 10
STATUSES = ("changed", "added", "removed", "affected")

Members = dict[str, str | None]  # customer_id -> tier (None for untiered segments)


@dataclass
class Side:
    """One side of the comparison: its segment files, the valid project and its problems."""

    label: str
    project: SegmentProject
    texts: dict[str, str]  # segment name -> file text (every file, valid or not)
    syncs: dict[str, str | None]  # sync name -> its `segment` (NAME or NAME.TIER)

    def problems_of(self, name: str) -> list[str]:
        return [str(p) for p in self.project.problems if Path(p.file).stem == name]

    def valid(self, name: str) -> bool:
        return name in self.project.segments


@dataclass
class SegmentImpact:
    segment: str
    status: str
    before: int | None
    after: int | None
    added: int
    removed: int
    examples_added: list[str]
    examples_removed: list[str]
    tier_changes: int = 0
    revenue_share_before: float | None = None
    revenue_share_after: float | None = None
    problems_before: list[str] = field(default_factory=list)
    problems_after: list[str] = field(default_factory=list)
    because_of: list[str] = field(default_factory=list)  # for `affected`: the changed segments

    @property
    def invalid(self) -> bool:
        return bool(self.problems_before or self.problems_after)

    @property
    def change(self) -> int | None:
        if self.invalid or (self.before is None and self.after is None):
            return None
        return (self.after or 0) - (self.before or 0)


@dataclass
class SyncImpact:
    sync: str
    segment_before: str | None
    segment_after: str | None
    adds: int
    removes: int


@dataclass
class Diff:
    base: str
    commit: str
    as_of: date
    warehouse: str
    segments: list[SegmentImpact]
    syncs: list[SyncImpact]


# -- reading both sides ---------------------------------------------------------------------


def _texts(folder: Path) -> dict[str, str]:
    out = {}
    for path in segment_files(folder):
        try:
            out[path.stem] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            out[path.stem] = ""  # unreadable: the loader reports it
    return out


def _syncs(folder: Path) -> dict[str, str | None]:
    """Each sync's segment, read leniently: a broken sync file is validated elsewhere."""
    out: dict[str, str | None] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.y*ml")):
        try:
            tree = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, YAMLError):
            tree = None
        segment = tree.get("segment") if isinstance(tree, dict) else None
        out[path.stem] = str(segment).strip() if segment else None
    return out


def _relabel(project: SegmentProject, folder: Path, label: str) -> None:
    """Problems of the base side name the file as `REF:path` instead of a temporary path."""
    prefixes = {str(folder), str(folder.resolve())}  # however the loader named the file

    def fix(problem: Problem) -> Problem:
        for prefix in prefixes:
            if problem.file.startswith(prefix + "/"):
                return dataclasses.replace(problem, file=label + problem.file[len(prefix) :])
        return problem

    project.problems = [fix(p) for p in project.problems]
    for loaded in project.segments.values():
        loaded.problems = [fix(p) for p in loaded.problems]


def read_sides(settings: Settings, base: str) -> tuple[str, Side, Side]:
    """The commit of `base`, and the base and working-tree sides."""
    folder = settings.segments_dir
    if not folder.is_dir():
        raise UserInputError(f"the segments folder {folder} does not exist")
    root = gitref.repo_root(folder)
    commit = gitref.resolve_commit(base, root)
    seg_path = gitref.relative_to_repo(folder, root)
    sync_folder = syncs_dir()
    with tempfile.TemporaryDirectory(prefix="segflow-diff-") as tmp:
        base_folder = gitref.export_folder(commit, seg_path, root, Path(tmp) / "segments")
        base_project = load_project(base_folder)
        _relabel(base_project, base_folder, f"{base}:{seg_path}")
        base_texts = _texts(base_folder)
        base_syncs: dict[str, str | None] = {}
        try:
            sync_path = gitref.relative_to_repo(sync_folder, root)
        except UserInputError:
            sync_path = None
        if sync_path is not None:
            base_syncs = _syncs(gitref.export_folder(commit, sync_path, root, Path(tmp) / "syncs"))
    head = Side("working tree", load_project(folder), _texts(folder), _syncs(sync_folder))
    return commit, Side(base, base_project, base_texts, base_syncs), head


# -- what differs ---------------------------------------------------------------------------


def _hash(side: Side, name: str) -> str | None:
    return side.project.definition_hash(name) if side.valid(name) else None


def _references(side: Side, name: str) -> set[str]:
    return set(side.project.closure(name)) - {name} if side.valid(name) else set()


def classify(base: Side, head: Side) -> dict[str, str]:
    """segment -> status, for every segment that differs or whose meaning changed."""
    status: dict[str, str] = {}
    for name in sorted(set(base.texts) | set(head.texts)):
        if name not in base.texts:
            status[name] = "added"
        elif name not in head.texts:
            status[name] = "removed"
        elif base.texts[name] != head.texts[name] or (
            base.valid(name) and head.valid(name) and _hash(base, name) != _hash(head, name)
        ):  # the text, or what it reads besides (a static member list), changed
            status[name] = "changed"
    direct = set(status)
    for name in sorted(set(base.texts) & set(head.texts) - direct):
        refs = _references(base, name) | _references(head, name)
        if refs & direct or base.valid(name) != head.valid(name):
            status[name] = "affected"
    return status


# -- evaluation -----------------------------------------------------------------------------


def evaluate_side(
    wh: Warehouse, project: SegmentProject, names: list[str], as_of: date
) -> tuple[dict[str, Members], dict[str, Decimal]]:
    """Members (with tier) and the members' revenue up to D of each named segment."""
    members: dict[str, Members] = {n: {} for n in names}
    revenue: dict[str, Decimal] = {n: Decimal(0) for n in names}
    if not names:
        return members, revenue
    _, _, ctes = with_clause(project, names, as_of, dialect=wh.dialect)
    d = date_literal(as_of)
    parts = []
    for name in names:
        tier = "tier" if project.definition(name).kind == "tiered" else "cast(null as varchar)"
        parts.append(
            f"select '{name}' as segment, m.customer_id, {tier} as tier, r.revenue "
            f"from seg__{name} as m left join revenue as r on r.customer_id = m.customer_id"
        )
    sql = (
        f"{ctes},\nrevenue as (\n select customer_id, sum(amount) as revenue "
        f"from {BASE_RELATIONS['int_sales_lines']} where occurred_on <= {d} "
        "group by customer_id\n)\n" + "\nunion all\n".join(parts)
    )
    for segment, customer, tier, amount in wh.query(sql):
        members[segment][customer] = tier
        revenue[segment] += Decimal(amount or 0)
    return members, revenue


def population_figures(wh: Warehouse, as_of: date) -> tuple[Decimal, set[str]]:
    """The population's revenue up to D, and who in it could be e-mailed (opted in, with an
    address): what a sync's list is made of."""
    ctx = direct_context(as_of, dict(BASE_RELATIONS), wh.dialect)
    d = date_literal(as_of)
    total = wh.scalar(
        f"with population as ({population_sql(ctx)})\n"
        f"select coalesce(sum(l.amount), 0) from {BASE_RELATIONS['int_sales_lines']} as l "
        f"join population as p on p.customer_id = l.customer_id where l.occurred_on <= {d}"
    )
    reachable = {
        r[0]
        for r in wh.query(
            f"with population as ({population_sql(ctx)})\nselect customer_id from population "
            "where email_opt_in and email is not null"
        )
    }
    return Decimal(total or 0), reachable


def default_as_of(wh: Warehouse) -> date:
    """The date of the published build."""
    require_built(wh)
    schema = wh.output_schema
    day = None
    if wh.table_exists(schema, "dim_population"):
        day = wh.scalar(f"select max(as_of) from {schema}.dim_population")
    if day is None and wh.table_exists(schema, "segflow_builds"):
        day = wh.scalar(
            f"select max(as_of) from {schema}.segflow_builds where published_at is not null"
        )
    if day is None:
        raise UserInputError("no published build to take D from: pass --as-of D")
    return day


def _sync_list(
    target: str | None, side: Side, members: dict[str, Members], reachable: set[str]
) -> set[str]:
    if not target:
        return set()
    name, _, tier = target.partition(".")
    if name not in members:
        return set()
    return {c for c, t in members[name].items() if (not tier or t == tier) and c in reachable}


def compute(
    wh: Warehouse, settings: Settings, base_ref: str, as_of: date | None, where: str
) -> Diff:
    commit, base, head = read_sides(settings, base_ref)
    status = classify(base, head)
    day = as_of or default_as_of(wh)
    require_built(wh)
    changed_syncs = {
        s
        for s in set(base.syncs) | set(head.syncs)
        if base.syncs.get(s) != head.syncs.get(s)
        or any(
            (t or "").partition(".")[0] in status for t in (base.syncs.get(s), head.syncs.get(s))
        )
    }

    def wanted(side: Side) -> list[str]:
        names = {n for n in status if side.valid(n)}
        names |= {
            t.partition(".")[0]
            for s in changed_syncs
            if (t := side.syncs.get(s)) and side.valid(t.partition(".")[0])
        }
        return sorted(names)

    before, rev_before = evaluate_side(wh, base.project, wanted(base), day)
    after, rev_after = evaluate_side(wh, head.project, wanted(head), day)
    total, reachable = population_figures(wh, day)

    def share(revenue: dict[str, Decimal], name: str) -> float | None:
        if name not in revenue:
            return None
        return float(revenue[name] / total) if total else 0.0

    impacts = []
    for name, state in status.items():
        old, new = before.get(name), after.get(name)
        old_ids, new_ids = set(old or {}), set(new or {})
        added, removed = sorted(new_ids - old_ids), sorted(old_ids - new_ids)
        if (name in base.texts and old is None) or (name in head.texts and new is None):
            added, removed = [], []  # an invalid side has no members to compare with
        impacts.append(
            SegmentImpact(
                segment=name,
                status=state,
                before=None if old is None else len(old),
                after=None if new is None else len(new),
                added=len(added),
                removed=len(removed),
                examples_added=added[:EXAMPLES],
                examples_removed=removed[:EXAMPLES],
                tier_changes=sum(1 for c in old_ids & new_ids if old[c] != new[c])
                if old is not None and new is not None
                else 0,
                revenue_share_before=share(rev_before, name),
                revenue_share_after=share(rev_after, name),
                problems_before=base.problems_of(name) if name in base.texts else [],
                problems_after=head.problems_of(name) if name in head.texts else [],
                because_of=sorted((_references(base, name) | _references(head, name)) & set(status))
                if state == "affected"
                else [],
            )
        )
    order = {s: i for i, s in enumerate(STATUSES)}
    impacts.sort(key=lambda i: (order[i.status], i.segment))
    syncs = []
    for sync in sorted(changed_syncs):
        old_list = _sync_list(base.syncs.get(sync), base, before, reachable)
        new_list = _sync_list(head.syncs.get(sync), head, after, reachable)
        if old_list != new_list:
            syncs.append(
                SyncImpact(
                    sync,
                    base.syncs.get(sync),
                    head.syncs.get(sync),
                    len(new_list - old_list),
                    len(old_list - new_list),
                )
            )
    return Diff(base_ref, commit, day, where, impacts, syncs)
