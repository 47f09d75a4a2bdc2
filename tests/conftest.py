"""Fixtures: a project environment on each real engine (DuckDB file, PostgreSQL database,
Spark through one local Thrift server for the whole test session).

PostgreSQL tests skip with a reason when no server is reachable, except with CI=true, where
they fail instead: CI must run them. Spark tests (marker `spark`) skip without the `spark`
extra (`./bootstrap --with spark`), except with CI=true; `.ci/run` gives them their own step.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from segflow.dbt import dbt_executable
from segflow.segments.compile import compile_project
from segflow.segments.project import load_project
from segflow.settings import DEFAULT_DBT_PROJECT_DIR, Settings, load_settings

PG_HOST = os.environ.get("SEGFLOW_TEST_PGHOST", "127.0.0.1")
PG_PORT = os.environ.get("SEGFLOW_TEST_PGPORT", "5432")
PG_USER = os.environ.get("SEGFLOW_TEST_PGUSER", "postgres")
ENV_VARS = (
    "SEGFLOW_SEGMENTS",
    "SEGFLOW_LANDING",
    "SEGFLOW_TARGET",
    "SEGFLOW_DUCKDB_PATH",
    "SEGFLOW_DUCKDB_MEMORY_LIMIT",
    "SEGFLOW_TIMEZONE",
    "SEGFLOW_MAX_BAD_SHARE",
    "SEGFLOW_NIGHTLY_HOUR",
    "SEGFLOW_HISTORY_START",
    "SEGFLOW_HOT_BACKFILL_DAYS",
    "SEGFLOW_MAX_SIZE_CHANGE",
    "SEGFLOW_SIZE_CHANGE_MIN_MEMBERS",
    "SEGFLOW_MAX_UNKNOWN_ARTICLE_SHARE",
    "PGHOST",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "SEGFLOW_SPARK_DIR",
    "SEGFLOW_SPARK_MASTER",
    "SEGFLOW_SPARK_HOST",
    "SEGFLOW_SPARK_PORT",
)
# The tests' own Spark server: its own port and folder, never a user's server or metastore.
SPARK_TEST_PORT = os.environ.get("SEGFLOW_TEST_SPARK_PORT", "10029")
SPARK_TEST_DIR = Path(
    os.environ.get(
        "SEGFLOW_TEST_SPARK_DIR",
        str(Path(__file__).resolve().parent.parent / "data" / "spark-tests"),
    )
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


@contextlib.contextmanager
def postgres_database(prefix: str = "segflow_test_") -> Iterator[str]:
    """A fresh, empty database (named `prefix` and a random part), dropped afterwards."""
    require_postgres()
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    with _admin_connection() as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        with _admin_connection() as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def spark_problem() -> str | None:
    import importlib.util

    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("pyhive") is None:
        return "the spark extra is not installed: ./bootstrap --with spark"
    return None


def require_spark() -> None:
    problem = spark_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true requires Spark: {problem}")
    pytest.skip(problem)


_spark_started = False


def pytest_sessionfinish(session, exitstatus):
    """Stop the tests' Spark server when this session used it."""
    if _spark_started:
        from segflow.spark.server import SparkServerSettings, stop

        stop(SparkServerSettings(spark_dir=SPARK_TEST_DIR, port=int(SPARK_TEST_PORT)))


def reset_spark() -> None:
    """An empty Spark warehouse for the next project: every schema of the tests' server but
    `default` dropped (one server serves the session: a JVM start costs ~20 s)."""
    from segflow.spark.connection import SparkConnection, quote
    from segflow.spark.server import SparkServerSettings

    global _spark_started
    _spark_started = True
    settings = SparkServerSettings(spark_dir=SPARK_TEST_DIR, port=int(SPARK_TEST_PORT))
    with SparkConnection(settings) as conn:
        for (schema,) in conn.query("show schemas"):
            if schema != "default":
                conn.execute(f"drop schema if exists {quote(schema)} cascade")


