"""A day of a range read from the totals before the range plus its changes since
(segflow/segments/range_totals.py) gives every feature the per-day aggregates read whole give,
for every shape of window: lifetime, `last` in days and months, fixed and relative `from` and
`to`. The timeline has what a sum of parts could get wrong: an order on the base's day whose
return falls in the range, a receipt across midnight into the range's first day, an order
line after a zero-quantity line, rows that leave a window and rows that enter one."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import duckdb
import pytest

from segflow.segments.daily import (
    DAILY_EVENTS,
    DAILY_SALES,
    daily_events_sql,
    daily_sales_sql,
    features_from_daily_sql,
)
from segflow.segments.fields import ZERO_WHEN_NOTHING
from segflow.segments.model import MetricLeaf
from segflow.segments.range_totals import (
    RangeBase,
    has_range_population,
    has_range_totals,
    range_base_sql,
    range_features_sql,
    range_people_sql,
    range_population_sql,
    range_rows_sql,
)
from segflow.segments.sql import (
    POPULATION_COLUMNS,
    date_literal,
    direct_context,
    feature_of,
    population_sql,
)

BASE_DAY = date(2026, 3, 9)  # the day before the range
DAYS = [BASE_DAY + timedelta(days=i) for i in range(1, 6)]  # 03-10 .. 03-14
DAILY = {DAILY_SALES: "daily_sales", DAILY_EVENTS: "daily_events"}
BASE = RangeBase(date_literal(BASE_DAY), {DAILY_SALES: "base_sales", DAILY_EVENTS: "base_events"})
# The same base, each day's changes read from the rows the range's days read (taken once).
WITH_ROWS = RangeBase(
    BASE.day, BASE.relations, {DAILY_SALES: "rows_sales", DAILY_EVENTS: "rows_events"}
)


def _feature(**spec):
    return feature_of(MetricLeaf.model_validate({**spec, "gte": 1}))


WINDOWS = [None, {"last": "3d"}, {"last": "1m"}, {"from": "2026-03-08"}, {"to": "-2d"}]
FEATURES = [
    *(
        _feature(metric=m, **({"window": w} if w else {}))
        for m in ("orders", "revenue", "items", "avg_order_value", "events", "points")
        for w in WINDOWS
    ),
    _feature(metric="days_since_last_order"),
    _feature(metric="days_since_first_order"),
    _feature(metric="days_since_last_event"),
    _feature(metric="orders", where={"brand": "nordlicht"}, window={"last": "2d"}),
    _feature(metric="events", event=["app_open"]),
]

LINES = [  # customer, transaction, day, quantity, amount, brand
    ("A", "A1", "2026-02-01", 1, 10, "Nordlicht"),
    ("A", "A2", "2026-03-09", 1, 20, "Stride"),  # an order on the base's day ...
    ("A", "A2", "2026-03-11", -1, -20, "Stride"),  # ... returned in the range: one order
    ("B", "B1", "2026-03-09", 1, 30, "Nordlicht"),  # across midnight into the range
    ("B", "B1", "2026-03-10", 1, 5, "Stride"),
    ("B", "B2", "2026-03-12", 2, 8, "Nordlicht"),
    ("C", "C1", "2026-03-07", 1, 50, "Stride"),  # before the range only: leaves the windows
    ("C", "C2", "2026-02-20", 3, 70, "Nordlicht"),
    ("E", "E1", "2026-03-12", 1, 12, "Stride"),  # in the range only
    ("F", "F1", "2026-03-05", 0, 1, "Stride"),  # a zero-quantity line before ...
    ("F", "F1", "2026-03-10", 1, 9, "Stride"),  # ... and the order line in the range
    ("G", "G1", "2026-03-14", 1, 4, "Nordlicht"),  # on the range's last day
    ("H", "H1", "2026-02-12", 2, 15, "Stride"),  # leaves the month's window in the range
]
EVENTS = [  # customer, day, event type, points
    ("A", "2026-02-01", "app_open", 0),
    ("A", "2026-03-11", "points_earned", 40),
    ("C", "2026-03-08", "points_earned", 100),
    ("C", "2026-02-10", "app_open", 5),
    ("E", "2026-03-12", "app_open", 0),
    ("G", "2026-03-09", "app_open", 1),
    ("H", "2026-02-11", "points_earned", 30),  # leaves the month's window in the range
]


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "create table lines (customer_id varchar, transaction_id varchar, occurred_on date, "
        "quantity integer, amount decimal(18, 4), brand varchar)"
    )
    con.executemany("insert into lines values (?, ?, ?, ?, ?, ?)", LINES)
    con.execute(
        "create table events (customer_id varchar, occurred_on date, event_type varchar, "
        "points integer)"
    )
    con.executemany("insert into events values (?, ?, ?, ?)", EVENTS)
    lines = direct_context(DAYS[-1], {"int_sales_lines": "lines", "int_events": "events"})
    con.execute(f"create table daily_sales as {daily_sales_sql(FEATURES, lines)}")
    con.execute(f"create table daily_events as {daily_events_sql(FEATURES, lines)}")
    before = direct_context(BASE_DAY, DAILY)
    for loyalty, name in ((False, DAILY_SALES), (True, DAILY_EVENTS)):
        con.execute(
            f"create table {BASE.relations[name]} as {range_base_sql(FEATURES, loyalty, before)}"
        )
        rows = range_rows_sql(FEATURES, loyalty, direct_context(DAYS[-1], DAILY), BASE.day)
        con.execute(f"create table {WITH_ROWS.rows[name]} as {rows}")
    return con


def _features(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, dict[str, object]]:
    result = con.execute(sql)
    names = [d[0] for d in result.description]
    return {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in result.fetchall()}


@pytest.mark.parametrize("base", [BASE, WITH_ROWS], ids=["every_row", "range_rows"])
@pytest.mark.parametrize("day", DAYS, ids=str)
@pytest.mark.parametrize("loyalty", [False, True], ids=["sales", "events"])
def test_a_day_of_the_range_equals_the_per_day_aggregates_read_whole(con, day, loyalty, base):
    ctx = direct_context(day, DAILY)
    assert has_range_totals(FEATURES, loyalty)
    from_base = _features(con, range_features_sql(FEATURES, loyalty, ctx, base))
    whole = _features(con, features_from_daily_sql(FEATURES, loyalty, ctx))
    columns = {f.column: f for f in FEATURES if f.is_loyalty == loyalty}
    assert set(whole) <= set(from_base)
    checked = 0
    for customer, values in from_base.items():
        assert set(values) == set(columns)
        for column, value in values.items():
            expected = whole.get(customer, {}).get(column)
            if columns[column].metric in ZERO_WHEN_NOTHING:  # read as 0 when missing
                value, expected = value or 0, expected or 0
            assert value == expected, (customer, column)
            checked += expected not in (0, None)
    assert checked > 10  # the timeline gives the features values, not only zeros


def test_a_windowed_last_or_first_day_is_read_whole():
    """A maximum over a window cannot be undone when a day leaves it: such a source is
    evaluated from the per-day aggregates, whole, each day."""
    windowed = [_feature(metric="days_since_last_order", window={"last": "30d"})]
    assert not has_range_totals([*FEATURES, *windowed], False)
    assert has_range_totals([*FEATURES, *windowed], True)


@pytest.mark.parametrize("loyalty", [False, True], ids=["sales", "events"])
def test_the_range_rows_are_few(con, loyalty):
    """The rows a range reads are its days', those a window bound passed, and the spanning
    transactions': not every row of history."""
    name = DAILY_EVENTS if loyalty else DAILY_SALES
    (kept,) = con.execute(f"select count(*) from {WITH_ROWS.rows[name]}").fetchone()
    (every,) = con.execute(f"select count(*) from {DAILY[name]}").fetchone()
    assert 0 < kept < every


