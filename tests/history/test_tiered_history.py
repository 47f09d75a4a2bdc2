"""A tiered hot segment's history on a hand-made timeline, on DuckDB and PostgreSQL (and
Spark, marked slow).

`spend_tier` puts a customer in gold with 20 or more of revenue in the last 3 days, else in
silver with 5 or more. Its members, tiers, events and membership intervals are worked out by
hand for every day of 2026-03-02..09: a tier change is neither an enter nor an exit, and the
membership history shows it as a new interval with the new tier (docs/segments.md).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

import segflow.history.record as history
from orchestration.runner import run_build
from segflow.evaluation.recorded import read_history, recorded_members
from segflow.history.record import (
    EVENTS,
    HOT_HISTORY,
    MEMBERSHIP_HISTORY,
    record_history,
)
from segflow.publication.publish import BUILDS
from segflow.warehouse import open_warehouse
from tests.conftest import ALL_ENGINES_SLOW_SPARK, project_per_engine
from tests.history.timeline import BUILT_ON, forget_history, history_snapshot, timeline_project

CUSTOMERS = [
    ["K1", "k1@x.com", "2026-01-01", "2026-01-01 10:00"],
    ["K2", "k2@x.com", "2026-01-01", "2026-01-01 10:00"],
    ["K3", "k3@x.com", "2026-01-01", "2026-01-01 10:00"],  # never buys
]
TRANSACTIONS = [
    ["T1", "1", "K1", "2026-03-03 12:00", "P1", "1", "10.00"],
    ["T2", "1", "K1", "2026-03-04 12:00", "P1", "1", "15.00"],
    ["T3", "1", "K2", "2026-03-05 12:00", "P1", "2", "30.00"],
    ["T4", "1", "K2", "2026-03-07 12:00", "P1", "1", "6.00"],
    # 23:30 UTC on the 8th is 00:30 on the 9th in Berlin: K1 comes back on the 9th.
    ["T5", "1", "K1", "2026-03-08T23:30:00Z", "P1", "1", "5.00"],
]
SEGMENTS = {
    "spend_tier": """title: Spend in the last 3 days
hot: true
trigger: {events: [enter, exit]}
kind: tiered
tiers:
  - {name: gold, when: {metric: revenue, window: {last: 3d}, gte: 20}}
  - {name: silver, when: {metric: revenue, window: {last: 3d}, gte: 5}}
