"""The read-only DuckDB file Superset reads on the embedded warehouse (spec: dashboards).

Superset's DuckDB driver is < 2 and cannot open the warehouse file, and a connection it held
would block dbt (DuckDB allows one writer). So after each published build the public tables
are copied into a separate file written in DuckDB 1.4's storage format, next to it under a
temporary name and then renamed over the old one: Superset opens either yesterday's file or
today's, never a half-written one, and never a lock on the warehouse.
"""

from __future__ import annotations

import os
from pathlib import Path

from segflow.settings import Settings
from segflow.warehouse import Warehouse, engine_class, open_warehouse

STORAGE_VERSION = "v1.4.0"  # what Superset's duckdb (< 2) can read
# Bookkeeping of publication, and the syncs' records of contacts (e-mail addresses, sent
# values, the erasure salt): not for BI. `sync_runs` (counts only) is.
_SKIP = {"segflow_published_relations", "sync_contacts", "sync_remote", "sync_desired", "sync_salt"}


def needs_bi_copy(settings: Settings) -> bool:
    """Superset reads a copy where the warehouse is one file a reader would lock."""
    return engine_class(settings.target).single_file


def bi_duckdb_path(settings: Settings) -> Path:
    """SEGFLOW_BI_DUCKDB_PATH, by default `bi.duckdb` next to the warehouse file."""
    configured = os.environ.get("SEGFLOW_BI_DUCKDB_PATH", "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    return settings.duckdb_path.resolve().with_name("bi.duckdb")


def publish_bi_file(wh: Warehouse, target: Path) -> dict[str, int]:
    """Copy every relation of the output schema into `target` atomically; rows per table."""
    schema = wh.output_schema
    relations = [name for name in wh.relations_in(schema) if name not in _SKIP]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    rows = wh.copy_to_file(partial, schema, relations, STORAGE_VERSION)  # the old copy stays
    os.replace(partial, target)
    return rows


def refresh_bi_copy(settings: Settings) -> None:
    """Copy again outside a build (after the demo's sync dry runs); nothing on PostgreSQL,
    where Superset reads the warehouse itself."""
    if not needs_bi_copy(settings):
        return
    with open_warehouse(settings) as wh:
        publish_bi_file(wh, bi_duckdb_path(settings))
