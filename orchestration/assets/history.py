"""Segment history as daily-partitioned assets (docs/reference.md, "Outputs in the warehouse").

One step evaluates the segments for every day of its partition range and writes the three
tables in one transaction (segflow/history/record.py). Backfills run as a single run per range
(BackfillPolicy.single_run), so a year costs one process, not 365 dbt start-ups.

In a build run the same step publishes the build (segflow/publication/publish.py): the day's history,
the switch of every published view to the new build and the erasure of erased customers
from the history commit together. It runs after the blocking quality checks of the models
it depends on, so a failed check leaves everything published as it was.

The automatic backfill of new hot segments is a step of its own, `hot_segment_backfill`: it
runs after the publication, last in the run (the syncs and the BI copy go first), in chunks
that commit one by one (segflow/history/backfill.py). However long it takes and whether it
fails, the night's build is published.
"""

from datetime import timedelta

import dagster as dg

from orchestration.assets.quality import GATED_ASSETS
from orchestration.resources import WarehouseResource, build_run_id
from segflow.dbt import manifest_path
from segflow.history.backfill import Chunk, backfill_hot_segments
from segflow.history.record import (
    EVENTS,
    HOT_HISTORY,
    MEMBERSHIP_HISTORY,
    RecordedRange,
    days_between,
    record_history,
)
from segflow.publication.publish import (
    model_relations,
    pending_build,
    publish,
    published_build,
    remove_erased_from_history,
    supersedes,
)
from segflow.segments.project import load_project

# What the history reads: the day-independent models the evaluation starts from.
UPSTREAM = [
    dg.AssetKey(["intermediate", "int_customer_versions"]),
    dg.AssetKey(["intermediate", "int_customers_erased"]),  # erasure applies to the history
    dg.AssetKey(["intermediate", "int_sales_lines"]),
    dg.AssetKey(["intermediate", "int_events"]),
    dg.AssetKey(["staging", "stg_customer_attributes"]),
    *GATED_ASSETS,  # their blocking checks must pass before a build is published
]
HISTORY_ASSETS = [HOT_HISTORY, EVENTS, MEMBERSHIP_HISTORY]


class HistoryConfig(dg.Config):
    segments: list[str] = []  # segments to record; empty: all of them


class BackfillConfig(dg.Config):
    enabled: bool = True  # off for runs that build a selection of segments


def make_history_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The history step (which publishes a build) and the backfill step after it."""
    return [_make_history_step(partitions), _make_backfill_step(partitions)]


def _make_history_step(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            HOT_HISTORY,
            deps=UPSTREAM,
            group_name="history",
            kinds={"python"},
            description="Per hot segment and day: members, the members' revenue and orders on "
            "that day, and how many entered and exited since the day before.",
        ),
        dg.AssetSpec(
            EVENTS,
            deps=UPSTREAM,
            group_name="history",
            kinds={"python"},
            description="enter/exit events per day for trigger segments.",
        ),
        dg.AssetSpec(
            MEMBERSHIP_HISTORY,
            deps=UPSTREAM,
            group_name="history",
            kinds={"python"},
            description="Who was in which segment from which day to which day (inclusive); "
            "segment_history_days lists the days it holds per segment.",
        ),
    ]

    @dg.multi_asset(
        specs=specs,
        name="segment_history",
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def segment_history(
        context: dg.AssetExecutionContext, config: HistoryConfig, warehouse: WarehouseResource
    ):
        settings = warehouse.settings()
        project = load_project(settings.segments_dir)
        project.raise_for_problems()
        window = context.partition_time_window
        first = window.start.date()
        last = window.end.date() - timedelta(days=1)
        with warehouse.connect() as wh, wh.transaction():
            build = pending_build(wh, build_run_id(context.run))
            schema = build.slot if build else None
            recorded = record_history(wh, project, first, last, config.segments or None, schema)
            context.log.info(
                f"recorded {recorded.days} day(s) {first}..{last} of {len(recorded.segments)} "
                f"segment(s) in {sum(recorded.seconds.values()):.1f} s"
            )
            if build:
                current = published_build(wh)
                if supersedes(build, current):
                    relations = model_relations(
                        manifest_path(settings.dbt_project_dir), wh.output_schema
                    )
                    publish(wh, build, relations)
                    context.log.info(
                        f"published the build as of {build.as_of} ({build.slot}, "
                        f"{len(relations)} models)"
                    )
                else:
                    context.log.info(
                        f"built as of {build.as_of}, before the published build as of "
                        f"{current.as_of}: recorded its history, the publication stays"
                    )
                erased = remove_erased_from_history(wh, build)
                if erased:
                    context.log.info(f"{erased} history row(s) of erased customers removed")
        metadata = {
            "days": recorded.days,
            "segments": len(recorded.segments),
            "history_rows": recorded.history_rows,
            "events": recorded.events,
            "seconds": round(sum(recorded.seconds.values()), 2),
        }
        for key in HISTORY_ASSETS:
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)

    return segment_history


BACKFILL = "hot_segment_backfill"


def _make_backfill_step(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    # A multi_asset as the history step is: the same single-run backfill policy (one policy
    # for the whole build job), without dg.asset's beta warning on that parameter.
    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                BACKFILL,
                deps=HISTORY_ASSETS,
                group_name="history",
                kinds={"python"},
                description="The history of new (or changed) hot segments for the "
                "SEGFLOW_HOT_BACKFILL_DAYS before the build's day, recorded after the "
                "publication in chunks that commit one by one; the next night picks up what a "
                "failure left.",
            )
        ],
        name=BACKFILL,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        # Last in the run: the syncs and the BI copy, ready at the same time, go first.
        op_tags={"dagster/priority": "-1"},
    )
    def hot_segment_backfill(
        context: dg.AssetExecutionContext, config: BackfillConfig, warehouse: WarehouseResource
    ):
        settings = warehouse.settings()
        window = context.partition_time_window
        day = window.start.date()
        single_day = window.end.date() - window.start.date() == timedelta(days=1)
        # Only the newest day's run (nightly, `segflow build`) backfills, not a re-run of an
        # old partition, nor a build of a selection of segments.
        newest = settings.today() - timedelta(days=1)
        if not (config.enabled and single_day and day >= newest):
            return dg.MaterializeResult(metadata={"backfilled": "", "days": 0})
        project = load_project(settings.segments_dir)
        project.raise_for_problems()

        def report(chunk: Chunk, recorded: RecordedRange) -> None:
            context.log.info(
                f"backfilled {', '.join(chunk.segments)} from {chunk.first} to {chunk.last} "
                f"in {sum(recorded.seconds.values()):.1f} s"
            )
            # The backfilled days are partitions of the history assets too: say so to Dagster.
            for backfilled_day in days_between(chunk.first, chunk.last):
                for key in HISTORY_ASSETS:
                    context.log_event(
                        dg.AssetMaterialization(
                            asset_key=key,
                            partition=backfilled_day.isoformat(),
                            metadata={"backfilled": ", ".join(chunk.segments)},
                        )
                    )

        with warehouse.connect() as wh:
            ranges = backfill_hot_segments(wh, project, day, settings, on_chunk=report)
        names = sorted({n for r in ranges for n in r.segments})
        return dg.MaterializeResult(
            metadata={
                "backfilled": ", ".join(names),
                "backfilled_from": min(r.first for r in ranges).isoformat() if ranges else "",
                "days": sum(r.days for r in ranges),
                "chunks": len(ranges),
                "seconds": round(sum(sum(r.seconds.values()) for r in ranges), 2),
            }
        )

    return hot_segment_backfill
