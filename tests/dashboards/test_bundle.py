"""The bundle without a Superset: the connection filled from the settings (no secret in the
ZIP's YAML), and what export takes out so that a bundle diffs only where it changed."""

from __future__ import annotations

import io
import json
import zipfile

from segflow.bi.bundle import (
    MASK,
    URI_PLACEHOLDER,
    _file_name,
    _normalise,
    build_zip,
    bundle_files,
    connection,
    load,
)
from segflow.settings import load_settings
from tests.conftest import configure_project


def test_duckdb_reads_the_read_only_bi_copy(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGFLOW_BI_DUCKDB_PATH", raising=False)
    settings = configure_project(monkeypatch, tmp_path, "duckdb")
    conn = connection(settings)
    assert conn.uri == f"duckdb:///{tmp_path / 'bi.duckdb'}?access_mode=read_only"
    assert conn.password is None
    monkeypatch.setenv("SEGFLOW_BI_DUCKDB_PATH", str(tmp_path / "elsewhere.duckdb"))
    assert connection(load_settings(dotenv=False)).uri.startswith(f"duckdb:///{tmp_path}/elsewhere")


def test_postgres_password_goes_apart_from_the_bundle(tmp_path, monkeypatch):
    settings = configure_project(monkeypatch, tmp_path, "postgres", "warehouse")
    monkeypatch.setenv("PGPASSWORD", "s3cret")
    monkeypatch.setenv("PGHOST", "db.example.com")
    settings = load_settings(dotenv=False)
    conn = connection(settings)
    assert (
        conn.uri
        == f"postgresql+psycopg2://{settings.postgres.user}:{MASK}@db.example.com:{settings.postgres.port}/warehouse"
    )
    assert conn.password == "s3cret"
    data, passwords = build_zip(conn)
    assert passwords == {"databases/segflow.yaml": "s3cret"}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        texts = {name: archive.read(name).decode() for name in archive.namelist()}
    assert "segflow/metadata.yaml" in texts
    assert all("s3cret" not in text for text in texts.values())
    assert conn.uri in texts["segflow/databases/segflow.yaml"]
    assert len(texts) == len(bundle_files()) + 1
    monkeypatch.setenv("PGHOST", "/var/run/postgresql")
    assert "@/warehouse?host=/var/run/postgresql" in connection(load_settings(dotenv=False)).uri


def test_export_takes_out_the_instance_s_ids_and_the_uri():
    chart = {
        "slice_name": "Members per day",
        "uuid": "1234abcd-0000-0000-0000-000000000000",
        "params": {"datasource": "7__table", "slice_id": 12, "viz_type": "table"},
        "query_context": json.dumps(
            {
                "datasource": {"id": 7, "type": "table"},
                "form_data": {"datasource": "7__table", "slice_id": 12},
            }
        ),
    }
    clean = _normalise("charts", chart)
    assert clean["params"] == {"viz_type": "table"}
    assert json.loads(clean["query_context"]) == {
        "datasource": {"id": 0, "type": "table"},
        "form_data": {},
    }
    database = _normalise("databases", {"sqlalchemy_uri": "postgresql://u:p@h/d", "uuid": "x"})
    assert database["sqlalchemy_uri"] == URI_PLACEHOLDER
    layout = {"position": {"CHART-1": {"type": "CHART", "meta": {"chartId": 12, "uuid": "u"}}}}
    assert _normalise("dashboards", layout)["position"]["CHART-1"]["meta"]["chartId"] == 0
    assert _file_name("charts", chart, {}) == "charts/members_per_day.yaml"
    taken = {"charts/members_per_day.yaml": ""}
    assert _file_name("charts", chart, taken) == "charts/members_per_day_1234abcd.yaml"


def test_the_committed_bundle_has_no_instance_ids():
    for name, path in bundle_files().items():
        data = load(path)
        if name.startswith("charts/"):
            assert "datasource" not in data["params"], name
            assert json.loads(data["query_context"])["datasource"]["id"] == 0, name
        if name.startswith("databases/"):
            assert data["sqlalchemy_uri"] == URI_PLACEHOLDER
