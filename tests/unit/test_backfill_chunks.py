"""How the automatic backfill splits the missing days of hot segments into chunks."""

from datetime import date, timedelta

from segflow.history.backfill import Chunk, backfill_window, plan_chunks


def _days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(count)]


def test_a_year_is_recorded_newest_month_first_in_chunks_of_at_most_31_days():
    year = _days(date(2025, 12, 1), 365)
    chunks = plan_chunks({"vip": year, "lapsed": year})
    assert [len(range((c.last - c.first).days + 1)) for c in chunks] == [31] * 11 + [24]
    assert chunks[0].last == year[-1] and chunks[-1].first == year[0]
    covered = sorted(d for c in chunks for d in _days(c.first, (c.last - c.first).days + 1))
    assert covered == year  # every day once, none twice
    assert all(c.segments == ("lapsed", "vip") for c in chunks)


def test_gaps_split_chunks_and_each_chunk_names_only_the_segments_missing_a_day_of_it():
    old = _days(date(2026, 1, 1), 5)
    recent = _days(date(2026, 3, 1), 3)
    assert plan_chunks({"a": old + recent, "b": recent}, chunk_days=31) == [
        Chunk(date(2026, 3, 1), date(2026, 3, 3), ("a", "b")),
        Chunk(date(2026, 1, 1), date(2026, 1, 5), ("a",)),
    ]
    assert plan_chunks({}) == []


def test_the_window_is_the_backfill_days_before_the_day_from_the_history_start_at_most():
    start = date(2026, 3, 1)
    assert backfill_window(date(2026, 5, 1), 30, start) == (date(2026, 4, 1), date(2026, 4, 30))
    assert backfill_window(date(2026, 3, 10), 30, start) == (date(2026, 3, 1), date(2026, 3, 9))
    assert backfill_window(date(2026, 3, 1), 30, start) is None
    assert backfill_window(date(2026, 5, 1), 0, start) is None  # SEGFLOW_HOT_BACKFILL_DAYS=0
