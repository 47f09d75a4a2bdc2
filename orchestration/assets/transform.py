"""The dbt models as assets (dagster-dbt), with dbt tests as asset checks."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.resources import export_settings_for_dbt
from segflow.settings import load_settings


class BuildConfig(dg.Config):
    as_of: str = ""  # D, YYYY-MM-DD; empty: the run's partition, else today in SEGFLOW_TIMEZONE


class SegflowTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # staging / intermediate / marts / segments, as in the dbt project's folders
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"


def make_dbt_models(project: DbtProject, manifest: Path) -> dg.AssetsDefinition:
    @dbt_assets(manifest=manifest, project=project, dagster_dbt_translator=SegflowTranslator())
    def segflow_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, config: BuildConfig
    ):
        export_settings_for_dbt()
        # A partitioned run (nightly, sensor, `segflow build`) builds as of its partition's day.
        as_of = config.as_of or context.run.tags.get("dagster/partition") or load_settings().today().isoformat()
        context.log.info(f"dbt build as of {as_of}")
        args = ["build", "--vars", json.dumps({"as_of": as_of})]
        yield from dbt.cli(args, context=context).stream()

    return segflow_dbt_models
