"""The recorded history read back: a hot segment's days, a past day's members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from segflow.errors import UserInputError
from segflow.segments.project import SegmentProject
from segflow.warehouse import Warehouse, tables


@dataclass(frozen=True)
class HistoryDay:
    day: date
    members: int
    revenue: Decimal
    orders: int
    entered: int
    exited: int


def read_history(wh: Warehouse, project: SegmentProject, name: str) -> list[HistoryDay]:
    if name not in project.segments:
        raise UserInputError(f"unknown segment {name!r}: see `segflow validate`")
    if not project.definition(name).hot:
        raise UserInputError(
            f"segment {name!r} is not hot: add `hot: true` to its file to record its history"
        )
    if not wh.table_exists(wh.output_schema, tables.HOT_HISTORY.name):
        return []
    rows = wh.query(
        f"select day, members, revenue, orders, entered, exited "
        f"from {wh.output_schema}.{tables.HOT_HISTORY.name} where segment = ? order by day",
        (name,),
    )
    return [HistoryDay(*row) for row in rows]


def recorded_members(
    wh: Warehouse, project: SegmentProject, name: str, day: date
) -> list[tuple[str, str | None]] | None:
    """The members on `day` from the membership history, when that day was recorded with the
    segment's current definition; None when it must be evaluated."""
    schema = wh.output_schema
    if not wh.table_exists(schema, tables.HISTORY_DAYS.name):
        return None
    recorded = wh.scalar(
        f"select count(*) from {schema}.{tables.HISTORY_DAYS.name} "
        "where segment = ? and day = ? and definition_hash = ?",
        (name, day, project.definition_hash(name)),
    )
    if not recorded:
        return None
    rows = wh.query(
        f"select customer_id, tier from {schema}.{tables.MEMBERSHIP_HISTORY.name} "
        "where segment = ? and valid_from <= ? and ? <= valid_to order by customer_id",
        (name, day, day),
    )
    return [(r[0], r[1]) for r in rows]
