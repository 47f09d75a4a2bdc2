"""The jobs: `build` (ingest, dbt, the day's history) and `history` (ranges of days)."""

from datetime import date

import dagster as dg

from orchestration.assets.history import BACKFILL, HISTORY_ASSETS

BUILD_JOB = "build"
HISTORY_JOB = "history"
DBT_OP = "segflow_dbt_models"
HISTORY_OP = "segment_history"
BACKFILL_OP = BACKFILL


def make_jobs() -> list:
    # Both jobs take the daily partitions of the history assets they select.
    build = dg.define_asset_job(
        BUILD_JOB,
        selection=dg.AssetSelection.all(),
        description="Ingest new deliveries, build every dbt model as of the partition's day "
        "and run its tests, record the day's segment history and publish, run the syncs, "
        "then backfill new hot segments.",
    )
    history = dg.define_asset_job(
        HISTORY_JOB,
        selection=dg.AssetSelection.assets(*HISTORY_ASSETS),
        description="Record segment history for a day or a range of days (backfills).",
    )
    return [build, history]


def build_run_config(
    ingestion_ops: list[str],
    as_of: date | None = None,
    accept: tuple[str, ...] = (),
    select: tuple[str, ...] = (),
) -> dict:
    """Run config of the build job: `as_of` empty means the partition's day (or today);
    `select` names the segments that get new tables (empty: all)."""
    dbt_config: dict = {"as_of": as_of.isoformat() if as_of else ""}
    if select:
        dbt_config["select"] = list(select)
    return {
        "ops": {
            **{op: {"config": {"accept": list(accept)}} for op in ingestion_ops},
            DBT_OP: {"config": dbt_config},
            BACKFILL_OP: {"config": {"enabled": not select}},
        }
    }


def history_run_config(segments: list[str] | None = None) -> dict:
    return {"ops": {HISTORY_OP: {"config": {"segments": list(segments or [])}}}}
