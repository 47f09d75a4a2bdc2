"""The BI copy of the embedded warehouse, refreshed after each published build (group `bi`).

Downstream of the history step that publishes a build: when a run fails before publishing,
this step is skipped and Superset keeps reading the last published build.
"""

import dagster as dg

from orchestration.assets.history import HISTORY_ASSETS
from orchestration.resources import WarehouseResource
from segflow.bi.bifile import bi_duckdb_path, publish_bi_file

BI_FILE = dg.AssetKey(["bi", "bi_duckdb"])


@dg.asset(
    key=BI_FILE,
    deps=HISTORY_ASSETS,
    group_name="bi",
    kinds={"duckdb"},
    description="Read-only copy of the published tables for Superset (embedded warehouse "
    "only; on PostgreSQL Superset reads the warehouse directly). Replaced atomically.",
)
def bi_duckdb(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    settings = warehouse.settings()
    if settings.target != "duckdb":
        return dg.MaterializeResult(metadata={"skipped": "PostgreSQL: Superset reads it"})
    target = bi_duckdb_path(settings)
    with warehouse.connect() as wh:
        rows = publish_bi_file(wh, target)
    context.log.info(f"published {len(rows)} tables for BI to {target}")
    return dg.MaterializeResult(
        metadata={"path": str(target), "tables": len(rows), "rows": sum(rows.values())}
    )
