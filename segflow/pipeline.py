"""Running the Dagster job in-process from the CLI, with short progress lines.

Runs go to the project's Dagster instance (DAGSTER_HOME), so `segflow build` runs show up in
the Dagster UI next to scheduled ones.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from segflow.errors import RunFailed, UserInputError
from segflow.settings import PROJECT_ROOT, Settings
from segflow.warehouse import Warehouse

DAGSTER_HOME = PROJECT_ROOT / ".dagster"
# One run at a time: DuckDB allows one writer, and a nightly run and a sensor's run must queue.
_DAGSTER_YAML = """# Settings of the project's Dagster instance.
telemetry:
  enabled: false
concurrency:
  runs:
    max_concurrent_runs: 1
"""


def ensure_dagster_home() -> Path:
    """Use the project's DAGSTER_HOME unless the environment names another one."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(DAGSTER_HOME)))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(_DAGSTER_YAML)
    return home


@dataclass
class RunOutcome:
    run_id: str
    materialized: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)


class _ProgressHandler(logging.Handler):
    """Turns Dagster's log records into one short line per step, asset and message."""

    def __init__(self) -> None:
        super().__init__()
        self.reported: set[tuple[str | None, str]] = set()

    def emit(self, record: logging.LogRecord) -> None:
        from dagster import DagsterEventType

        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        if event is None:
            if record.levelno >= logging.INFO:
                print(f"  {step}: {meta.get('orig_message', record.getMessage())}", file=sys.stderr)
            return
        kind = event.event_type
        if kind == DagsterEventType.STEP_START:
            print(f"- {step} …", file=sys.stderr)
        elif kind == DagsterEventType.ASSET_MATERIALIZATION:
            key = event.asset_key.to_user_string()
            if (meta.get("run_id"), key) not in self.reported:  # once, not once per day
                self.reported.add((meta.get("run_id"), key))
                print(f"  ✓ {key}", file=sys.stderr)
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            if not data.passed:
                print(
                    f"  ✗ check {data.check_name} on {data.asset_key.to_user_string()} failed",
                    file=sys.stderr,
                )
        elif kind == DagsterEventType.STEP_FAILURE:
            print(f"  ✗ {step} failed", file=sys.stderr)


def _progress_logger():
    import dagster as dg

    @dg.logger(description="Short progress lines for the segflow CLI.")
    def progress(_init_context):
        log = logging.getLogger("segflow.progress")
        log.setLevel(logging.DEBUG)  # step events are DEBUG records; the handler picks
        log.propagate = False
        if not log.handlers:
            log.addHandler(_ProgressHandler())
        return log

    return progress


def check_environment(settings: Settings) -> None:
    """Fail before a run starts when the landing folder or the warehouse is not there."""
    if not settings.landing_dir.is_dir():
        raise UserInputError(
            f"the landing folder {settings.landing_dir} does not exist: set SEGFLOW_LANDING "
            "or run `segflow demo` to make one"
        )
    Warehouse(settings).close()


def run_build(
    settings: Settings,
    as_of: date | None = None,
    accept: tuple[str, ...] = (),
    select: list[str] | None = None,
) -> RunOutcome:
    """Ingest new deliveries, build every dbt model as of D and record D's segment history
    (backfilling new hot segments), in this process: the `build` job's partition D. With
    `select`, only those segments (and what they refer to) get new tables and history."""
    check_environment(settings)
    from orchestration.jobs import BUILD_JOB, build_run_config, history_run_config

    day = as_of or settings.today()
    _check_partition(settings, day, day)
    job = job_for(settings, BUILD_JOB)
    run_config = build_run_config(
        _ingestion_op_names(job), as_of=day, accept=accept, select=tuple(select or ())
    )
    history = None
    if select:
        from segflow.segments.project import load_project
        from segflow.selective import selection

        history = selection(load_project(settings.segments_dir), list(select))
    run_config["ops"].update(history_run_config(history)["ops"])
    return _execute(job, run_config, {"dagster/partition": day.isoformat()})


