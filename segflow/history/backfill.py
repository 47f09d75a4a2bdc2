"""The automatic backfill of hot segments: the days of the backfill window that hold no history
of a hot segment's current definition, recorded after the night's publication, in chunks.

A new (or changed) hot segment gets `SEGFLOW_HOT_BACKFILL_DAYS` of history the first night it
is built. That runs after the build is published and in chunks of `CHUNK_DAYS` days, each its
own transaction: memory stays that of one chunk whatever the window, a failure keeps the
chunks already written, and the next night picks up the days still missing (the same test
finds them). Newest chunks first, so an interrupted backfill has the recent months.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from segflow.history.record import (
    HISTORY_DAYS,
    RecordedRange,
    days_between,
    ensure_history_tables,
    hot_segments,
    record_history,
)
from segflow.segments.project import SegmentProject
from segflow.segments.sql import date_literal
from segflow.settings import Settings
from segflow.warehouse import Warehouse, text_list

# Days recorded per transaction: a month of one segment's members is a small temporary table
# even at a million customers, and a month of statements is a few minutes at the most.
CHUNK_DAYS = 31


@dataclass(frozen=True)
class Chunk:
    first: date
    last: date
    segments: tuple[str, ...]


def backfill_window(day: date, backfill_days: int, history_start: date) -> tuple[date, date] | None:
    """The days before `day` a hot segment should have history for: the last `backfill_days`
    (SEGFLOW_HOT_BACKFILL_DAYS), from `history_start` (SEGFLOW_HISTORY_START) at the earliest;
    None when that leaves no day."""
    start = max(day - timedelta(days=backfill_days), history_start)
    end = day - timedelta(days=1)
    return (start, end) if start <= end else None


def missing_days(
    wh: Warehouse, project: SegmentProject, day: date, settings: Settings
) -> dict[str, list[date]]:
    """Per hot segment, the days of the backfill window before `day` without history of its
    current definition (a changed definition misses them all). Segments missing none are
    left out."""
    window = backfill_window(day, settings.hot_backfill_days, settings.history_start)
    hot = hot_segments(project)
    if window is None or not hot:
        return {}
    ensure_history_tables(wh)
    first, last = window
    current = {name: project.definition_hash(name) for name in hot}
    recorded: dict[str, set[date]] = {name: set() for name in hot}
    for segment, digest, recorded_day in wh.query(
        f"select segment, definition_hash, day from {wh.output_schema}.{HISTORY_DAYS} "
        f"where segment in ({text_list(hot)}) "
        f"and day between {date_literal(first)} and {date_literal(last)}"
    ):
        if digest == current[segment]:
            recorded[segment].add(recorded_day)
    wanted = days_between(first, last)
    missing = {name: [d for d in wanted if d not in days] for name, days in recorded.items()}
    return {name: days for name, days in missing.items() if days}


def plan_chunks(missing: dict[str, list[date]], chunk_days: int = CHUNK_DAYS) -> list[Chunk]:
    """Ranges of at most `chunk_days` consecutive days that cover every missing day, newest
    first, each with the segments that miss a day of it (re-recording a day a segment has is
    harmless: it replaces the day)."""
    days = sorted({d for ds in missing.values() for d in ds}, reverse=True)
    chunks: list[Chunk] = []
    while days:
        last = days[0]
        first = last
        taken = [last]
        for d in days[1:]:
            if d != first - timedelta(days=1) or (last - d).days >= chunk_days:
                break
            first = d
            taken.append(d)
        days = days[len(taken) :]
        names = tuple(sorted(n for n, ds in missing.items() if any(first <= d <= last for d in ds)))
        chunks.append(Chunk(first, last, names))
    return chunks


def backfill_hot_segments(
    wh: Warehouse,
    project: SegmentProject,
    day: date,
    settings: Settings,
    chunk_days: int = CHUNK_DAYS,
    on_chunk: Callable[[Chunk, RecordedRange], None] | None = None,
) -> list[RecordedRange]:
    """Record the missing days of the hot segments' backfill window before `day`, a chunk
    per transaction (`record_history` writes a range atomically), from the published models:
    run it after the publication."""
    recorded: list[RecordedRange] = []
    for chunk in plan_chunks(missing_days(wh, project, day, settings), chunk_days):
        done = record_history(wh, project, chunk.first, chunk.last, list(chunk.segments))
        recorded.append(done)
        if on_chunk is not None:
            on_chunk(chunk, done)
    return recorded
