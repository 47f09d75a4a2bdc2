"""Fixtures: a project environment on each real engine (DuckDB file, PostgreSQL database).

PostgreSQL tests skip with a reason when no server is reachable, except with CI=true, where
they fail instead: CI must run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from segflow.settings import Settings, load_settings

PG_HOST = os.environ.get("SEGFLOW_TEST_PGHOST", "127.0.0.1")
PG_PORT = os.environ.get("SEGFLOW_TEST_PGPORT", "5432")
PG_USER = os.environ.get("SEGFLOW_TEST_PGUSER", "postgres")
ENV_VARS = (
    "SEGFLOW_SEGMENTS",
    "SEGFLOW_LANDING",
    "SEGFLOW_TARGET",
    "SEGFLOW_DUCKDB_PATH",
    "SEGFLOW_TIMEZONE",
    "SEGFLOW_MAX_BAD_SHARE",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
)


def _admin_connection():
    import psycopg

    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        dbname="postgres",
        connect_timeout=3,
        autocommit=True,
    )


def postgres_problem() -> str | None:
    try:
        _admin_connection().close()
    except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
        return f"no PostgreSQL server reachable at {PG_HOST}:{PG_PORT} as {PG_USER}: {exc}"
    return None


def require_postgres() -> None:
    problem = postgres_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true requires PostgreSQL: {problem}")
    pytest.skip(problem)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh, empty database, dropped afterwards."""
    require_postgres()
    name = f"segflow_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        with _admin_connection() as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture
def project(engine: str, tmp_path: Path, monkeypatch, request) -> Settings:
    """Settings of a project in a temporary folder on the given engine."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("SEGFLOW_TARGET", engine)
    monkeypatch.setenv("SEGFLOW_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("SEGFLOW_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("SEGFLOW_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    if engine == "postgres":
        database = request.getfixturevalue("postgres_database")
        monkeypatch.setenv("PGHOST", PG_HOST)
        monkeypatch.setenv("PGPORT", PG_PORT)
        monkeypatch.setenv("PGUSER", PG_USER)
        monkeypatch.setenv("PGDATABASE", database)
    return load_settings(dotenv=False)
