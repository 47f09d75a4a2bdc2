"""`segflow build --select NAME ...`: publish new tables for some segments, the rest as it was.

A build is published whole (segflow/publication/publish.py): every published name switches to the new
slot in one transaction. So a selective build still builds the whole slot with dbt (every
model's tests and checks run on it as on any build), and before the slot is checked and
published, the segments outside the selection get their published tables back from the
published slot: their `seg_<name>` rows, and their rows of `segment_stats` and
`segment_catalog` (the catalog keeps their built definition's hash, so `segflow members`
knows a table that predates an edit). A `seg_<name>` built as a view (the default: a view of
the flags) becomes a view of a copy of the published rows, kept in the slot's own schema
`<slot>_kept` (`kept_schema`); one built as a table gets the published rows instead of its
own. Customers who have left the population since (erased,
blocked) are removed from the carried-over tables, and their `members`/`share` recounted:
erasure applies to every published table, and every member is in the published population.
"""

from __future__ import annotations

from dataclasses import dataclass

from segflow.errors import UserInputError
from segflow.publication.publish import kept_schema
from segflow.segments.project import SegmentProject
from segflow.warehouse import Warehouse


@dataclass(frozen=True)
class Selection:
    rebuilt: list[str]  # the selected segments and what they refer to
    carried: list[str]  # published as they were


def selection(project: SegmentProject, selected: list[str]) -> list[str]:
    """The selected segments and every segment they refer to, each after its references."""
    unknown = [n for n in selected if n not in project.segments]
    if unknown:
        known = ", ".join(sorted(project.segments)) or "none"
        raise UserInputError(f"--select: unknown segment {unknown[0]!r} (segments: {known})")
    out: list[str] = []
    for name in selected:
        out += [n for n in project.closure(name) if n not in out]
    return out


def _columns(wh: Warehouse, schema: str, table: str) -> list[str]:
    return wh.columns(schema, table) if wh.table_exists(schema, table) else []


def carry_over(
    wh: Warehouse, project: SegmentProject, selected: list[str], published: str, slot: str
) -> Selection:
    """Give every segment outside the selection its published tables back in `slot`."""
    rebuilt = selection(project, selected)
    carried: dict[str, list[str]] = {}  # name -> the columns of its seg_<name>
    for name in sorted(set(project.segments) - set(rebuilt)):
        table = f"seg_{name}"
        old = _columns(wh, published, table)
        if not old or old != _columns(wh, slot, table):
            rebuilt.append(name)  # new, or its kind changed: there is nothing to keep
            continue
        carried[name] = old
    kept = kept_schema(slot)
    if carried:
        wh.execute(f"create schema if not exists {kept}")
    with wh.transaction():
        for name, names in carried.items():
            table = f"seg_{name}"
            columns = ", ".join(names)
            rows = (
                f"select {columns} from {published}.{table} "
                f"where customer_id in (select customer_id from {slot}.dim_population)"
            )
            if wh.relation_kind(slot, table) == "VIEW":
                # A view of the flags: now a view of the published rows (the same columns,
                # so PostgreSQL keeps the views that depend on it).
                wh.execute(f"drop table if exists {kept}.{table}")
                wh.execute(f"create table {kept}.{table} as {rows}")
                wh.replace_view(slot, table, f"select {columns} from {kept}.{table}")
            else:
                # The table itself stays (PostgreSQL views depend on it); its rows are replaced.
                wh.execute(f"delete from {slot}.{table}")
                wh.execute(f"insert into {slot}.{table} ({columns}) {rows}")
            for summary in ("segment_stats", "segment_catalog"):
                columns = ", ".join(_columns(wh, slot, summary))
                wh.execute(f"delete from {slot}.{summary} where segment = ?", (name,))
                wh.execute(
                    f"insert into {slot}.{summary} ({columns}) select {columns} "
                    f"from {published}.{summary} where segment = ?",
                    (name,),
                )
            wh.execute(
                f"update {slot}.segment_stats set members = (select count(*) from "
                f"{slot}.{table}) where segment = ?",
                (name,),
            )
            wh.execute(
                f"update {slot}.segment_stats set share = cast(members as decimal(18, 6)) "
                "/ nullif(population, 0) where segment = ?",
                (name,),
            )
    return Selection(rebuilt, list(carried))
