"""The run log the Operations dashboard reads: every build run with its outcome and every
failed check, copied from the Dagster instance into the warehouse when a build is published.

segflow_builds keeps only the latest unpublished build, and a failed run publishes nothing,
so the record of failures lives in Dagster's run storage; the publishing run copies it (the
dashboard shows a failure from the next publication on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from segflow.warehouse import Warehouse, tables

RUNS = tables.RUN_LOG.name
CHECKS = tables.CHECK_LOG.name


@dataclass(frozen=True)
class RunRow:
    run_id: str
    job: str
    day: date | None
    status: str  # published | not published | failed | canceled | running
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class CheckRow:
    run_id: str
    day: date | None
    check_name: str
    asset: str
    severity: str
    checked_at: datetime


def published_runs(wh: Warehouse) -> set[str]:
    """The runs whose build was published (segflow_builds keeps every published build)."""
    if not wh.table_exists(wh.output_schema, tables.BUILDS.name):
        return set()
    return {
        run_id
        for (run_id,) in wh.query(
            f"select run_id from {wh.qualified(tables.BUILDS)} where published_at is not null"
        )
    }


def write_run_log(wh: Warehouse, runs: list[RunRow], checks: list[CheckRow]) -> None:
    """Replace both tables with the given rows, in one transaction."""
    schema = wh.output_schema
    with wh.transaction():
        wh.ensure_tables(tables.RUN_LOGS)
        wh.execute(f"delete from {schema}.{RUNS}")
        wh.execute(f"delete from {schema}.{CHECKS}")
        for run in runs:
            wh.execute(
                f"insert into {schema}.{RUNS} values (?, ?, ?, ?, ?, ?)",
                (run.run_id, run.job, run.day, run.status, run.started_at, run.ended_at),
            )
        for check in checks:
            wh.execute(
                f"insert into {schema}.{CHECKS} values (?, ?, ?, ?, ?, ?)",
                (check.run_id, check.day, check.check_name, check.asset, check.severity,
                 check.checked_at),
            )  # fmt: skip
