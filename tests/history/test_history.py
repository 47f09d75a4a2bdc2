"""Segment history on a hand-made timeline, on DuckDB and PostgreSQL.

Two customers buy on known days; `recent_buyer` (an order in the last 3 days) is worked out
by hand for every day of 2026-03-02..09, so an off-by-one day in windows, in enter/exit or
in the membership intervals fails a test.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

import segflow.history.backfill as backfill
from orchestration.runner import run_build, run_history
from segflow.evaluation import queries as evaluate
from segflow.evaluation.recorded import read_history, recorded_members
from segflow.history.backfill import backfill_hot_segments, backfill_window, missing_days
from segflow.history.record import (
    EVENTS,
    HISTORY_DAYS,
    HOT_HISTORY,
    MEMBERSHIP_HISTORY,
    record_history,
)
from segflow.publication.publish import BUILDS
from segflow.segments.project import load_project
from segflow.warehouse import Warehouse, open_warehouse
from tests.conftest import ALL_ENGINES, project_per_engine
from tests.history.timeline import BUILT_ON, forget_history, history_snapshot, timeline_project

CUSTOMERS = [
    ["K1", "k1@x.com", "2026-01-01", "2026-01-01 10:00"],
    ["K2", "k2@x.com", "2026-01-01", "2026-01-01 10:00"],
    ["K3", "k3@x.com", "2026-03-05", "2026-03-05 10:00"],
]
TRANSACTIONS = [
    ["T1", "1", "K1", "2026-03-03 12:00", "P1", "1", "10.00"],
    ["T2", "1", "K2", "2026-03-04 12:00", "P1", "2", "25.00"],
    ["T2", "2", "K2", "2026-03-04 12:00", "P1", "-1", "-5.00"],
    # 23:30 UTC on the 5th is 00:30 on the 6th in Berlin: the line happens on the 6th.
    ["T3", "1", "K1", "2026-03-05T23:30:00Z", "P1", "1", "5.00"],
]
SEGMENTS = {
    "recent_buyer": """title: Bought in the last 3 days
hot: true
trigger: {events: [enter, exit]}
rules:
  metric: orders
  window: {last: 3d}
  gte: 1
""",
    "just_signed_up": """title: Signed up yesterday or today
hot: true
trigger: {events: [enter]}
rules:
  profile: days_since_signup
  lte: 1
""",
    "everyone": """title: The population
rules:
  profile: customer_id
  is: present
