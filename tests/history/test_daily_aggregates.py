"""A range of days is evaluated from per-day aggregates (segflow/segments/daily.py): the same
members as each day evaluated on its own over the lines, on DuckDB and PostgreSQL.

The timeline has transactions whose lines fall on two local days (a receipt that crosses
midnight, a return dated later, a zero-quantity line the day before the order), where
summing per-day orders would count one order twice; each day is worked out by hand.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from segflow.evaluation import queries as evaluate
from segflow.evaluation.recorded import recorded_members
from segflow.evaluation.relations import kept_daily
from segflow.history.record import record_history
from segflow.segments.daily import DAILY_EVENTS, DAILY_SALES, DAILY_SCHEMA
from segflow.warehouse import open_warehouse
from tests.conftest import (
    ALL_ENGINES_SLOW_SPARK,
    project_per_engine,
)
from tests.history.timeline import timeline_project

CUSTOMERS = [[f"S{i}", f"s{i}@x.com", "2026-01-01", "2026-01-01 10:00"] for i in range(1, 5)]
TRANSACTIONS = [
    # T1 crosses midnight (local times): one order, on the 3rd and on the 4th.
    ["T1", "1", "S1", "2026-03-03 23:50", "P1", "1", "30.00"],
    ["T1", "2", "S1", "2026-03-04 00:10", "P2", "1", "10.00"],
    ["T2", "1", "S1", "2026-03-06 12:00", "P2", "1", "10.00"],
    # T3's return is dated later: the order is on the 2nd, the return's amount on the 5th.
    ["T3", "1", "S2", "2026-03-02 12:00", "P1", "1", "20.00"],
    ["T3", "2", "S2", "2026-03-05 12:00", "P1", "-1", "-20.00"],
    ["T4", "1", "S3", "2026-03-04 12:00", "P1", "1", "5.00"],
    ["T4", "2", "S3", "2026-03-04 13:00", "P2", "2", "6.00"],
    # T5: a zero-quantity line on the 3rd (no order), its order line on the 5th.
    ["T5", "1", "S4", "2026-03-03 12:00", "P2", "0", "1.00"],
    ["T5", "2", "S4", "2026-03-05 12:00", "P2", "1", "9.00"],
]
SEGMENTS = {
    "two_orders": "title: Two orders or more\nrules: {metric: orders, gte: 2}\n",
    "ordered_today": (
        "title: An order today\nrules: {metric: orders, window: {last: 1d}, eq: 1}\n"
    ),
    "two_orders_in_2_days": (
        "title: Two orders in two days\nrules: {metric: orders, window: {last: 2d}, gte: 2}\n"
    ),
    "nordlicht_order_in_2_days": """title: A Nordlicht order in two days
rules:
  metric: orders
  where: {brand: {eq: Nordlicht}}
  window: {last: 2d}
  gte: 1
""",
    "big_average_order": (
        "title: Average order of 40 or more\nrules: {metric: avg_order_value, gte: 40}\n"
    ),
    "ordered_within_a_day": (
        "title: Last order yesterday or today\nrules: {metric: days_since_last_order, lte: 1}\n"
    ),
    "first_order_2_days_ago": (
        "title: First order two days ago\nrules: {metric: days_since_first_order, eq: 2}\n"
    ),
    "revenue_over_15_in_3_days": (
        "title: Revenue over 15 in three days\n"
        "rules: {metric: revenue, window: {last: 3d}, gt: 15}\n"
    ),
    # Two line filters whose words agree (brand nordlicht, campaign_code is missing): each
    # needs columns of its own in the per-day aggregates.
    "nordlicht_without_campaign": """title: A Nordlicht order without a campaign
rules:
  metric: orders
  where: {brand: nordlicht, campaign_code: {is: missing}}
  gte: 1
""",
    "odd_brand": """title: An order of a brand nobody sells
rules:
  metric: orders
  where: {brand: nordlicht_campaign_code_is_missing}
  gte: 1
