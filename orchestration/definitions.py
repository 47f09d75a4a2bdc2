"""The segflow code location: `dagster dev` in the project folder serves it (see pyproject)."""

import dagster as dg

from orchestration.assets.ingestion import ingestion_assets
from orchestration.assets.transform import segflow_dbt_models
from orchestration.resources import WarehouseResource, dbt_resource

build_job = dg.define_asset_job(
    "build",
    selection=dg.AssetSelection.all(),
    description="Ingest new deliveries, then build every dbt model and run its tests.",
)

defs = dg.Definitions(
    assets=[*ingestion_assets, segflow_dbt_models],
    jobs=[build_job],
    resources={"warehouse": WarehouseResource(), "dbt": dbt_resource()},
    # DuckDB allows one writer process: steps run one after another in the run's process.
    executor=dg.in_process_executor,
)
