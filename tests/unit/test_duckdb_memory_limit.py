"""SEGFLOW_DUCKDB_MEMORY_LIMIT bounds DuckDB's buffer pool in segflow's connection and in dbt's."""

from __future__ import annotations

import pytest

from segflow.errors import SettingsError
from segflow.settings import load_settings
from segflow.warehouse import open_warehouse
from tests.conftest import configure_project, dbt_show


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
    assert dbt_show(settings, "select current_setting('memory_limit') as memory_limit") == [
        {"memory_limit": "1.5 GiB"}
    ]