def run_history(
    settings: Settings, first: date, last: date, segments: list[str] | None = None
) -> RunOutcome:
    """Record segment history for the days [first, last] in one run of the `history` job
    (what a backfill in the Dagster UI runs): one process, no dbt start-up per day."""
    check_environment(settings)
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from orchestration.jobs import HISTORY_JOB, history_run_config

    _check_partition(settings, first, last)
    if first == last:
        tags = {"dagster/partition": first.isoformat()}
    else:
        tags = {
            ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
        }
    config = history_run_config(segments, auto_backfill=False)
    return _execute(job_for(settings, HISTORY_JOB), config, tags)


def _check_partition(settings: Settings, first: date, last: date) -> None:
    if last < first:
        raise UserInputError(f"--from {first} is after --to {last}")
    if first < settings.history_start:
        raise UserInputError(
            f"{first} is before the first daily partition {settings.history_start} "
            "(set SEGFLOW_HISTORY_START to an earlier date)"
        )
    today = settings.today()
    if last > today:
        raise UserInputError(f"{last} is in the future: the last partition is today, {today}")


def job_for(settings: Settings, name: str):
    """The project's job `name`, with the progress logger the CLI's runs print through."""
    ensure_dagster_home()
    from orchestration.definitions import build_definitions

    job = build_definitions(settings).resolve_job_def(name)
    return job.with_logger_defs({"progress": _progress_logger()})


def _refuse_if_running(instance) -> None:
    """One run at a time: the instance's run queue holds scheduled and sensor runs while a CLI
    run is in progress, but a CLI run starts at once, so it checks for them itself."""
    import dagster as dg
    from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

    running = instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES), limit=1)
    if running:
        run = running[0]
        raise UserInputError(
            f"run {run.run_id} of the `{run.job_name}` job is in progress ({run.status.value}): "
            "wait for it, or terminate it in the Dagster UI (Runs) if its process has died"
        )


def _execute(job, run_config: dict, tags: dict[str, str]) -> RunOutcome:
    import dagster as dg

    run_config = {**run_config, "loggers": {"progress": {}}}
    with dg.DagsterInstance.get() as instance:
        _refuse_if_running(instance)
        result = job.execute_in_process(
            run_config=run_config, instance=instance, tags=tags, raise_on_error=False
        )
    outcome = RunOutcome(run_id=result.run_id)
    blocking: list[str] = []
    for event in result.all_events:
        if event.is_step_materialization:
            key = event.asset_key.to_user_string()
            if key not in outcome.materialized:
                outcome.materialized.append(key)
        if (
            event.event_type_value == "ASSET_CHECK_EVALUATION"
            and not event.event_specific_data.passed
        ):
            check = event.event_specific_data
            outcome.failed_checks.append(check.check_name)
            if check.severity == dg.AssetCheckSeverity.ERROR:
                blocking.append(
                    f"{check.check_name} on {check.asset_key.to_user_string()}: "
                    f"{check.description or 'failed'}"
                )
    if not result.success:
        if blocking:  # say what the data got wrong, not only which step stopped
            raise RunFailed("check failed, nothing was published: " + "; ".join(blocking))
        raise RunFailed(_failure_message(result))
    return outcome


def _ingestion_op_names(job) -> list[str]:
    return [name for name in job.graph.node_dict if name.startswith("raw__")]


def _failure_message(result) -> str:
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        if data.user_failure_data and data.user_failure_data.description:
            detail = data.user_failure_data.description
        else:
            error = data.error
            while error is not None and error.cause is not None:  # the user code's own error
                error = error.cause
            detail = error.message.strip().splitlines()[0] if error else "unknown"
            detail = (
                detail.split(": ", 1)[-1] if detail.startswith(("segflow.", "dagster")) else detail
            )
        return f"step {event.step_key} failed: {detail}"
    return "the run failed"
