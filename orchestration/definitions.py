"""The segflow code location: `dagster dev` in the project folder serves it (see pyproject)."""

import dagster as dg

from orchestration.assets.activation import make_activation_assets
from orchestration.assets.bi import bi_duckdb
from orchestration.assets.history import make_history_assets
from orchestration.assets.ingestion import ingestion_assets
from orchestration.assets.quality import quality_checks
from orchestration.assets.transform import make_dbt_models
from orchestration.dbt_project import dbt_project
from orchestration.jobs import make_jobs
from orchestration.partitions import daily_partitions
from orchestration.resources import WarehouseResource, dbt_resource
from orchestration.schedules import make_nightly_schedule
from orchestration.sensors import make_delivery_sensor
from segflow.dbt import ensure_manifest
from segflow.segments.project import load_project
from segflow.settings import Settings, load_settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """The code location for the settings' dbt project (its manifest prepared if stale)."""
    project = dbt_project(settings.dbt_project_dir)
    segments = load_project(settings.segments_dir) if settings.segments_dir.is_dir() else None
    dbt_models = make_dbt_models(project, ensure_manifest(settings), segments)
    partitions = daily_partitions(settings)
    build_job, history_job = make_jobs()
    return dg.Definitions(
        assets=[
            *ingestion_assets,
            dbt_models,
            *make_history_assets(partitions),
            *make_activation_assets(settings),
            bi_duckdb,
        ],
        asset_checks=quality_checks,
        jobs=[build_job, history_job],
        schedules=[make_nightly_schedule(build_job, settings)],
        sensors=[make_delivery_sensor(build_job, settings)],
        resources={"warehouse": WarehouseResource(), "dbt": dbt_resource(project)},
        # DuckDB allows one writer process: steps run one after another in the run's process.
        executor=dg.in_process_executor,
    )


defs = build_definitions(load_settings())
