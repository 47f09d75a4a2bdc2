"""Binding values into Spark SQL: no server needed (segflow/spark/connection.py)."""

import datetime as dt
from decimal import Decimal

import pytest

pytest.importorskip("pyarrow")

from segflow.spark.connection import bind, quote, spark_literal  # noqa: E402
from segflow.spark.server import SparkServerSettings  # noqa: E402


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "NULL"),
        (True, "TRUE"),
        (3, "3"),
        (2**40, f"{2**40}L"),
        (1.5, "1.5D"),
        (Decimal("12.3400"), "12.3400BD"),
        (Decimal("1E+2"), "100BD"),
        (dt.date(2024, 2, 29), "DATE '2024-02-29'"),
        (dt.datetime(2024, 1, 1, 12, 0), "TIMESTAMP '2024-01-01 12:00:00'"),
        (
            dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "TIMESTAMP '2024-01-01 10:00:00'",
        ),
        ("it's", "'it\\'s'"),
        ("a\\b", "'a\\\\b'"),
        ("line\nnext", "'line\\nnext'"),
        (b"\x01\xff", "X'01ff'"),
    ],
)
def test_literals(value, literal):
    assert spark_literal(value) == literal


def test_a_backslash_before_the_quote_cannot_end_the_literal():
    # 'x\' would end nowhere (or let the rest run as SQL): the backslash is doubled first
    assert spark_literal("x\\") == "'x\\\\'"
    assert spark_literal("\\'; drop table t; --") == "'\\\\\\'; drop table t; --'"


def test_bind_replaces_only_placeholders_outside_literals_identifiers_and_comments():
    sql = "select '?', \"?\", `a?b`, x -- ?\n from t /* ? */ where a = ? and b = ?"
    assert bind(sql, ("v", 2)) == (
        "select '?', \"?\", `a?b`, x -- ?\n from t /* ? */ where a = 'v' and b = 2"
    )


def test_bind_reads_escaped_quotes_inside_literals():
    assert bind("select 'it''s ?', 'a\\'?', ?", (1,)) == "select 'it''s ?', 'a\\'?', 1"


def test_without_values_the_sql_is_sent_as_it_is():
    sql = "select 'x' rlike '^a?$' where y = ?"
    assert bind(sql, ()) == sql


def test_placeholders_and_values_must_match():
    with pytest.raises(ValueError):
        bind("select ?, ?", (1,))
    with pytest.raises(ValueError):
        bind("select ?", (1, 2))


def test_quote_doubles_backquotes():
    assert quote("a`b") == "`a``b`"


def test_settings_from_the_environment(tmp_path):
    s = SparkServerSettings.from_env({"SEGFLOW_SPARK_DIR": "spark"}, base=tmp_path)
    assert s.spark_dir == tmp_path / "spark"
    assert (s.host, s.port, s.master, s.schema) == ("127.0.0.1", 10009, "local[2]", "main")
    assert s.is_local
    assert s.dbt_env() == {
        "SEGFLOW_SPARK_HOST": "127.0.0.1",
        "SEGFLOW_SPARK_PORT": "10009",
        "SEGFLOW_SPARK_SCHEMA": "main",
    }
    remote = SparkServerSettings.from_env(
        {"SEGFLOW_SPARK_HOST": "spark.example", "SEGFLOW_SPARK_PORT": "10000"}, base=tmp_path
    )
    assert not remote.is_local


@pytest.mark.parametrize("env", [{"SEGFLOW_SPARK_PORT": "x"}, {"SEGFLOW_SPARK_SCHEMA": "default"}])
def test_wrong_settings_name_the_variable(env, tmp_path):
    from segflow.errors import SettingsError

    with pytest.raises(SettingsError, match=next(iter(env))):
        SparkServerSettings.from_env(env, base=tmp_path)
