"""The daily partitions of segment history: one per local day of SEGFLOW_TIMEZONE."""

import dagster as dg

from segflow.settings import Settings


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    # end_offset=1: today's partition exists too, so `segflow build` (D = today) records it;
    # the nightly schedule materialises the day that has just ended.
    return dg.DailyPartitionsDefinition(
        start_date=settings.history_start.isoformat(),
        timezone=settings.timezone,
        end_offset=1,
    )
