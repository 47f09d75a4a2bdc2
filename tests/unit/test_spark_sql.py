"""segflow's SQL translated for Spark, without a Spark: binding, DML rewrites, dialect."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from segflow.warehouse.spark_sql import GUARD, translate

COLUMNS = {"main.segflow_builds": ["slot", "run_id", "as_of", "built_at", "published_at"]}


def _one(sql: str, params=()) -> str:
    statements = translate(sql, params, COLUMNS.__getitem__)
    assert len(statements) == 1
    return statements[0]


def test_values_become_literals_in_order_and_a_question_mark_in_text_stays():
    sql = _one(
        "select count(*) from t where a = ? and b between ? and ? and c ~ '^a?b$'",
        ("it's", 1, dt.date(2026, 1, 31)),
    )
    assert "a = 'it\\'s'" in sql
    assert "BETWEEN 1 AND CAST('2026-01-31' AS DATE)" in sql
    assert "RLIKE '^a?b$'" in sql


def test_a_backslash_in_a_value_stays_one_backslash():
    sql = _one("insert into raw.file_log (file) values (?)", ("a\\b",))
    assert "'a\\\\b'" in sql  # Spark reads '\\' as one backslash


def test_too_few_values_is_an_error():
    with pytest.raises(ValueError, match="2 placeholders for 1 values"):
        translate("select ? + ?", (1,), COLUMNS.__getitem__)


def test_dialect_differences_are_rendered():
    sql = _one(
        "select strpos(x, 'y') > 0, cast(x as varchar), cast(d + interval '-14 day' as date) from t"
    )
    assert "LOCATE('y', x) > 0" in sql
    assert "CAST(x AS STRING)" in sql
    assert "INTERVAL '-14' DAY" in sql


def test_delete_keeps_the_rows_where_the_condition_is_not_true():
    statements = translate(
        "delete from main.segflow_builds where published_at is null", (), COLUMNS.__getitem__
    )
    assert statements[0] == (
        f"{GUARD}select 1 from main.segflow_builds "
        "where coalesce((published_at IS NULL), false) limit 1"
    )
    create = next(s for s in statements if s.startswith("create table"))
    assert "where not coalesce((published_at IS NULL), false)" in create
    assert statements[-2] == (
        "insert overwrite table main.segflow_builds "
        "select * from main.segflow_builds__segflow_rewrite"
    )
    assert statements[-1].startswith("drop table")


def test_delete_without_a_condition_truncates():
    assert translate("delete from main.t", (), COLUMNS.__getitem__) == ["truncate table main.t"]


def test_update_rewrites_only_the_assigned_columns_where_the_condition_holds():
    statements = translate(
        "update main.segflow_builds set published_at = ? where run_id = ? and slot = ?",
        (dt.datetime(2026, 1, 2, 3, 4, 5), "r1", "segflow_a"),
        COLUMNS.__getitem__,
    )
    create = next(s for s in statements if s.startswith("create table"))
    assert "`slot`, `run_id`, `as_of`, `built_at`," in create
    assert (
        "case when coalesce((run_id = 'r1' AND slot = 'segflow_a'), false) "
        "then CAST('2026-01-02 03:04:05' AS TIMESTAMP) else `published_at` end as `published_at`"
    ) in create


def test_a_temporary_table_becomes_a_table_of_the_session():
    sql = _one("create temporary table scratch (day date not null, n decimal(18, 4))", ())
    assert sql == "CREATE TABLE scratch (day DATE NOT NULL, n DECIMAL(18, 4))"


def test_decimals_and_nulls_bind():
    sql = _one("select ?, ?", (Decimal("12.50"), None))
    assert sql == "SELECT 12.50, NULL"


def test_ctes_nested_in_a_union_stay_where_they_are_written():
    sql = _one(
        "insert into t (a) (with x as (select 1 as a) select a from x) "
        "union all (with x as (select 2 as a) select a from x)"
    )
    assert sql == (
        "INSERT INTO t (a) (WITH x AS (SELECT 1 AS a) SELECT a FROM x) "
        "UNION ALL (WITH x AS (SELECT 2 AS a) SELECT a FROM x)"
    )
