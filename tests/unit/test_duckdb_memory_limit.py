"""SEGFLOW_DUCKDB_MEMORY_LIMIT bounds DuckDB's buffer pool in segflow's connection and in dbt's."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from segflow.dbt import dbt_executable
from segflow.errors import SettingsError
from segflow.settings import load_settings
from segflow.warehouse import open_warehouse
from tests.conftest import configure_project


def test_a_wrong_limit_is_named_in_one_sentence(monkeypatch):
    monkeypatch.setenv("SEGFLOW_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(SettingsError) as error:
        load_settings(dotenv=False)
    assert str(error.value) == (
        "SEGFLOW_DUCKDB_MEMORY_LIMIT='lots' must be an amount of memory such as '4GB' or "
        "'8GiB', or a share of RAM such as '50%'."
    )


def test_segflow_and_dbt_open_duckdb_with_the_limit(tmp_path, monkeypatch):
    settings = configure_project(monkeypatch, tmp_path, "duckdb")
    assert settings.duckdb_memory_limit == "80%"  # DuckDB's own default
    monkeypatch.setenv("SEGFLOW_DUCKDB_MEMORY_LIMIT", "1.5 GiB")
    settings = load_settings(dotenv=False)
    with open_warehouse(settings) as wh:
        assert wh.scalar("select current_setting('memory_limit')") == "1.5 GiB"
    shown = subprocess.run(
        [
            dbt_executable(),
            "show",
            "--inline",
            "select current_setting('memory_limit') as memory_limit",
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
    assert [json.loads(p) for p in previews if p] == [[{"memory_limit": "1.5 GiB"}]]
