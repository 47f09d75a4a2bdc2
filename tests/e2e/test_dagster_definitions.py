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


def test_the_hot_segment_backfill_is_a_step_after_the_history_with_the_lowest_priority():
    graph = defs.resolve_asset_graph()
    backfill = graph.get(dg.AssetKey("hot_segment_backfill"))
    assert {k.to_user_string() for k in backfill.parent_keys} == {
        "hot_segment_history",
        "segment_events",
        "segment_membership_history",
    }
    assert defs.get_assets_def("hot_segment_backfill").op.tags["dagster/priority"] == "-1"
    history_job = defs.resolve_job_def("history")  # UI backfills record days, no more
    assert "hot_segment_backfill" not in history_job.graph.node_dict
