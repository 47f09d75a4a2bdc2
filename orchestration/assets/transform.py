"""The dbt models as assets (dagster-dbt), with dbt tests as asset checks."""

import json
import os
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._utils.tags import is_valid_tag_key
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration.resources import WarehouseResource, build_run_id, export_settings_for_dbt
from segflow.bi.sources import ensure_bi_sources
from segflow.dbt import slot_target
from segflow.publication.publish import published_slot, record_build, start_build
from segflow.segments.project import SegmentProject


class BuildConfig(dg.Config):
    as_of: str = ""  # D, YYYY-MM-DD; empty: the run's partition, else today in SEGFLOW_TIMEZONE
    # `segflow build --select`: only these segments (and what they refer to) get new tables;
    # the others are published as they were (segflow/publication/selective.py). Empty: every segment.
    select: list[str] = []


# The models downstream of what `build --select` carries over (the segments' views, their
# stats and catalog rows), built again after it with their tests: dbt's graph operators, so a
# project's own models downstream of them are refreshed too (not one that reads the flags
# table directly, nor one tagged `segment`). One argument per option: dagster-dbt keeps one
# value each (docs/stack.md).
CARRIED_READERS = [
    "--select", "tag:segment+ segment_stats+ segment_catalog+ segment_membership+",
    "--exclude", "tag:segment segment_stats segment_catalog segment_membership",
]  # fmt: skip


def dagster_owner(owner: str) -> str:
    """A segment's `owner` as a Dagster owner: an e-mail address, or else a team."""
    return owner if "@" in owner else f"team:{owner}"


class SegflowTranslator(DagsterDbtTranslator):
    """Groups by the dbt project's folders; a segment's model carries the segment's owner and
    tags (its YAML's `owner` and `tags`) as Dagster owners and tags. The dbt tests of the raw
    sources (the big feeds' required fields) are checks of the ingestion assets."""

    def __init__(self, segments: SegmentProject | None = None):
        super().__init__(DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))
        self.segments = segments

    def _definition(self, props: Mapping[str, Any]):
        name = str(props.get("name", ""))
        if self.segments is None or not name.startswith("seg_"):
            return None
        loaded = self.segments.segments.get(name.removeprefix("seg_"))
        return loaded.definition if loaded else None

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # staging / intermediate / segments, as in the dbt project's folders
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "default"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        definition = self._definition(dbt_resource_props)
        if definition is not None and definition.owner:
            return [dagster_owner(definition.owner)]
        return super().get_owners(dbt_resource_props)

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        definition = self._definition(dbt_resource_props)
        if definition is not None:
            tags.update({t: "" for t in definition.tags if is_valid_tag_key(t)})
            if definition.hot:
                tags["hot"] = ""
        return tags


def make_dbt_models(
    project: DbtProject, manifest: Path, segments: SegmentProject | None = None
) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=manifest, project=project, dagster_dbt_translator=SegflowTranslator(segments)
    )
    def segflow_dbt_models(
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        config: BuildConfig,
    ):
        export_settings_for_dbt()
        settings = warehouse.settings()
        # A partitioned run (nightly, sensor, `segflow build`) builds as of its partition's day.
        as_of = date.fromisoformat(
            config.as_of
            or context.run.tags.get("dagster/partition")
            or settings.today().isoformat()
        )
        # Into the slot that is not published: readers keep seeing the last publication until
        # the history step publishes this build (segflow/publication/publish.py). A build is published
        # whole, so a selection of models only makes sense to finish a failed run's build.
        models = set(context.assets_def.node_keys_by_output_name.values())  # not only selected
        if not context.selected_asset_keys and all(
            check.asset_key not in models for check in context.selected_asset_check_keys
        ):
            # Only the raw sources' tests, checks of the ingestion assets (`raw/*` materialized
            # on their own, or their checks executed): they read the loaded rows, no build.
            # One folder for them, as for a slot's builds: dbt's own default is a new one a run.
            checks_target = slot_target("raw", "checks")
            yield from dbt.cli(["test"], context=context, target_path=checks_target).stream()
            return
        resume = context.selected_asset_keys != models
        if resume and context.run.root_run_id is None:
            raise dg.Failure(
                f"a segflow build is published whole: materialize all {len(models)} dbt "
                f"models together (the `build` job), not a selection of "
                f"{len(context.selected_asset_keys)}"
            )
        with warehouse.connect() as wh:
            published = published_slot(wh)
            if config.select and published is None:
                raise dg.Failure("--select needs a published build: run a whole build first")
            slot = start_build(wh, resume=resume)
            ensure_bi_sources(wh)  # the BI views read history tables (models/marts/bi)
        context.log.info(f"dbt build as of {as_of} into the build schema {slot}")
        # D and the slot reach dbt as environment variables, and each slot keeps its own dbt
        # target folder: dbt then parses only what changed since the slot's last build, not
        # the whole project every night (macros/evaluation.sql, docs/stack.md).
        # The kept per-day aggregates note the build that changed them last: direct queries
        # read them only for that build (segflow/evaluation/relations.py, kept_daily).
        build_env = {
            "SEGFLOW_AS_OF": as_of.isoformat(),
            "SEGFLOW_BUILD_SCHEMA": slot,
            "SEGFLOW_BUILD_RUN": build_run_id(context.run),
        }
        before = {name: os.environ.get(name) for name in build_env}
        os.environ.update(build_env)
        try:
            yield from dbt.cli(["build"], context=context, target_path=slot_target(slot)).stream()
            if config.select and published is not None:
                from segflow.publication.selective import carry_over
                from segflow.segments.project import load_project

                with warehouse.connect() as wh:
                    kept = carry_over(
                        wh, load_project(settings.segments_dir), config.select, published, slot
                    )
                context.log.info(
                    f"rebuilt {', '.join(kept.rebuilt)}; published as they were: "
                    f"{', '.join(kept.carried) or 'none'}"
                )
                if kept.carried:
                    # The tables built from the segments' rows and stats (the dashboards'
                    # overlap and insights) read the carried segments as published now.
                    carried = {"carried_segments": kept.carried}
                    dbt.cli(
                        ["build", "--vars", json.dumps(carried), *CARRIED_READERS],
                        manifest=manifest,
                        # its own folder: other vars, which would re-parse the slot's next build
                        target_path=slot_target(slot, "carried"),
                    ).wait()
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        with warehouse.connect() as wh:
            record_build(wh, slot, build_run_id(context.run), as_of)

    return segflow_dbt_models
