"""Finding deliveries in the landing: `<feed>/<YYYY-MM-DD>[anything].<csv|csv.gz|parquet>`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

_DELIVERY = re.compile(r"(\d{4}-\d{2}-\d{2})[^/]*\.(csv|csv\.gz|parquet)")


@dataclass(frozen=True, order=True)
class Delivery:
    """One delivered file; deliveries sort by date, then file name (docs/feeds.md, "Delivery")."""

    delivery_date: date
    name: str
    path: Path
    feed: str

    @property
    def file(self) -> str:
        """The file's name as recorded in the warehouse: `<feed>/<name>`."""
        return f"{self.feed}/{self.name}"

    @property
    def format(self) -> str:
        if self.name.endswith(".parquet"):
            return "parquet"
        return "csv.gz" if self.name.endswith(".gz") else "csv"


def scan_feed_folder(landing: Path, feed: str) -> tuple[list[Delivery], list[str]]:
    """Return the feed's deliveries in order, and warnings for files that are ignored."""
    folder = landing / feed
    deliveries: list[Delivery] = []
    ignored: list[str] = []
    if not folder.is_dir():
        return deliveries, ignored
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        match = _DELIVERY.fullmatch(path.name)
        if not match:
            ignored.append(
                f"{feed}/{path.name}: ignored (not `YYYY-MM-DD….csv`, `.csv.gz` or `.parquet`)"
            )
            continue
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            ignored.append(f"{feed}/{path.name}: ignored ({match.group(1)} is not a valid date)")
            continue
        deliveries.append(Delivery(day, path.name, path, feed))
    return sorted(deliveries), ignored