""",
}
DAYS = [date(2026, 3, 2) + timedelta(days=i) for i in range(8)]  # 03-02 .. 03-09

# day: {customer: tier}, worked out by hand from the revenue of D-2..D
TIERS = {
    date(2026, 3, 2): {},
    date(2026, 3, 3): {"K1": "silver"},  # 10
    date(2026, 3, 4): {"K1": "gold"},  # 25: a tier change, no event
    date(2026, 3, 5): {"K1": "gold", "K2": "gold"},  # K1 25 (03-03..05), K2 30
    date(2026, 3, 6): {"K1": "silver", "K2": "gold"},  # K1 15: 03-03 left the window
    date(2026, 3, 7): {"K2": "gold"},  # K1 0: exits; K2 36
    date(2026, 3, 8): {"K2": "silver"},  # K2 6: 03-05 left the window
    date(2026, 3, 9): {"K1": "silver", "K2": "silver"},  # K1 5: enters again
}
# day: (members, revenue, orders, entered, exited); revenue and orders are the members'
# sales on that day
HISTORY = {
    date(2026, 3, 2): (0, Decimal("0"), 0, 0, 0),
    date(2026, 3, 3): (1, Decimal("10"), 1, 1, 0),
    date(2026, 3, 4): (1, Decimal("15"), 1, 0, 0),
    date(2026, 3, 5): (2, Decimal("30"), 1, 1, 0),
    date(2026, 3, 6): (2, Decimal("0"), 0, 0, 0),
    date(2026, 3, 7): (1, Decimal("6"), 1, 0, 1),
    date(2026, 3, 8): (1, Decimal("0"), 0, 0, 0),
    date(2026, 3, 9): (2, Decimal("5"), 1, 1, 0),
}


@pytest.fixture(scope="module", params=ALL_ENGINES_SLOW_SPARK)
def timeline(request, tmp_path_factory):
    yield from project_per_engine(request, tmp_path_factory, "tiered_history", _project)


def _project(mp, root, engine, database):
    return timeline_project(mp, root, engine, database, CUSTOMERS, TRANSACTIONS, SEGMENTS)


def test_a_tiered_hot_segment_is_recorded_as_worked_out_by_hand(timeline):
    settings, project = timeline
    with open_warehouse(settings) as wh:
        record_history(wh, project, DAYS[0], DAYS[-1])
        rows = {r.day: r for r in read_history(wh, project, "spend_tier")}
        members = {d: recorded_members(wh, project, "spend_tier", d) for d in DAYS}
        events = wh.query(
            f"select customer_id, day, event from {wh.output_schema}.{EVENTS} "
            "where segment = 'spend_tier' and day between ? and ? order by day, customer_id",
            (DAYS[0], DAYS[-1]),
        )
        intervals = wh.query(
            f"select customer_id, tier, valid_from, valid_to from {wh.output_schema}."
            f"{MEMBERSHIP_HISTORY} where segment = 'spend_tier' and valid_from <= ? "
            "order by customer_id, valid_from",
            (DAYS[-1],),
        )
    for day, expected in HISTORY.items():
        got = rows[day]
        assert (got.members, got.revenue, got.orders, got.entered, got.exited) == expected, day
    for day, tiers in TIERS.items():
        assert members[day] == sorted(tiers.items()), day
    # moving between tiers is neither an enter nor an exit
    assert events == [
        ("K1", date(2026, 3, 3), "enter"),
        ("K2", date(2026, 3, 5), "enter"),
        ("K1", date(2026, 3, 7), "exit"),
        ("K1", date(2026, 3, 9), "enter"),
    ]
    # a new interval for each tier a customer moves to, both ends inclusive; the last day
    # recorded (03-10, the build's) holds K1 in silver still; K2 bought nothing since 03-07
    assert intervals == [
        ("K1", "silver", date(2026, 3, 3), date(2026, 3, 3)),
        ("K1", "gold", date(2026, 3, 4), date(2026, 3, 5)),
        ("K1", "silver", date(2026, 3, 6), date(2026, 3, 6)),
        ("K1", "silver", date(2026, 3, 9), date(2026, 3, 10)),
        ("K2", "gold", date(2026, 3, 5), date(2026, 3, 7)),
        ("K2", "silver", date(2026, 3, 8), date(2026, 3, 9)),
    ]


def test_a_tiered_range_in_blocks_or_day_by_day_equals_one_range(timeline, monkeypatch):
    """A range in blocks of three days, and each day recorded alone, write what one range
    writes: a block's masks per tier meet at the block's edges."""
    settings, project = timeline
    if settings.target == "spark":
        pytest.skip("the blocks run the SQL the range test holds on Spark")
    with open_warehouse(settings) as wh:
        forget_history(wh)
        record_history(wh, project, DAYS[0], DAYS[-1])
        one_range = history_snapshot(wh)
        forget_history(wh)
        monkeypatch.setattr(history, "BLOCK_DAYS", 3)
        record_history(wh, project, DAYS[0], DAYS[-1])
        in_blocks = history_snapshot(wh)
        monkeypatch.undo()
        forget_history(wh)
        for day in DAYS:
            record_history(wh, project, day, day)
        day_by_day = history_snapshot(wh)
        forget_history(wh)
        record_history(wh, project, DAYS[0], BUILT_ON)  # as the other tests expect
    assert in_blocks == one_range
    assert day_by_day == one_range
    assert len(one_range[HOT_HISTORY]) == len(DAYS)


def test_a_recorded_day_has_the_tiers_a_build_as_of_that_day_gives(timeline):
    settings, project = timeline
    day = date(2026, 3, 6)
    with open_warehouse(settings) as wh:
        record_history(wh, project, DAYS[0], DAYS[-1])
        recorded = recorded_members(wh, project, "spend_tier", day)
    outcome = run_build(settings, as_of=day)
    with open_warehouse(settings) as wh:
        slot = wh.scalar(
            f"select slot from {wh.output_schema}.{BUILDS} where run_id = ?", (outcome.run_id,)
        )
        built = wh.query(f"select customer_id, tier from {slot}.seg_spend_tier order by 1")
    assert recorded == [(c, t) for c, t in built]
    assert recorded == [("K1", "silver"), ("K2", "gold")]
