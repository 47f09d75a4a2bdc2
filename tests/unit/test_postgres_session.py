"""segflow's and dbt's PostgreSQL sessions run without JIT (segflow/settings.py says why), and
keep the options a user gives in PGOPTIONS."""

from __future__ import annotations

from segflow.settings import load_settings
from segflow.warehouse import open_warehouse
from tests.conftest import configure_project, dbt_show, postgres_database


def test_segflow_and_dbt_sessions_run_without_jit(tmp_path, monkeypatch):
    with postgres_database() as database:
        configure_project(monkeypatch, tmp_path, "postgres", database)
        monkeypatch.setenv("PGOPTIONS", "-c work_mem=64MB")
        settings = load_settings(dotenv=False)
        with open_warehouse(settings) as wh:
            assert wh.scalar("select current_setting('jit')") == "off"
        rows = dbt_show(
            settings,
            "select current_setting('jit') as jit, current_setting('work_mem') as work_mem",
        )
        assert rows == [{"jit": "off", "work_mem": "64MB"}]