def copy_dbt_project(dest: Path) -> Path:
    """The project's dbt project without artifacts or generated models, for a test to compile."""
    shutil.copytree(
        DEFAULT_DBT_PROJECT_DIR,
        dest,
        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "segments"),
    )
    return dest


def configure_project(
    mp: pytest.MonkeyPatch, root: Path, engine: str, database: str | None = None
) -> Settings:
    """Point every setting at a project in `root` on `engine`; compile its (empty) segments."""
    for var in ENV_VARS:
        mp.delenv(var, raising=False)
    root.mkdir(parents=True, exist_ok=True)
    mp.chdir(root)
    for folder in ("landing", "segments", "dagster_home"):
        (root / folder).mkdir(exist_ok=True)
    mp.setenv("SEGFLOW_TARGET", engine)
    mp.setenv("SEGFLOW_LANDING", str(root / "landing"))
    mp.setenv("SEGFLOW_SEGMENTS", str(root / "segments"))
    mp.setenv("SEGFLOW_DUCKDB_PATH", str(root / "warehouse.duckdb"))
    mp.setenv("SEGFLOW_TIMEZONE", "Europe/Berlin")
    mp.setenv("SEGFLOW_DBT_PROJECT", str(copy_dbt_project(root / "dbt_project")))
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    if engine == "postgres":
        assert database
        mp.setenv("PGHOST", PG_HOST)
        mp.setenv("PGPORT", PG_PORT)
        mp.setenv("PGUSER", PG_USER)
        mp.setenv("PGDATABASE", database)
    if engine == "spark":
        require_spark()
        mp.setenv("SEGFLOW_SPARK_DIR", str(SPARK_TEST_DIR))
        mp.setenv("SEGFLOW_SPARK_PORT", SPARK_TEST_PORT)
        reset_spark()
    settings = load_settings(dotenv=False)
    compile_segments(settings)
    return settings


def dbt_show(settings: Settings, sql: str) -> list[dict]:
    """The rows `dbt show --inline` gives for `sql`, on the project's target, through the
    profile and environment a build uses."""
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
    return [row for preview in previews if preview for row in json.loads(preview)]


def compile_segments(settings: Settings) -> None:
    compile_project(
        load_project(settings.segments_dir), settings.segments_dir, settings.dbt_project_dir
    )


def write_segments(settings: Settings, segments: dict[str, str]) -> None:
    """Write each segment's YAML (name -> text) into the project and compile them."""
    for name, text in segments.items():
        (settings.segments_dir / f"{name}.yml").write_text(text)
    compile_segments(settings)


ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
# The suites that hold all three engines against each other. Their Spark runs are the
# `spark` step of .ci/run, except where a suite takes ALL_ENGINES_SLOW_SPARK: the hand-worked
# fixtures on Spark cost ~13 minutes on a quiet machine (a dbt build of 69 segment models
# and their tests through Thrift, then a query per test), so they run with `-m spark`,
# not in CI.
ALL_ENGINES = [*ENGINES, pytest.param("spark", marks=pytest.mark.spark)]
ALL_ENGINES_SLOW_SPARK = [
    *ENGINES,
    pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.slow]),
]


def project_per_engine(request, tmp_path_factory, name: str, make) -> Iterator:
    """Body of a module-scoped fixture parametrised over ENGINES: a fresh project root (and
    PostgreSQL database) per engine, set up by `make(mp, root, engine, database)`."""
    engine = request.param
    root = tmp_path_factory.mktemp(f"{name}_{engine}")
    with pytest.MonkeyPatch.context() as mp:
        if engine == "postgres":
            with postgres_database() as database:
                yield make(mp, root, engine, database)
        else:
            yield make(mp, root, engine, None)


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture
def project(engine: str, tmp_path: Path, monkeypatch) -> Iterator[Settings]:
    """Settings of a project in a temporary folder on the given engine."""
    if engine == "postgres":
        with postgres_database() as database:
            yield configure_project(monkeypatch, tmp_path, engine, database)
    else:
        yield configure_project(monkeypatch, tmp_path, engine)