VERSIONS = [  # customer, signup, valid from, valid to, status, erased
    ("A", "2025-01-01", None, None, "active", False),
    ("B", "2025-01-01", None, "2026-03-12", "active", False),  # blocked from the 12th on
    ("B", "2025-01-01", "2026-03-12", None, "blocked", False),
    ("C", "2026-03-11", None, None, "active", False),  # signs up in the range
    ("E", "2025-01-01", None, None, "active", False),
    ("F", "2025-01-01", None, None, "active", True),  # erased
    ("G", "2025-01-01", None, None, "active", False),
    ("H", "2025-01-01", None, None, "active", False),
    ("Z", "2025-01-01", None, None, "active", False),  # no line, no event
]


@pytest.fixture(scope="module")
def versions(con) -> str:
    con.execute(
        "create table versions (customer_id varchar, email varchar, first_name varchar, "
        "last_name varchar, gender varchar, birth_date date, signup_date date, "
        "signup_store varchar, language varchar, country varchar, postal_code varchar, "
        "app_user boolean, login_method varchar, email_opt_in boolean, push_opt_in boolean, "
        "is_employee boolean, status varchar, valid_from date, valid_to date, "
        "is_erased boolean)"
    )
    for customer, signup, valid_from, valid_to, status, erased in VERSIONS:
        con.execute(
            "insert into versions values (?, 'x@example.com', 'X', 'Y', 'f', "
            "date '1980-03-11', ?, 's1', 'de', 'DE', '10115', true, 'email', true, false, "
            "false, ?, ?, ?, ?)",
            [customer, signup, status, valid_from, valid_to, erased],
        )
    return "versions"


