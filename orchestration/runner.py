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
from typing import TextIO

from segflow.errors import RunFailed, UserInputError
from segflow.settings import PROJECT_ROOT, Settings
from segflow.warehouse import open_warehouse

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
    log_path: Path | None = None


def _stage(step: str) -> str:
    """A step's name as the terminal shows it."""
    if step.startswith("raw__"):
        return f"ingest {step[5:]}"
    return {
        "segflow_dbt_models": "dbt build",
        "segment_history": "history and publication",
        "hot_segment_backfill": "hot-segment backfill",
    }.get(step, step)


# A start line, then their progress.
_LONG_STAGES = ("segflow_dbt_models", "segment_history", "hot_segment_backfill")


class _ProgressHandler(logging.Handler):
    """One line per stage on the terminal (a bar for dbt's models and tests when it is a
    terminal), failures and warnings as they happen; everything, dbt's own log included, in
    the run's log file."""

    def __init__(self) -> None:
        super().__init__()
        self.log_file: TextIO | None = None
        self.start_run(0)

    def start_run(self, dbt_nodes: int) -> None:
        """Fresh counts for a run; `dbt_nodes`: the models and tests dbt will run (the bar)."""
        self.dbt_nodes = dbt_nodes
        self.dbt_done = 0
        self.checks_passed = 0
        self.checks_failed = 0  # blocking: nothing is published
        self.checks_warned = 0
        self.tty = sys.stderr.isatty()

    def _say(self, text: str) -> None:
        self._end_bar()
        print(text, file=sys.stderr)

    def _end_bar(self) -> None:
        if self.tty and self.dbt_done and self.dbt_done < self.dbt_nodes:
            print(file=sys.stderr)
            self.dbt_done = self.dbt_nodes  # the bar is finished (or abandoned)

    def _bar(self) -> None:
        if not self.tty or not self.dbt_nodes:
            return
        width = 30
        done = min(self.dbt_done, self.dbt_nodes)
        filled = width * done // self.dbt_nodes
        print(
            f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{self.dbt_nodes} models and tests",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def emit(self, record: logging.LogRecord) -> None:
        from dagster import DagsterEventType

        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key") or ""
        message = meta.get("orig_message", record.getMessage())
        if self.log_file is not None:
            self.log_file.write(f"{record.levelname:<7} {step or '-'}: {message}\n")
            self.log_file.flush()
        if event is None:
            if message.startswith("Dependencies for step"):  # every step after a failure: noise
                return
            if record.levelno >= logging.WARNING:
                self._say(
                    f"  {'warning' if record.levelno == logging.WARNING else 'error'}: {message}"
                )
            elif step in ("segment_history", "hot_segment_backfill"):  # what was recorded
                self._say(f"  {message}")
            return
        kind = event.event_type
        if kind == DagsterEventType.STEP_START and step in _LONG_STAGES:
            self._say(f"- {_stage(step)} …")
        elif kind == DagsterEventType.ASSET_MATERIALIZATION:
            key = event.asset_key.to_user_string()
            if step == "segflow_dbt_models":
                self.dbt_done += 1
                self._bar()
            elif key.startswith("raw/"):
                data = event.event_specific_data.materialization.metadata
                loaded = data["files_loaded"].value
                news = (
                    f"{loaded} new file{'s' if loaded != 1 else ''}, "
                    f"{data['rows_loaded'].value:,} rows loaded, "
                    f"{data['rows_quarantined'].value:,} quarantined"
                    if loaded
                    else "no new files"
                )
                self._say(f"✓ {_stage(step)}: {news}")
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            if step == "segflow_dbt_models":
                self.dbt_done += 1
                self._bar()
            elif data.passed:
                self.checks_passed += 1
            elif data.severity.value == "ERROR":
                self.checks_failed += 1
            else:
                self.checks_warned += 1
            if not data.passed:
                self._say(
                    f"  ✗ check {data.check_name} on {data.asset_key.to_user_string()} failed"
                    + (f": {data.description}" if data.description else "")
                )
        elif kind == DagsterEventType.STEP_SUCCESS and step == "segflow_dbt_models":
            self._end_bar()
            self._say(f"✓ dbt build: {self.dbt_done} models and tests")
        elif kind == DagsterEventType.STEP_FAILURE and "_gx_" not in step:  # checks: said above
            self._say(f"✗ {_stage(step)} failed")


_PROGRESS = _ProgressHandler()  # one per process: Dagster builds the logger per run


def _progress_logger():
    import dagster as dg

    @dg.logger(description="Short progress lines for the segflow CLI.")
    def progress(_init_context):
        log = logging.getLogger("segflow.progress")
        log.setLevel(logging.DEBUG)  # step events are DEBUG records; the handler picks
        log.propagate = False
        if _PROGRESS not in log.handlers:
            log.addHandler(_PROGRESS)
        return log

    return progress


def check_environment(settings: Settings) -> None:
    """Fail before a run starts when the landing folder or the warehouse is not there."""
    if not settings.landing_dir.is_dir():
        raise UserInputError(
            f"the landing folder {settings.landing_dir} does not exist: set SEGFLOW_LANDING "
            "or run `segflow demo` to make one"
        )
    open_warehouse(settings).close()


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
        from segflow.publication.selective import selection
        from segflow.segments.project import load_project

        history = selection(load_project(settings.segments_dir), list(select))
    run_config["ops"].update(history_run_config(history)["ops"])
    return _execute(settings, job, run_config, {"dagster/partition": day.isoformat()})


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
    config = history_run_config(segments)
    return _execute(settings, job_for(settings, HISTORY_JOB), config, tags)


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


# The code location `dagster dev` loads (pyproject.toml, [tool.dagster]): runs tagged with it
# are runs of the job the UI shows, listed under Jobs -> build -> Runs.
CODE_LOCATION = "segflow"
REPOSITORY = "__repository__"  # the repository a Definitions object becomes


def _log_path(job_name: str) -> Path:
    from datetime import datetime

    folder = ensure_dagster_home() / "logs"
    folder.mkdir(exist_ok=True)
    return folder / f"{job_name}-{datetime.now():%Y%m%d-%H%M%S}.log"


def _dbt_node_count(settings: Settings) -> int:
    import json

    from segflow.dbt import manifest_path

    path = manifest_path(settings.dbt_project_dir)
    if not path.exists():
        return 0
    nodes = json.loads(path.read_text())["nodes"].values()
    return sum(n["resource_type"] in ("model", "test", "seed", "snapshot") for n in nodes)


def _execute(settings: Settings, job, run_config: dict, tags: dict[str, str]) -> RunOutcome:
    import contextlib

    import dagster as dg
    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

    run_config = {**run_config, "loggers": {"progress": {}}}
    tags = {**tags, REPOSITORY_LABEL_TAG: f"{REPOSITORY}@{CODE_LOCATION}"}
    log_path = _log_path(job.name)
    progress = _PROGRESS
    progress.start_run(_dbt_node_count(settings))
    with dg.DagsterInstance.get() as instance, log_path.open("w") as log:
        _refuse_if_running(instance)
        progress.log_file = log
        try:  # dbt writes its log to standard output: into the file, not the terminal
            with contextlib.redirect_stdout(log):
                result = job.execute_in_process(
                    run_config=run_config, instance=instance, tags=tags, raise_on_error=False
                )
        finally:
            progress.log_file = None
            progress._end_bar()
    outcome = RunOutcome(run_id=result.run_id, log_path=log_path)
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
    checks = progress.checks_passed + progress.checks_failed + progress.checks_warned
    if checks:
        mark = "✓" if not progress.checks_failed else "✗"
        warned = f" ({progress.checks_warned} with warnings)" if progress.checks_warned else ""
        print(
            f"{mark} quality checks: {progress.checks_passed} of {checks} passed{warned}",
            file=sys.stderr,
        )
    print(f"run {result.run_id[:8]}: the full log is in {_shown(log_path)}", file=sys.stderr)
    if not result.success:
        published = any(
            event.is_step_success and event.step_key == "segment_history"
            for event in result.all_events
        )
        print(
            "the history and publication step had finished: only what came after it failed"
            if published
            else "nothing was published: readers see the last published build, as before",
            file=sys.stderr,
        )
        if blocking:  # say what the data got wrong, not only which step stopped
            raise RunFailed(
                "check failed, nothing was published: "
                + "; ".join(blocking)
                + " (fix the data and build again; bounds: docs/reference.md, Settings)"
            )
        raise RunFailed(_failure_message(result))
    return outcome


def _shown(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _ingestion_op_names(job) -> list[str]:
    return [name for name in job.graph.node_dict if name.startswith("raw__")]


def _failure_message(result) -> str:
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        stage = event.step_key.split("__")[0]
        if data.user_failure_data and data.user_failure_data.description:
            detail = data.user_failure_data.description  # the step's own words, e.g. a rejection
            hint = _HINTS.get(stage, "see the log for the cause")
        else:
            hint = _HINTS.get(stage, "") if stage != "raw" else ""
            hint = hint or "the log file above has the whole error"
            error = data.error
            while error is not None and error.cause is not None:  # the user code's own error
                error = error.cause
            detail = error.message.strip().splitlines()[0] if error else "unknown"
            detail = (
                detail.split(": ", 1)[-1] if detail.startswith(("segflow.", "dagster")) else detail
            )
        return f"{_stage(event.step_key)} failed: {detail} ({hint})"
    return "the run failed"


_HINTS = {
    "raw": "fix the file and deliver it again, or remove it; a re-delivery that removes many "
    "rows goes through with `segflow build --accept FILE`",
    "segflow_dbt_models": "the dbt log in the file above names the model",
    "segment_history": "nothing was recorded; run the build again once the cause is fixed",
    "hot_segment_backfill": "the build is published; the next build backfills the days still "
    "missing",
}
