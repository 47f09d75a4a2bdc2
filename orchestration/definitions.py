"""The segflow code location: `dagster dev` in the project folder serves it (see pyproject)."""

import dagster as dg

from orchestration.assets.ingestion import ingestion_assets
from orchestration.assets.transform import make_dbt_models
from orchestration.dbt_project import dbt_project
from orchestration.resources import WarehouseResource, dbt_resource
from segflow.dbt import ensure_manifest
from segflow.settings import Settings, load_settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """The code location for the settings' dbt project (its manifest prepared if stale)."""
    project = dbt_project(settings.dbt_project_dir)
    dbt_models = make_dbt_models(project, ensure_manifest(settings))
    build_job = dg.define_asset_job(
        "build",
        selection=dg.AssetSelection.all(),
        description="Ingest new deliveries, then build every dbt model and run its tests.",
    )
    return dg.Definitions(
        assets=[*ingestion_assets, dbt_models],
        jobs=[build_job],
        resources={"warehouse": WarehouseResource(), "dbt": dbt_resource(project)},
        # DuckDB allows one writer process: steps run one after another in the run's process.
        executor=dg.in_process_executor,
    )


defs = build_definitions(load_settings())
