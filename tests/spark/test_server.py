"""A real local Spark Thrift server in a folder of its own (`-m spark`; about a minute).

Skipped unless pyspark, PyHive and Java are installed (`./bootstrap --with spark`)."""

import datetime as dt
import os
import shutil
import time
from decimal import Decimal

import pyarrow as pa
import pytest

pytest.importorskip("pyspark")
pytest.importorskip("pyhive")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java", allow_module_level=True)

from segflow.spark import SparkConnection, SparkServerSettings, ensure_running, status, stop  # noqa: E402
from segflow.spark.connection import SparkError  # noqa: E402

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    folder = tmp_path_factory.mktemp("spark")
    s = SparkServerSettings.from_env(
        {"SEGFLOW_SPARK_DIR": str(folder), "SEGFLOW_SPARK_PORT": "10039"}
    )
    took = ensure_running(s)
    assert took > 0
    yield s
    assert stop(s)
    assert not status(s).reachable


@pytest.fixture
def conn(settings):
    with SparkConnection(settings) as c:
        c.execute("create schema if not exists t")
        yield c
        c.execute("drop schema if exists t cascade")


def test_the_running_server_is_reused(settings):
    began = time.monotonic()
    assert ensure_running(settings) == 0.0
    assert time.monotonic() - began < 2
    st = status(settings)
    assert st.reachable and st.managed
    assert (settings.spark_dir / "metastore_db").is_dir()


def test_statements_values_and_types(conn):
    conn.execute(
        "create table t.x (s string, b boolean, d date, ts timestamp, n bigint, "
        "m decimal(18, 4)) using parquet"
    )
    conn.execute(
        "insert into t.x values (?, ?, ?, ?, ?, ?)",
        (
            "it's a \\ ?",
            True,
            dt.date(2024, 2, 29),
            dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC),
            7,
            Decimal("1.5"),
        ),
    )
    row = conn.query("select * from t.x where s = ?", ("it's a \\ ?",))[0]
    assert row == (
        "it's a \\ ?",
        True,
        dt.date(2024, 2, 29),
        dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC),
        7,
        Decimal("1.5000"),
    )
    names, rows = conn.query_with_names("select s, n from t.x")
    assert names == ["s", "n"] and rows == [("it's a \\ ?", 7)]
    assert conn.scalar("select count(*) from t.x where s rlike '^it.s'") == 1
    assert conn.table_exists("t", "x") and conn.table_exists("T", "X")
    assert not conn.table_exists("t", "y") and not conn.table_exists("nope", "x")
    conn.execute("create or replace view t.v as select s from t.x")
    assert conn.table_exists("t", "v")


def test_bulk_insert_goes_through_parquet(conn, settings):
    conn.execute("create table t.b (id bigint, name string, at timestamp, day date) using parquet")
    n = 50_000
    data = pa.table(
        {
            "name": [f"n{i}" for i in range(n)],
            "id": list(range(n)),
            "at": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * n, pa.timestamp("ns", "UTC")),
            "day": [dt.date(2024, 1, 1)] * n,
        }
    )
    conn.bulk_insert("t.b", data)
    assert conn.scalar("select count(*), sum(id) from t.b") == n
    assert conn.query("select max(id), min(day) from t.b") == [(n - 1, dt.date(2024, 1, 1))]
    assert not list(settings.staging_dir.iterdir())  # the staging file is gone


def test_transaction_runs_statements_in_order_without_rollback(conn):
    conn.execute("create table t.tx (n int) using parquet")
    with pytest.raises(SparkError), conn.transaction():
        conn.execute("insert into t.tx values (1)")
        with conn.transaction():
            conn.execute("insert into nowhere.nothing values (2)")
    assert conn.scalar("select count(*) from t.tx") == 1  # no rollback on Spark


def test_a_rejected_statement_names_spark_s_error(conn):
    with pytest.raises(SparkError, match="TABLE_OR_VIEW_NOT_FOUND") as err:
        conn.query("select * from t.missing")
    assert err.value.sql == "select * from t.missing"
