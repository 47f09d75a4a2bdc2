"""The nightly schedule, the delivery sensor and the nightly job, with Dagster's test
contexts and the real job on demo data."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from orchestration.definitions import build_definitions
from segflow.demo.generate import generate_demo
from segflow.history.record import HISTORY_DAYS, HOT_HISTORY, hot_segments
from segflow.segments.project import load_project
from segflow.settings import PROJECT_ROOT, load_settings
from segflow.warehouse import open_warehouse
from tests.conftest import compile_segments, configure_project
from tests.feedfiles import deliver


def test_nightly_schedule_builds_the_day_that_has_ended(tmp_path, monkeypatch):
    configure_project(monkeypatch, tmp_path, "duckdb")
    monkeypatch.setenv("SEGFLOW_NIGHTLY_HOUR", "3")
    settings = load_settings(dotenv=False)
    defs = build_definitions(settings)
    repo = defs.get_repository_def()
    schedule = defs.resolve_schedule_def("nightly")
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.execution_timezone == "Europe/Berlin"
    assert schedule.job_name == "build"
    # 03:00 in Berlin on 30 March (after the switch to summer time) builds 29 March.
    tick = datetime(2026, 3, 30, 3, 0, tzinfo=settings.tz)
    with dg.build_schedule_context(scheduled_execution_time=tick, repository_def=repo) as context:
        request = schedule.evaluate_tick(context).run_requests[0]
    assert request.partition_key == "2026-03-29"
    assert request.run_key == "nightly-2026-03-29"
    # 23:30 UTC on the 29th is 01:30 on the 30th in Berlin: the local date decides.
    late = datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=late, repository_def=repo) as context:
        assert schedule.evaluate_tick(context).run_requests[0].partition_key == "2026-03-29"


def test_delivery_sensor_starts_one_run_per_delivery(tmp_path, monkeypatch):
    settings = configure_project(monkeypatch, tmp_path, "duckdb")
    defs = build_definitions(settings)
    repo = defs.get_repository_def()
    sensor = defs.resolve_sensor_def("new_deliveries")
    with dg.build_sensor_context(repository_def=repo) as context:
        assert sensor.evaluate_tick(context).skip_message.startswith("no new deliveries")

    deliver(settings.landing_dir, "products", "2026-03-01.csv", ["product_id"], [["P1"]])
    with dg.build_sensor_context(repository_def=repo) as context:
        first = sensor.evaluate_tick(context)
    (request,) = first.run_requests
    assert request.run_key.startswith("delivery-")
    assert (
        request.partition_key == (datetime.now(settings.tz).date() - timedelta(days=1)).isoformat()
    )
    with dg.build_sensor_context(
        repository_def=repo
    ) as context:  # the same delivery seen again: the same key
        assert sensor.evaluate_tick(context).run_requests[0].run_key == request.run_key

    with dg.build_sensor_context(cursor=first.cursor, repository_def=repo) as context:
        assert sensor.evaluate_tick(context).run_requests == []  # nothing new since

    deliver(settings.landing_dir, "products", "2026-03-02.csv", ["product_id"], [["P2"]])
    with dg.build_sensor_context(cursor=first.cursor, repository_def=repo) as context:
        second = sensor.evaluate_tick(context)
    assert second.run_requests[0].run_key not in (None, request.run_key)


@pytest.mark.slow
def test_nightly_run_on_demo_data_builds_records_and_backfills(tmp_path, monkeypatch):
    """The schedule's run request, executed as the daemon would: ingest, dbt, the day's
    history, and the backfill of the hot segments that have none yet."""
    configure_project(monkeypatch, tmp_path, "duckdb")
    monkeypatch.setenv("SEGFLOW_HOT_BACKFILL_DAYS", "20")
    settings = load_settings(dotenv=False)
    shutil.rmtree(settings.segments_dir)
    shutil.copytree(PROJECT_ROOT / "segments", settings.segments_dir)
    compile_segments(settings)
    today = datetime.now(settings.tz).date()
    generate_demo(settings.landing_dir, customers=1500, days=120, until=today)

    defs = build_definitions(settings)
    repo = defs.get_repository_def()
    tick = datetime.combine(today, datetime.min.time(), settings.tz).replace(hour=2)
    with dg.build_schedule_context(scheduled_execution_time=tick, repository_def=repo) as context:
        request = defs.resolve_schedule_def("nightly").evaluate_tick(context).run_requests[0]
    yesterday = today - timedelta(days=1)
    assert request.partition_key == yesterday.isoformat()

    os.environ.setdefault("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("build").execute_in_process(
            partition_key=request.partition_key, tags=request.tags, instance=instance
        )
        assert result.success
        started = [e.step_key for e in result.all_events if e.is_step_start]
        # The backfill comes after the publication and after everything else of the run.
        assert started[-1] == "hot_segment_backfill" and "bi__bi_duckdb" in started
        hot = hot_segments(load_project(settings.segments_dir))
        materialized = instance.get_materialized_partitions(dg.AssetKey(HOT_HISTORY))
    # the nightly day and the 20 days before it (the new hot segments' backfill)
    expected_days = {(yesterday - timedelta(days=i)).isoformat() for i in range(21)}
    assert expected_days <= materialized

    with open_warehouse(settings) as wh:
        built_as_of = wh.scalar(f"select max(as_of) from {wh.output_schema}.dim_population")
        per_segment = dict(
            wh.query(
                f"select segment, count(*) from {wh.output_schema}.{HOT_HISTORY} group by segment"
            )
        )
        recorded_today = wh.scalar(
            f"select count(distinct segment) from {wh.output_schema}.{HISTORY_DAYS} where day = ?",
            (yesterday,),
        )
        latest = dict(
            wh.query(
                f"select segment, members from {wh.output_schema}.{HOT_HISTORY} where day = ?",
                (yesterday,),
            )
        )
        stats = dict(wh.query(f"select segment, members from {wh.output_schema}.segment_stats"))
    assert built_as_of == yesterday  # dbt built as of the partition's day
    assert per_segment == {name: 21 for name in hot}
    assert recorded_today == len(stats)  # every segment's membership recorded for the day
    assert latest == {name: stats[name] for name in hot}  # history agrees with the build
    assert any(latest.values())
