"""Activation: one asset per sync (group `activation`), downstream of the history step that
publishes the build, so the nightly `build` job syncs after publication and never after a
failed blocking check (Dagster skips the assets downstream of a failed step)."""

import dagster as dg

from orchestration.assets.history import HISTORY_ASSETS
from orchestration.resources import WarehouseResource
from segflow.segments.project import load_project
from segflow.settings import Settings

# Transient platform failures the client's own retries could not ride out: the step again.
SYNC_RETRY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def make_activation_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    from segflow.sync.loader import load_syncs, syncs_dir

    project = load_syncs(syncs_dir(), load_project(settings.segments_dir))
    return [_sync_asset(name, sync) for name, sync in sorted(project.syncs.items())]


def _sync_asset(name: str, sync) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["activation", name]),
        group_name="activation",
        deps=HISTORY_ASSETS,
        kinds={sync.destination},
        retry_policy=SYNC_RETRY,
        description=f"The {sync.destination} list {sync.list!r} kept equal to the consenting "
        f"members of {sync.segment} ({sync.mode}; schedule {sync.schedule}).",
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        from segflow.sync.config import KEYS, destination_for
        from segflow.sync.run import GuardRefused, run_sync

        if sync.schedule == "manual" and not context.job_name.startswith("__ASSET_JOB"):
            context.log.info(f"{name}: schedule manual: not synced by the {context.job_name} job")
            return dg.MaterializeResult(metadata={"skipped": "schedule: manual"})
        dest = destination_for(sync)
        if dest is None:
            message = f"{name}: {KEYS[sync.destination]} is not set: nothing sent"
            context.log.warning(message)
            return dg.MaterializeResult(metadata={"skipped": message})
        with warehouse.connect() as wh:
            try:
                outcome = run_sync(wh, name, sync, dest)
            except GuardRefused as exc:
                raise dg.Failure(str(exc), allow_retries=False) from None
        counts = outcome.plan.counts
        return dg.MaterializeResult(
            metadata={
                **{f"{op}s" if op != "erase" else "erasures": n for op, n in counts.items()},
                "rejected": outcome.rejected,
                "list_size_before": outcome.plan.list_size,
            }
        )

    return _asset
