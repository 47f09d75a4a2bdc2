"""Atomic publication of a build (spec: "a failed run leaves yesterday's tables as they were").

dbt builds every model into a private build schema, one of two slots used in turn; the
published names (`staging.stg_*`, `intermediate.int_*`, and the marts, segments and stats in
the output schema) are views on the published slot. Publishing a build switches every view
to the new slot, records the day's history and removes erased customers from it, all in one
transaction: until it commits, readers see yesterday's tables whole; if anything fails
before, nothing of the build is visible. The next build rebuilds the other slot from scratch.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from segflow.history.record import EVENTS, MEMBERSHIP_HISTORY, ensure_history_tables
from segflow.segments.daily import DAILY_SCHEMA
from segflow.warehouse import Warehouse, tables, utc_now

log = logging.getLogger(__name__)
SLOTS = ("segflow_a", "segflow_b")
BUILDS = tables.BUILDS.name  # one row per build: slot, run, day, when built and published
PUBLISHED = tables.PUBLISHED.name  # the views publishing made, to replace or drop


@dataclass(frozen=True)
class Build:
    slot: str
    run_id: str
    as_of: date


def kept_schema(slot: str) -> str:
    """Where a build in `slot` keeps the published rows of the segments `build --select`
    carries over (publication/selective.py): dropped with the slot."""
    return f"{slot}_kept"


def _ensure_tables(wh: Warehouse) -> None:
    wh.ensure_tables(tables.PUBLICATION)


def published_slot(wh: Warehouse) -> str | None:
    """The slot the published views read, if anything was published yet (what the views
    point at, not the newest publication time: clocks can step back)."""
    if not wh.table_exists(wh.output_schema, PUBLISHED):
        return None
    slots = wh.query(f"select distinct slot from {wh.output_schema}.{PUBLISHED}")
    return slots[0][0] if slots else None


def start_build(wh: Warehouse, resume: bool = False) -> str:
    """The slot that is not published, for dbt to build into: emptied, or with `resume` (a
    re-execution building the rest of its original run's models) kept as it is."""
    published = published_slot(wh)
    slot = SLOTS[1] if published == SLOTS[0] else SLOTS[0]
    if not resume:
        wh.drop_schema(slot)
        wh.drop_schema(kept_schema(slot))
    wh.execute(f"create schema if not exists {slot}")
    return slot


def record_build(wh: Warehouse, slot: str, run_id: str, as_of: date) -> None:
    """Note a complete build of `slot` by the run, waiting to be published."""
    _ensure_tables(wh)
    with wh.transaction():
        wh.execute(f"delete from {wh.output_schema}.{BUILDS} where published_at is null")
        wh.execute(
            f"insert into {wh.output_schema}.{BUILDS} (slot, run_id, as_of, built_at) "
            "values (?, ?, ?, ?)",
            (slot, run_id, as_of, utc_now()),
        )


def pending_build(wh: Warehouse, run_id: str) -> Build | None:
    """The build this run made and has not published yet (a `history`-only run has none)."""
    if not wh.table_exists(wh.output_schema, BUILDS):
        return None
    rows = wh.query(
        f"select slot, run_id, as_of from {wh.output_schema}.{BUILDS} "
        "where run_id = ? and published_at is null",
        (run_id,),
    )
    return Build(*rows[0]) if rows else None


def published_build(wh: Warehouse) -> Build | None:
    """The build the published views read (None before the first publication)."""
    slot = published_slot(wh)
    if slot is None or not wh.table_exists(wh.output_schema, BUILDS):
        return None
    rows = wh.query(
        f"select slot, run_id, as_of from {wh.output_schema}.{BUILDS} "
        "where slot = ? and published_at is not null order by published_at desc limit 1",
        (slot,),
    )
    return Build(*rows[0]) if rows else None


def supersedes(build: Build, published: Build | None) -> bool:
    """Whether `build` may replace the publication: readers always see the build with the
    newest as-of date, so a build of an older day (a late rebuild, `--as-of` in the past)
    records that day's history and leaves the publication where it is. The same day again
    publishes: it is today's knowledge of that day."""
    return published is None or build.as_of >= published.as_of


def model_relations(manifest: Path, output_schema: str) -> dict[str, str]:
    """Each dbt model's published name -> the schema it is published in: its configured
    schema (staging, intermediate) or the output schema, as the dbt project lays them out.
    The per-day aggregates are not in a slot: builds keep them up to date in place."""
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return {
        node["name"]: node["config"].get("schema") or output_schema
        for node in nodes
        if node["resource_type"] == "model"
        and node["config"]["materialized"] != "ephemeral"
        and node["config"].get("schema") != DAILY_SCHEMA
    }


def publish(wh: Warehouse, build: Build, relations: dict[str, str]) -> None:
    """Point every published name at the build's slot. Call inside a transaction."""
    _ensure_tables(wh)
    schema = wh.output_schema
    before = wh.query(f"select schema_name, relation from {schema}.{PUBLISHED}")
    for owner, relation in before:
        if relations.get(relation) != owner:  # a model that is gone, or has moved
            _drop(wh, owner, relation)
    for relation, owner in sorted(relations.items()):
        wh.execute(f"create schema if not exists {owner}")
        wh.replace_view(owner, relation, f"select * from {build.slot}.{relation}")
    wh.execute(f"delete from {schema}.{PUBLISHED}")
    for relation, owner in sorted(relations.items()):
        wh.execute(
            f"insert into {schema}.{PUBLISHED} (schema_name, relation, slot) values (?, ?, ?)",
            (owner, relation, build.slot),
        )
    wh.execute(
        f"update {schema}.{BUILDS} set published_at = ? where run_id = ? and slot = ?",
        (utc_now(), build.run_id, build.slot),
    )


def remove_erased_from_history(wh: Warehouse, build: Build) -> int:
    """Erasure applies to every day: drop erased customers' events and membership intervals
    (the recorded counts of hot_segment_history stay, docs/feeds.md)."""
    ensure_history_tables(wh)
    erased = f"select customer_id from {build.slot}.int_customers_erased"
    removed = 0
    for table in (EVENTS, MEMBERSHIP_HISTORY):
        name = f"{wh.output_schema}.{table}"
        removed += wh.scalar(f"select count(*) from {name} where customer_id in ({erased})")
        wh.execute(f"delete from {name} where customer_id in ({erased})")
    return removed


def reset(wh: Warehouse) -> None:
    """Forget every build and published view (a fresh `segflow demo`)."""
    if wh.table_exists(wh.output_schema, PUBLISHED):
        for owner, relation in wh.query(
            f"select schema_name, relation from {wh.output_schema}.{PUBLISHED}"
        ):
            _drop(wh, owner, relation)
    for slot in SLOTS:
        wh.drop_schema(slot)
        wh.drop_schema(kept_schema(slot))
    wh.drop_schema(DAILY_SCHEMA)
    for table in (BUILDS, PUBLISHED):
        wh.execute(f"drop table if exists {wh.output_schema}.{table}")


def _drop(wh: Warehouse, schema: str, relation: str) -> None:
    # A model built in place by an older segflow may have dependent views of its own models:
    # where the engine can, they go in the same statement (`drop_cascade`).
    kind = wh.relation_kind(schema, relation)
    if kind is not None:
        wh.drop_relation(schema, relation, kind)
