"""The BI copy of the embedded warehouse, refreshed after each published build (group `bi`).

Downstream of the history step that publishes a build: when a run fails before publishing,
this step is skipped and Superset keeps reading the last published build.
"""

from datetime import UTC, date, datetime

import dagster as dg

from orchestration.assets.history import HISTORY_ASSETS
from orchestration.jobs import BUILD_JOB
from orchestration.resources import WarehouseResource, build_run_id
from segflow.bi.bifile import bi_duckdb_path, needs_bi_copy, publish_bi_file
from segflow.bi.runlog import CheckRow, RunRow, published_runs, write_run_log

BI_FILE = dg.AssetKey(["bi", "bi_duckdb"])
RUN_LOG_LIMIT = 200  # the latest build runs shown on the Operations dashboard
_STATUS = {dg.DagsterRunStatus.FAILURE: "failed", dg.DagsterRunStatus.CANCELED: "canceled"}


def _time(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC).replace(tzinfo=None) if value else None


def _day(run: dg.DagsterRun) -> date | None:
    partition = run.tags.get("dagster/partition")
    return date.fromisoformat(partition) if partition else None


def run_log(
    context: dg.AssetExecutionContext, published: set[str]
) -> tuple[list[RunRow], list[CheckRow]]:
    """The build runs of the instance and their failed checks. A run that succeeded was
    published if its build was (`published`: run ids from segflow_builds); a build of an
    older day records history without being published."""
    instance = context.instance
    records = instance.get_run_records(
        filters=dg.RunsFilter(job_name=BUILD_JOB), limit=RUN_LOG_LIMIT
    )
    runs, checks = [], []
    for record in records:
        run = record.dagster_run
        if run.run_id == context.run.run_id or run.status == dg.DagsterRunStatus.SUCCESS:
            status = "published" if build_run_id(run) in published else "not published"
        else:
            status = _STATUS.get(run.status, "running")
        runs.append(
            RunRow(run.run_id, run.job_name, _day(run), status,
                   _time(record.start_time), _time(record.end_time))
        )  # fmt: skip
        events = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        for event in events:
            evaluation = event.event_log_entry.dagster_event.event_specific_data
            if evaluation.passed:
                continue
            checks.append(
                CheckRow(run.run_id, _day(run), evaluation.check_name,
                         evaluation.asset_key.to_user_string(), evaluation.severity.value,
                         _time(event.event_log_entry.timestamp))
            )  # fmt: skip
    return runs, checks


@dg.asset(
    key=BI_FILE,
    deps=HISTORY_ASSETS,
    group_name="bi",
    kinds={"duckdb"},
    description="The build runs and failed checks for the Operations dashboard "
    "(segflow_run_log, segflow_check_log), and on the embedded warehouse a read-only copy of "
    "the published tables for Superset, replaced atomically (on PostgreSQL Superset reads the "
    "warehouse directly).",
)
def bi_duckdb(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings()
    with warehouse.connect() as wh:
        runs, checks = run_log(context, published_runs(wh))
        write_run_log(wh, runs, checks)
        if not needs_bi_copy(settings):
            return dg.MaterializeResult(
                metadata={"runs": len(runs), "on_postgres": "Superset reads the warehouse"}
            )
        target = bi_duckdb_path(settings)
        rows = publish_bi_file(wh, target)
    context.log.info(f"published {len(rows)} tables for BI to {target}")
    return dg.MaterializeResult(
        metadata={"path": str(target), "tables": len(rows), "runs": len(runs)}
    )