@pytest.mark.parametrize("base", [BASE, WITH_ROWS], ids=["every_row", "range_rows"])
@pytest.mark.parametrize("day", DAYS, ids=str)
def test_a_days_population_carries_the_features_its_joins_give(con, versions, day, base):
    """`range_population_sql` (the population with its features on each row, from the
    versions joined to the bases once) gives every customer of the population at D the
    profile `population_sql` gives and the features `range_features_sql` gives."""
    none = (None, None)
    assert has_range_population(FEATURES)
    people = f"people_{base is WITH_ROWS:d}"
    con.execute(
        f"create or replace table {people} as {range_people_sql(FEATURES, none, versions, base)}"
    )
    ctx = direct_context(day, {**DAILY, "int_customer_versions": versions})
    carried = _features(
        con, range_population_sql(FEATURES, ctx, replace(base, people=people), none)
    )
    population = _features(con, population_sql(ctx))
    features = {
        loyalty: _features(con, range_features_sql(FEATURES, loyalty, ctx, base))
        for loyalty in (False, True)
    }
    assert set(carried) == set(population)
    assert "Z" in carried and "F" not in carried  # no rows at all; erased
    for customer, values in carried.items():
        assert set(values) == set(POPULATION_COLUMNS[1:]) | {f.column for f in FEATURES}
        for column in POPULATION_COLUMNS[1:]:
            assert values[column] == population[customer][column], (customer, column)
        for feature in FEATURES:
            value = values[feature.column]
            expected = features[feature.is_loyalty].get(customer, {}).get(feature.column)
            if feature.metric in ZERO_WHEN_NOTHING:  # read as 0 when missing
                value, expected = value or 0, expected or 0
            assert value == expected, (customer, feature.column)


def test_the_features_ride_on_the_population_only_where_every_source_reads_a_base():
    """Without a feature, or with a source whose features are read whole each day (a
    windowed last or first day), a range's days read their features as before."""
    assert has_range_population(FEATURES)
    assert not has_range_population([])
    windowed = [_feature(metric="days_since_last_order", window={"last": "30d"})]
    assert not has_range_population([*FEATURES, *windowed])
