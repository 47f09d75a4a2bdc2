"""The Dagster code location loads and holds what the UI should show."""

from __future__ import annotations

import dagster as dg

from orchestration.definitions import defs
from segflow.feeds import FEEDS


def test_definitions_load_with_ingestion_dbt_assets_and_checks():
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {f"raw/{feed}" for feed in FEEDS} <= keys
    assert {"staging/stg_customers", "intermediate/int_sales_lines", "dim_population"} <= keys
    # dbt models depend on the ingestion assets through the dbt sources
    stg = graph.get(dg.AssetKey(["staging", "stg_transactions"]))
    assert dg.AssetKey(["raw", "transactions"]) in stg.parent_keys
    # dbt tests are asset checks
    checks = {c.name for c in graph.asset_check_keys}
    assert "unique_dim_population_customer_id" in checks
    assert defs.resolve_job_def("build") is not None