""",
}
DAYS = [date(2026, 3, 2) + timedelta(days=i) for i in range(8)]  # 03-02 .. 03-09

# day: (members, revenue, orders, entered, exited), worked out by hand
RECENT_BUYER = {
    date(2026, 3, 2): (0, Decimal("0"), 0, 0, 0),
    date(2026, 3, 3): (1, Decimal("10"), 1, 1, 0),  # K1 orders
    date(2026, 3, 4): (2, Decimal("20"), 1, 1, 0),  # K2 orders (25 - 5 returned)
    date(2026, 3, 5): (2, Decimal("0"), 0, 0, 0),  # K1's 3-day window: 03-03..03-05
    date(2026, 3, 6): (2, Decimal("5"), 1, 0, 0),  # K1 orders again (local date), stays in
    date(2026, 3, 7): (1, Decimal("0"), 0, 0, 1),  # K2 leaves: 03-04 is out of 03-05..03-07
    date(2026, 3, 8): (1, Decimal("0"), 0, 0, 0),
    date(2026, 3, 9): (0, Decimal("0"), 0, 0, 1),  # K1 leaves
}
JUST_SIGNED_UP = {d: (0, 0) for d in DAYS} | {date(2026, 3, 5): (1, 1), date(2026, 3, 6): (1, 0)}
JUST_SIGNED_UP[date(2026, 3, 7)] = (0, 0)


@pytest.fixture(scope="module", params=ALL_ENGINES)
def timeline(request, tmp_path_factory):
    yield from project_per_engine(request, tmp_path_factory, "history", _project)


def _project(mp, root, engine, database):
    return timeline_project(mp, root, engine, database, CUSTOMERS, TRANSACTIONS, SEGMENTS)


def _table(wh: Warehouse, table: str, order: str) -> list[tuple]:
    return wh.query(f"select * from {wh.output_schema}.{table} order by {order}")


def test_backfill_records_every_day_as_worked_out_by_hand(timeline):
    settings, project = timeline
    run_history(settings, DAYS[0], DAYS[-1])  # through Dagster, one run for the range
    with open_warehouse(settings) as wh:
        rows = {r.day: r for r in read_history(wh, project, "recent_buyer")}
        signed = {r.day: r for r in read_history(wh, project, "just_signed_up")}
        events = wh.query(
            f"select segment, customer_id, day, event from {wh.output_schema}.{EVENTS} "
            "where day between ? and ? order by segment, day, customer_id",
            (DAYS[0], DAYS[-1]),
        )
        intervals = wh.query(
            f"select customer_id, valid_from, valid_to from {wh.output_schema}."
            f"{MEMBERSHIP_HISTORY} where segment = 'recent_buyer' and valid_from <= ? "
            "order by customer_id",
            (DAYS[-1],),
        )
    for day, expected in RECENT_BUYER.items():
        got = rows[day]
        assert (got.members, got.revenue, got.orders, got.entered, got.exited) == expected, day
    for day, (members, entered) in JUST_SIGNED_UP.items():
        assert (signed[day].members, signed[day].entered) == (members, entered), day
    assert events == [
        ("just_signed_up", "K3", date(2026, 3, 5), "enter"),  # only enter is a trigger event
        ("recent_buyer", "K1", date(2026, 3, 3), "enter"),
        ("recent_buyer", "K2", date(2026, 3, 4), "enter"),
        ("recent_buyer", "K2", date(2026, 3, 7), "exit"),
        ("recent_buyer", "K1", date(2026, 3, 9), "exit"),
    ]
    # K1 was in from the 3rd to the 8th without a break: one interval, both ends inclusive
    assert intervals == [
        ("K1", date(2026, 3, 3), date(2026, 3, 8)),
        ("K2", date(2026, 3, 4), date(2026, 3, 6)),
    ]


def test_the_first_day_of_a_range_is_compared_with_the_day_before(timeline):
    settings, project = timeline
    with open_warehouse(settings) as wh:
        record_history(wh, project, date(2026, 3, 4), date(2026, 3, 4), ["recent_buyer"])
        first = read_history(wh, project, "recent_buyer")
    day = next(r for r in first if r.day == date(2026, 3, 4))
    assert (day.entered, day.exited) == (1, 0)  # K2 only: K1 was already in on the 3rd


def test_rerunning_days_replaces_them_without_duplicates(timeline):
    settings, project = timeline
    with open_warehouse(settings) as wh:
        record_history(wh, project, DAYS[0], DAYS[-1])
        before = history_snapshot(wh)
        record_history(wh, project, date(2026, 3, 5), date(2026, 3, 6))
        record_history(wh, project, date(2026, 3, 5), date(2026, 3, 5))
        after = history_snapshot(wh)
    run_history(settings, date(2026, 3, 6), date(2026, 3, 6))  # a partition re-run in Dagster
    with open_warehouse(settings) as wh:
        again = history_snapshot(wh)
    assert after == before
    assert again == before


def test_a_backfilled_day_equals_a_build_as_of_that_day(timeline):
    settings, project = timeline
    day = date(2026, 3, 6)
    with open_warehouse(settings) as wh:
        record_history(wh, project, DAYS[0], DAYS[-1])
        recorded = {n: recorded_members(wh, project, n, day) for n in SEGMENTS}
        history_row = wh.query(
            f"select * from {wh.output_schema}.{HOT_HISTORY} where day = ? order by segment",
            (day,),
        )
    outcome = run_build(settings, as_of=day)
    with open_warehouse(settings) as wh:
        # An older day than the published build: its tables stay in its own build schema
        # (the publication keeps the newest day, 03-10), and its history is recorded.
        slot = wh.scalar(
            f"select slot from {wh.output_schema}.{BUILDS} where run_id = ?", (outcome.run_id,)
        )
        for name in SEGMENTS:
            built = wh.query(
                f"select customer_id, cast(null as varchar) from {slot}.seg_{name} "
                "order by customer_id"
            )
            assert recorded[name] == [(c, t) for c, t in built], name
        # the build recorded the same day again: same row
        assert history_row == wh.query(
            f"select * from {wh.output_schema}.{HOT_HISTORY} where day = ? order by segment",
            (day,),
        )
    assert recorded["recent_buyer"] == [("K1", None), ("K2", None)]
    assert len(recorded["everyone"]) == 3


def test_members_on_a_recorded_day_come_from_the_history(timeline, monkeypatch):
    settings, project = timeline
    with open_warehouse(settings) as wh:
        record_history(wh, project, DAYS[0], DAYS[-1])

        def no_evaluation(*_args, **_kwargs):
            raise AssertionError("a recorded day must not be evaluated again")

        monkeypatch.setattr(evaluate, "evaluate_members", no_evaluation)
        day, rows = evaluate.members(wh, project, "recent_buyer", date(2026, 3, 7))
    assert (day, rows) == (date(2026, 3, 7), [("K1", None)])


def test_a_changed_definition_is_evaluated_and_counts_as_a_new_hot_segment(timeline, tmp_path):
    settings, project = timeline
    with open_warehouse(settings) as wh:
        record_history(wh, project, DAYS[0], DAYS[-1])
        changed_folder = tmp_path / "segments"
        changed_folder.mkdir()
        for name, text in SEGMENTS.items():
            (changed_folder / f"{name}.yml").write_text(text.replace("last: 3d", "last: 1d"))
        changed = load_project(changed_folder)
        assert recorded_members(wh, changed, "recent_buyer", date(2026, 3, 5)) is None
        assert evaluate.members(wh, changed, "recent_buyer", date(2026, 3, 5))[1] == []
        fresh = settings.model_copy(update={"hot_backfill_days": 5})
        assert backfill_window(date(2026, 3, 8), 5, fresh.history_start) == (
            date(2026, 3, 3),
            date(2026, 3, 7),
        )
        assert sorted(missing_days(wh, changed, date(2026, 3, 8), fresh)) == ["recent_buyer"]
        assert sorted(missing_days(wh, project, date(2026, 3, 8), fresh)) == []
        assert sorted(missing_days(wh, project, date(2026, 3, 20), fresh)) == [
            "just_signed_up",
            "recent_buyer",
        ]


def test_the_automatic_backfill_in_chunks_equals_one_range_and_resumes_after_a_failure(
    timeline, monkeypatch
):
    settings, project = timeline
    if settings.target == "spark":
        pytest.skip("the chunks are calls of record_history, which the other tests hold on Spark")
    hot = ("just_signed_up", "recent_buyer")
    eight_days = settings.model_copy(update={"hot_backfill_days": 8})  # 03-02..03-09

    def hot_rows(wh: Warehouse) -> dict[str, list[tuple]]:
        return {t: [r for r in rows if r[0] in hot] for t, rows in history_snapshot(wh).items()}

    with open_warehouse(settings) as wh:
        forget_history(wh)
        record_history(wh, project, DAYS[0], DAYS[-1], list(hot))
        whole = hot_rows(wh)
        forget_history(wh)
        real = backfill.record_history
        calls: list[tuple[date, date]] = []

        def second_chunk_fails(wh_, project_, first, last, names=None, schema=None):
            calls.append((first, last))
            if len(calls) == 2:
                raise RuntimeError("the night ended")
            return real(wh_, project_, first, last, names, schema)

        monkeypatch.setattr(backfill, "record_history", second_chunk_fails)
        with pytest.raises(RuntimeError, match="the night ended"):
            backfill_hot_segments(wh, project, BUILT_ON, eight_days, chunk_days=3)
        assert calls == [(DAYS[5], DAYS[7]), (DAYS[2], DAYS[4])]  # newest first
        # The first chunk stays; the next night records only the days still missing.
        assert sorted(missing_days(wh, project, BUILT_ON, eight_days)) == list(hot)
        monkeypatch.setattr(backfill, "record_history", real)
        done = backfill_hot_segments(wh, project, BUILT_ON, eight_days, chunk_days=3)
        assert [(r.first, r.last) for r in done] == [(DAYS[2], DAYS[4]), (DAYS[0], DAYS[1])]
        assert hot_rows(wh) == whole
        assert missing_days(wh, project, BUILT_ON, eight_days) == {}
        record_history(wh, project, DAYS[0], BUILT_ON)  # as the other tests expect


def test_a_failed_write_leaves_the_history_as_it_was(timeline, monkeypatch):
    settings, project = timeline
    import segflow.history.record as history

    with open_warehouse(settings) as wh:
        record_history(wh, project, DAYS[0], DAYS[-1])
        before = history_snapshot(wh)

        def broken(*_args, **_kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr(history, "_write_days", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            record_history(wh, project, DAYS[0], DAYS[-1])
        assert history_snapshot(wh) == before


def test_a_range_in_blocks_equals_one_block_and_fails_whole(timeline, monkeypatch):
    """A range runs in blocks of BLOCK_DAYS days (the day before each evaluated too, a mask
    of days per member): three-day blocks record what one block does, and a failure in a
    later block leaves every table as it was, the earlier blocks' writes too."""
    settings, project = timeline
    if settings.target == "spark":
        pytest.skip("the blocks run the SQL the other tests hold on Spark")
    import segflow.history.record as history

    with open_warehouse(settings) as wh:
        forget_history(wh)
        record_history(wh, project, DAYS[0], DAYS[-1])
        one_block = history_snapshot(wh)
        days = _table(wh, HISTORY_DAYS, "segment, day")
        forget_history(wh)
        monkeypatch.setattr(history, "BLOCK_DAYS", 3)
        blocks = record_history(wh, project, DAYS[0], DAYS[-1])
        assert history_snapshot(wh) == one_block
        assert [r[:3] for r in _table(wh, HISTORY_DAYS, "segment, day")] == [r[:3] for r in days]
        assert blocks.history_rows == 2 * len(DAYS)  # two hot segments

        written: list[date] = []
        real = history._write_days

        def third_block_fails(wh_, project_, names, first, last):
            written.append(first)
            if len(written) == 3:
                raise RuntimeError("disk full")
            real(wh_, project_, names, first, last)

        monkeypatch.setattr(history, "_write_days", third_block_fails)
        # A day the first block would write again, so that a kept write would show
        wh.execute(f"delete from {wh.output_schema}.{HOT_HISTORY} where day = ?", (DAYS[0],))
        before = history_snapshot(wh)
        with pytest.raises(RuntimeError, match="disk full"):
            record_history(wh, project, DAYS[0], DAYS[-1])
        assert written == [DAYS[0], DAYS[3], DAYS[6]]
        assert history_snapshot(wh) == before
        monkeypatch.setattr(history, "_write_days", real)
        record_history(wh, project, DAYS[0], BUILT_ON)  # as the other tests expect
