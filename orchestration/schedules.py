"""The nightly schedule: after midnight in SEGFLOW_TIMEZONE, build the day that has ended."""

from datetime import timedelta

import dagster as dg

from segflow.settings import Settings


def make_nightly_schedule(job, settings: Settings):
    @dg.schedule(
        name="nightly",
        job=job,
        cron_schedule=f"0 {settings.nightly_hour} * * *",
        execution_timezone=settings.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Ingest, build and record yesterday's partition "
        "(SEGFLOW_NIGHTLY_HOUR, SEGFLOW_TIMEZONE).",
    )
    def nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        scheduled = context.scheduled_execution_time.astimezone(settings.tz)
        day = (scheduled.date() - timedelta(days=1)).isoformat()
        return dg.RunRequest(run_key=f"nightly-{day}", partition_key=day)

    return nightly
