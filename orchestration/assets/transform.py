"""The dbt models as assets (dagster-dbt), with dbt tests as asset checks."""

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.dbt_project import segflow_dbt_project
from orchestration.resources import export_settings_for_dbt
from segflow.dbt import ensure_manifest
from segflow.settings import load_settings


class BuildConfig(dg.Config):
    as_of: str = ""  # the evaluation date D, YYYY-MM-DD; empty means today in SEGFLOW_TIMEZONE


class SegflowTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # staging / intermediate / marts, as in the dbt project's folders
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "marts"


def today_in_project_zone() -> str:
    return datetime.now(load_settings().tz).date().isoformat()


@dbt_assets(
    manifest=ensure_manifest(load_settings()),
    project=segflow_dbt_project,
    dagster_dbt_translator=SegflowTranslator(),
)
def segflow_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: BuildConfig):
    export_settings_for_dbt()
    as_of = config.as_of or today_in_project_zone()
    context.log.info(f"dbt build as of {as_of}")
    yield from dbt.cli(["build", "--vars", json.dumps({"as_of": as_of})], context=context).stream()