""",
}
DAYS = [date(2026, 3, 2) + timedelta(days=i) for i in range(7)]  # 03-02 .. 03-08

# segment: {day: members}, worked out by hand (days not listed: nobody)
BY_HAND: dict[str, dict[date, set[str]]] = {
    # S1: T1 (one order, though on two days), then T2 on the 6th
    "two_orders": {d: {"S1"} for d in DAYS[4:]},
    "ordered_today": {
        DAYS[0]: {"S2"},
        DAYS[1]: {"S1"},
        DAYS[2]: {"S1", "S3"},  # T1's second day: still one order
        DAYS[3]: {"S4"},
        DAYS[4]: {"S1"},
    },
    "two_orders_in_2_days": {},  # T1's two days are one order
    "nordlicht_order_in_2_days": {  # T1's Nordlicht line is on the 3rd, T3 on the 2nd
        DAYS[0]: {"S2"},
        DAYS[1]: {"S1", "S2"},
        DAYS[2]: {"S1", "S3"},
        DAYS[3]: {"S3"},
    },
    # S1: 40 / 1 from the 4th (30 on the 3rd), 50 / 2 from the 6th; S2: 20, then 0 / 1
    "big_average_order": {DAYS[2]: {"S1"}, DAYS[3]: {"S1"}},
    "ordered_within_a_day": {
        DAYS[0]: {"S2"},
        DAYS[1]: {"S1", "S2"},
        DAYS[2]: {"S1", "S3"},
        DAYS[3]: {"S1", "S3", "S4"},
        DAYS[4]: {"S1", "S4"},
        DAYS[5]: {"S1"},
    },
    # first orders: S2 on the 2nd, S1 on the 3rd, S3 on the 4th, S4 on the 5th (not the 3rd)
    "first_order_2_days_ago": {
        DAYS[2]: {"S2"},
        DAYS[3]: {"S1"},
        DAYS[4]: {"S3"},
        DAYS[5]: {"S4"},
    },
    # sums of the last 3 days: S1 30, 40, 40, 20, 10, 10 from the 3rd; S2 20 until the 4th
    "revenue_over_15_in_3_days": {
        DAYS[0]: {"S2"},
        DAYS[1]: {"S1", "S2"},
        DAYS[2]: {"S1", "S2"},
        DAYS[3]: {"S1"},
        DAYS[4]: {"S1"},
    },
    # Nordlicht orders (no campaign codes delivered): S2 on the 2nd, S1 the 3rd, S3 the 4th
    "nordlicht_without_campaign": {d: {"S1", "S2", "S3"} for d in DAYS[2:]}
    | {DAYS[0]: {"S2"}, DAYS[1]: {"S1", "S2"}},
    "odd_brand": {},
}


@pytest.fixture(scope="module", params=ALL_ENGINES_SLOW_SPARK)
def spanning(request, tmp_path_factory):
    yield from project_per_engine(request, tmp_path_factory, "daily", _project)


def _project(mp, root, engine, database):
    brands = {"P1": "Nordlicht", "P2": "Stride"}
    return timeline_project(
        mp, root, engine, database, CUSTOMERS, TRANSACTIONS, SEGMENTS, brands=brands
    )


def test_a_range_from_per_day_aggregates_equals_each_day_worked_out_by_hand(spanning):
    settings, project = spanning
    with open_warehouse(settings) as wh:
        record_history(wh, project, DAYS[0], DAYS[-1])
        for name in SEGMENTS:
            for day in DAYS:
                recorded = recorded_members(wh, project, name, day)
                on_the_spot = evaluate.evaluate_members(wh, project, name, day)
                expected = BY_HAND[name].get(day, set())
                assert {c for c, _ in recorded or []} == expected, (name, day)
                assert recorded == on_the_spot, (name, day)
        if settings.target == "spark":  # its aggregates are built whole, none kept: the lines
            assert kept_daily(wh, project) is None
        else:
            assert kept_daily(wh, project) is not None  # read from the aggregates the build kept


def test_without_the_kept_aggregates_a_range_builds_its_own(spanning):
    """Segments edited since the build (here: the kept aggregates' state gone) are not what
    the build kept: a range reduces the lines itself, with the same result."""
    settings, project = spanning
    with open_warehouse(settings) as wh:
        for table in (DAILY_SALES, DAILY_EVENTS):
            if wh.table_exists(DAILY_SCHEMA, f"{table}__state"):
                wh.execute(f"drop table {DAILY_SCHEMA}.{table}__state")
        assert kept_daily(wh, project) is None
        record_history(wh, project, DAYS[0], DAYS[-1])
        _assert_recorded_as_by_hand(wh, project)


def test_ranges_that_start_mid_timeline_add_their_days_to_the_totals_before(spanning):
    """Each day recorded as a range of its own: its features are the totals as of the day
    before the range plus the changes since (segflow/segments/range_totals.py), so every
    transaction across a range's start (T1 at midnight, T3's later return, T5's order line)
    is split between those totals and the range's days; it is still one order."""
    settings, project = spanning
    with open_warehouse(settings) as wh:
        for day in DAYS:
            record_history(wh, project, day, day)
        _assert_recorded_as_by_hand(wh, project)


def _assert_recorded_as_by_hand(wh, project):
    for name in SEGMENTS:
        for day in DAYS:
            recorded = recorded_members(wh, project, name, day)
            assert {c for c, _ in recorded or []} == BY_HAND[name].get(day, set()), (name, day)
