"""Windows of days and of months in one query stay apart on DuckDB: `last: 90d` and
`last: 3m` (or 30d and 1m) differ by a few days, and DuckDB 2.0 took two aggregates that
differed only by such intervals for one (`interval '90 day' = interval '3 month'` holds
there), so one window was read for both."""

from __future__ import annotations

from datetime import date

import duckdb

from segflow.segments.daily import daily_events_sql, daily_sales_sql, features_from_daily_sql
from segflow.segments.model import MetricLeaf
from segflow.segments.sql import direct_context, feature_of, features_sql

D = date(2026, 11, 23)  # 90 days back: 08-25; 3 months back: 08-23; 1 month: 10-23


def _feature(**spec):
    return feature_of(MetricLeaf.model_validate(spec))


FEATURES = [
    _feature(metric="orders", window={"last": "90d"}, gte=1),
    _feature(metric="orders", window={"last": "3m"}, gte=1),
    _feature(metric="events", event=["app_open"], window={"last": "30d"}, gte=1),
    _feature(metric="events", event=["app_open"], window={"last": "1m"}, gte=1),
]
EXPECTED = {
    "orders_last_3m": 1,  # the order of 08-24
    "orders_last_90d": 0,
    "events_app_open_last_1m": 1,  # the event of 10-24
    "events_app_open_last_30d": 0,
}


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "create table lines as select 'A' as customer_id, 'T1' as transaction_id, "
        "date '2026-08-24' as occurred_on, 1 as quantity, 10.0 as amount"
    )
    con.execute(
        "create table events as select 'A' as customer_id, date '2026-10-24' as occurred_on, "
        "'app_open' as event_type, 0 as points"
    )
    return con


def _values(con: duckdb.DuckDBPyConnection, sales: str, events: str) -> dict[str, int]:
    row = {}
    for sql in (sales, events):
        result = con.execute(f"select * from ({sql}) as f where customer_id = 'A'")
        names = [d[0] for d in result.description]
        row.update(dict(zip(names, result.fetchone(), strict=True)))
    # A count over no row is missing in the per-day form: segments read it as 0.
    return {name: row[name] or 0 for name in EXPECTED}


def test_over_the_lines():
    con = _warehouse()
    ctx = direct_context(D, {"int_sales_lines": "lines", "int_events": "events"})
    sales, events = features_sql(FEATURES, False, ctx), features_sql(FEATURES, True, ctx)
    assert _values(con, sales, events) == EXPECTED


def test_over_per_day_aggregates():
    con = _warehouse()
    ctx = direct_context(D, {"int_sales_lines": "lines", "int_events": "events"})
    con.execute(f"create table daily_sales as {daily_sales_sql(FEATURES, ctx)}")
    con.execute(f"create table daily_events as {daily_events_sql(FEATURES, ctx)}")
    ctx = direct_context(D, {"int_daily_sales": "daily_sales", "int_daily_events": "daily_events"})
    sales = features_from_daily_sql(FEATURES, False, ctx)
    events = features_from_daily_sql(FEATURES, True, ctx)
    assert _values(con, sales, events) == EXPECTED
