"""In Dagster, on both engines: the nightly build job syncs after publication, and a failed
blocking check means no sync runs (the list stays as it was, nothing is sent)."""

from __future__ import annotations

from datetime import date

import pytest

from orchestration.runner import run_build
from segflow.errors import RunFailed
from segflow.settings import load_settings
from tests.conftest import compile_segments
from tests.feedfiles import TRANSACTION_HEADER, deliver

SALE = [*TRANSACTION_HEADER[:-1], "currency"]


def test_the_build_job_syncs_after_publication_and_not_after_a_failed_check(
    project, tmp_path, monkeypatch, double
):
    monkeypatch.setenv("SEGFLOW_HOT_BACKFILL_DAYS", "0")
    (tmp_path / "syncs").mkdir()
    monkeypatch.setenv("SEGFLOW_SYNCS", str(tmp_path / "syncs"))
    monkeypatch.setenv("KLAVIYO_API_KEY", double.api_key)
    monkeypatch.setenv("KLAVIYO_BASE_URL", double.base)
    settings = load_settings()
    deliver(
        settings.landing_dir,
        "customers",
        "2026-03-01.csv",
        ["customer_id", "email", "email_opt_in", "signup_date", "updated_at"],
        [
            ["K1", "k1@x.com", "yes", "2026-01-01", "2026-01-01 10:00"],
            ["K2", "k2@x.com", "no", "2026-01-01", "2026-01-01 10:00"],
            ["K3", "k3@x.com", "yes", "2026-01-01", "2026-01-01 10:00"],
        ],
    )
    deliver(settings.landing_dir, "products", "2026-01-01.csv", ["product_id"], [["P1"]])
    deliver(
        settings.landing_dir,
        "transactions",
        "2026-03-09.csv",
        SALE,
        [
            ["T1", "1", "K1", "2026-03-05 12:00", "P1", "1", "10.00", "EUR"],
            ["T2", "1", "K2", "2026-03-05 12:00", "P1", "1", "10.00", "EUR"],
        ],
    )
    (settings.segments_dir / "buyers.yml").write_text(
        "title: Buyers\nrules:\n  metric: orders\n  gte: 1\n"
    )
    (tmp_path / "syncs" / "buyers_klaviyo.yml").write_text(
        "segment: buyers\ndestination: klaviyo\nlist: Buyers\nfields:\n  first_name: first_name\n"
    )
    compile_segments(settings)
    outcome = run_build(settings, as_of=date(2026, 3, 10))
    assert "activation/buyers_klaviyo" in outcome.materialized
    assert double.emails("Buyers") == {"k1@x.com"}  # K2 has no consent, K3 bought nothing

    requests = len(double.requests)
    deliver(
        settings.landing_dir,
        "transactions",
        "2026-03-10.csv",
        SALE,
        [["T3", "1", "K3", "2026-03-10 12:00", "P1", "1", "12.00", "USD"]],
    )
    with pytest.raises(RunFailed, match="one currency per project"):
        run_build(settings, as_of=date(2026, 3, 11))
    assert double.emails("Buyers") == {"k1@x.com"}
    assert len(double.requests) == requests  # the sync did not even read the list


def test_each_shipped_sync_is_an_asset_after_publication_in_the_build_job(monkeypatch):
    import dagster as dg

    from orchestration.assets.activation import SYNC_RETRY
    from orchestration.assets.history import HISTORY_ASSETS
    from orchestration.definitions import build_definitions
    from segflow.settings import PROJECT_ROOT

    monkeypatch.chdir(PROJECT_ROOT)  # the project's own segments and syncs
    for var in ("SEGFLOW_SYNCS", "SEGFLOW_SEGMENTS", "SEGFLOW_DBT_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    defs = build_definitions(load_settings(dotenv=False))

    graph = defs.resolve_asset_graph()
    build = defs.resolve_job_def("build")
    for name in ("vip_klaviyo", "loyalty_gold_mailchimp"):
        node = graph.get(dg.AssetKey(["activation", name]))
        assert node.group_name == "activation"
        assert {dg.AssetKey(k) for k in HISTORY_ASSETS} <= set(node.parent_keys)
        assert f"activation__{name}" in build.graph.node_names()
        assert graph.assets_def_for_key(node.key).op.retry_policy == SYNC_RETRY
