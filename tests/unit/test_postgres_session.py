"""segflow's and dbt's PostgreSQL sessions run without JIT (segflow/settings.py says why), and
keep the options a user gives in PGOPTIONS."""

from __future__ import annotations

import json
import os
import subprocess

from segflow.dbt import dbt_executable
from segflow.settings import load_settings
from segflow.warehouse import open_warehouse
from tests.conftest import configure_project, postgres_database


def _dbt_show(settings, sql: str) -> list[dict]:
    shown = subprocess.run(
        [
            dbt_executable(),
            "show",
            "--inline",
            sql,
            "--project-dir",
            str(settings.dbt_project_dir),
            "--profiles-dir",
            str(settings.dbt_project_dir),
            "--output",
            "json",
            "--log-format",
            "json",
        ],
        env={**os.environ, **settings.dbt_env()},
        capture_output=True,
        text=True,
        check=True,
    )
    previews = [
        json.loads(line)["data"].get("preview")
        for line in shown.stdout.splitlines()
        if line.startswith("{") and '"preview"' in line
    ]
    return [row for p in previews if p for row in json.loads(p)]


def test_segflow_and_dbt_sessions_run_without_jit(tmp_path, monkeypatch):
    with postgres_database() as database:
        configure_project(monkeypatch, tmp_path, "postgres", database)
        monkeypatch.setenv("PGOPTIONS", "-c work_mem=64MB")
        settings = load_settings(dotenv=False)
        with open_warehouse(settings) as wh:
            assert wh.scalar("select current_setting('jit')") == "off"
        rows = _dbt_show(
            settings,
            "select current_setting('jit') as jit, current_setting('work_mem') as work_mem",
        )
        assert rows == [{"jit": "off", "work_mem": "64MB"}]
