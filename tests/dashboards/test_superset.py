"""The dashboards bundle against the real Superset 6 (spec: dashboards, "Checked in a real
browser"): every chart answers `GET /api/v1/chart/<id>/data/` with rows on the demo, every
dashboard draws in headless Chromium without an error, re-importing changes nothing, export
gives back the committed bundle, the BI role reads and cannot write; on both warehouses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from segflow.bi.bundle import (
    BUNDLE_DIR,
    bundle_files,
    connection,
    export_bundle,
    import_bundle,
    load,
)
from segflow.bi.client import SupersetClient
from segflow.bi.environment import BI_ROLE
from tests.conftest import configure_project, postgres_database
from tests.dashboards.browser import Browser, browser_problem
from tests.dashboards.conftest import Served, build_demo

pytestmark = [pytest.mark.superset, pytest.mark.slow]


def _bundle(kind: str) -> list[dict]:
    return [load(p) for n, p in bundle_files().items() if n.startswith(f"{kind}/")]


def _charts_per_dashboard() -> dict[str, tuple[str, int]]:
    out = {}
    for dashboard in _bundle("dashboards"):
        charts = [
            n
            for n in dashboard["position"].values()
            if isinstance(n, dict) and n.get("type") == "CHART"
        ]
        out[dashboard["slug"]] = (dashboard["dashboard_title"], len(charts))
    return out


def _chart_data_problems(client: SupersetClient) -> tuple[dict[str, int], dict[str, str]]:
    rows, problems = {}, {}
    for chart in client.list_all("chart", ["id", "slice_name"]):
        response = client.request("GET", f"/api/v1/chart/{chart['id']}/data/")
        name = chart["slice_name"]
        if response.status_code != 200:
            problems[name] = f"{response.status_code}: {response.text[:300]}"
            continue
        count = sum(result["rowcount"] for result in response.json()["result"])
        rows[name] = count
        if count == 0:
            problems[name] = "no rows"
    return rows, problems


def _browser_or_skip() -> Browser:
    problem = browser_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires the browser check: {problem}")
        pytest.skip(problem)
    return Browser()


def _check_dashboards(served: Served, screenshots: Path | None = None) -> dict[str, object]:
    browser = _browser_or_skip()
    results = {}
    try:
        browser.login(served.url, "admin", "admin")
        for slug, (title, expected) in sorted(_charts_per_dashboard().items()):
            result = browser.check_dashboard(
                f"{served.url}/superset/dashboard/{slug}/", title, expected
            )
            results[slug] = result
            if screenshots:
                browser.screenshot(screenshots / f"dashboard-{slug}.png")
    finally:
        browser.close()
    return results


def test_the_bundle_holds_the_five_dashboards_of_the_spec():
    titles = {d["dashboard_title"] for d in _bundle("dashboards")}
    assert titles == {"Hot segments", "Segment insights", "Tiers", "Overlap", "Operations"}
    for chart in _bundle("charts"):
        assert chart["description"], chart["slice_name"]
        assert chart["query_context"], chart["slice_name"]  # GET .../data/ needs it
    database = _bundle("databases")[0]
    assert database["sqlalchemy_uri"].startswith("segflow://")  # no secret, no path


def test_every_chart_answers_with_rows(served: Served):
    charts = served.client.list_all("chart", ["uuid"])
    assert {c["uuid"] for c in charts} == {str(c["uuid"]) for c in _bundle("charts")}
    rows, problems = _chart_data_problems(served.client)
    assert problems == {}
    assert len(rows) == len(_bundle("charts"))


def test_the_bi_copy_holds_the_failed_and_the_published_build(served: Served):
    import duckdb

    from segflow.bi.bifile import bi_duckdb_path

    with duckdb.connect(str(bi_duckdb_path(served.settings)), read_only=True) as copy:
        runs = copy.execute("select status from segflow_run_log order by started_at").fetchall()
        checks = copy.execute("select check_name, severity from segflow_check_log").fetchall()
    assert runs == [("failed",), ("published",)]
    assert ("gx_transactions", "ERROR") in checks


def test_every_dashboard_draws_in_chromium(served: Served):
    screenshots = os.environ.get("SEGFLOW_SCREENSHOTS")
    results = _check_dashboards(served, Path(screenshots) if screenshots else None)
    assert set(results) == set(_charts_per_dashboard())
    for slug, result in results.items():
        _title, expected = _charts_per_dashboard()[slug]
        assert result.errors == {}, slug
        assert result.empty == [], slug
        assert len(result.drawn) == expected, slug


def _state(client: SupersetClient) -> dict[str, object]:
    charts = {}
    for chart in client.list_all("chart", ["id"]):
        body = client.get(f"/api/v1/chart/{chart['id']}")["result"]
        charts[chart["id"]] = {
            k: body.get(k)
            for k in ("slice_name", "params", "query_context", "viz_type", "description")
        }
    dashboards = {}
    for dashboard in client.list_all("dashboard", ["id"]):
        body = client.get(f"/api/v1/dashboard/{dashboard['id']}")["result"]
        dashboards[dashboard["id"]] = {
            k: body.get(k) for k in ("dashboard_title", "position_json", "json_metadata", "slug")
        }
    datasets = {d["id"]: d for d in client.list_all("dataset", ["id", "table_name", "schema"])}
    databases = {
        d["id"]: d for d in client.list_all("database", ["id", "database_name", "backend"])
    }
    return {
        "charts": charts,
        "dashboards": dashboards,
        "datasets": datasets,
        "databases": databases,
    }


def test_importing_again_changes_nothing(served: Served):
    import_bundle(served.client, served.conn)  # what a browser saved (label colours) is reset
    before = _state(served.client)
    import_bundle(served.client, served.conn)
    assert _state(served.client) == before
    assert len(before["dashboards"]) == 5


def test_export_gives_back_the_committed_bundle(served: Served, tmp_path):
    counts = export_bundle(served.client, tmp_path)
    assert counts["dashboards"] == 5
    exported = {str(p.relative_to(tmp_path)): p.read_text() for p in tmp_path.rglob("*.yaml")}
    committed = {name: path.read_text() for name, path in bundle_files(BUNDLE_DIR).items()}
    assert sorted(exported) == sorted(committed)
    changed = [name for name in committed if exported[name] != committed[name]]
    assert changed == []


def test_the_bi_role_reads_dashboards_and_nothing_else(served: Served):
    served.env.superset(
        "fab", "create-user", "--role", BI_ROLE, "--username", "reader", "--firstname", "BI",
        "--lastname", "Reader", "--email", "reader@localhost", "--password", "reader",
    )  # fmt: skip
    reader = served.new_client("reader", "reader")
    assert len(reader.list_all("dashboard", ["id"])) == 5
    chart = reader.list_all("chart", ["id"])[0]
    assert reader.request("GET", f"/api/v1/chart/{chart['id']}/data/").status_code == 200
    denied = reader.request("PUT", f"/api/v1/chart/{chart['id']}", json={"slice_name": "mine"})
    assert denied.status_code in (401, 403)
    assert reader.request("DELETE", f"/api/v1/chart/{chart['id']}").status_code in (401, 403)
    assert (
        reader.request("GET", "/api/v1/database/").status_code in (401, 403)
        or not reader.get("/api/v1/database/")["result"]
    )


@pytest.mark.postgres
def test_on_postgres_the_dashboards_read_the_warehouse(served: Served):
    """Last in the module: it points the bundle's database at a PostgreSQL demo."""
    with pytest.MonkeyPatch.context() as mp, postgres_database() as name:
        settings = configure_project(mp, served.root / "postgres", "postgres", name)
        build_demo(settings)
        conn = connection(settings)
        assert conn.uri.startswith("postgresql+psycopg2://") and name in conn.uri
        try:
            import_bundle(served.client, conn)
            databases = served.client.list_all("database", ["database_name", "backend"])
            assert [(d["database_name"], d["backend"]) for d in databases] == [
                ("segflow", "postgresql")
            ]
            _rows, problems = _chart_data_problems(served.client)
            assert problems == {}
            for slug, result in _check_dashboards(served).items():
                assert result.errors == {} and result.empty == [], slug
        finally:
            import_bundle(served.client, served.conn)
