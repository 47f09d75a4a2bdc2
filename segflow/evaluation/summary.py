"""What a warehouse holds, for the summary `segflow demo` and `segflow build` print."""

from __future__ import annotations

from dataclasses import dataclass, field

from segflow.feeds import FEEDS
from segflow.warehouse import Warehouse


@dataclass
class WarehouseSummary:
    rows_per_feed: dict[str, int]
    quarantined_per_feed: dict[str, int]
    files_loaded: int
    population: int | None
    as_of: str | None
    segments: list[tuple[str, int]] = field(default_factory=list)
    history: list[tuple[str, object, object, int]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = ["feed                  rows loaded  quarantined"]
        for feed in FEEDS:
            out.append(
                f"{feed:<20} {self.rows_per_feed.get(feed, 0):>12,} "
                f"{self.quarantined_per_feed.get(feed, 0):>12,}"
            )
        out.append(f"files loaded: {self.files_loaded}")
        if self.population is not None:
            out.append(f"customers in the population as of {self.as_of}: {self.population:,}")
        if self.segments:
            out.append(f"segments built: {len(self.segments)}")
            out.extend(f"  {name:<28} {members:>9,} members" for name, members in self.segments)
        if self.history:
            out.append("hot segment history (`segflow history NAME`):")
            out.extend(
                f"  {name:<28} {days:>5} days  {first} to {last}"
                for name, first, last, days in self.history
            )
        return out


def summarize(wh: Warehouse) -> WarehouseSummary:
    rows = {feed: wh.scalar(f"select count(*) from {FEEDS[feed].table}") for feed in FEEDS}
    quarantined = dict(
        wh.query(f"select feed, count(*) from {wh.output_schema}.quarantine group by feed")
    )
    files = wh.scalar("select count(distinct file) from raw.file_log where status = 'loaded'")
    population = as_of = None
    if wh.table_exists(wh.output_schema, "dim_population"):
        population, as_of = wh.query(
            f"select count(*), max(as_of) from {wh.output_schema}.dim_population"
        )[0]
    segments = []
    if wh.table_exists(wh.output_schema, "segment_stats"):  # every segment, empty ones too
        segments = wh.query(
            f"select segment, members from {wh.output_schema}.segment_stats order by segment"
        )
    history = []
    if wh.table_exists(wh.output_schema, "hot_segment_history"):
        history = wh.query(
            f"select segment, min(day), max(day), count(*) from "
            f"{wh.output_schema}.hot_segment_history group by segment order by segment"
        )
    return WarehouseSummary(
        rows, quarantined, files, population, str(as_of) if as_of else None, segments, history
    )
