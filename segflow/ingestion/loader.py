"""Loading deliveries into the warehouse: once per file, atomically, with a file log.

Per file, the delivery is read and checked in batches (its good rows spilled to disk), then, in
one transaction: the rows an earlier version of the file brought are deleted, the good rows are
bulk-loaded, bad rows go to `quarantine`, and the attempt is logged in
`raw.file_log`. A rejected file loads nothing and is reported again on every run until it is
re-delivered fixed or removed from the landing folder.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from segflow.errors import FileRejected
from segflow.feeds import FEEDS, PERSONAL_COLUMNS
from segflow.ingestion.landing import Delivery, scan_feed_folder
from segflow.ingestion.readers import CHUNK_BYTES, read_delivery
from segflow.ingestion.validation import ValidatedFile, validate
from segflow.settings import Settings
from segflow.warehouse import Warehouse, tables


@dataclass
class FileResult:
    file: str
    status: str  # loaded | replaced | unchanged | rejected
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str = ""


@dataclass
class FeedReport:
    feed: str
    files: list[FileResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files if f.status in ("loaded", "replaced"))

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files if f.status in ("loaded", "replaced"))

    @property
    def rejected(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "rejected"]


def ingest_feed(
    wh: Warehouse, settings: Settings, feed_name: str, accept: Collection[str] = ()
) -> FeedReport:
    """Load the feed's new and re-delivered files; return what happened to each."""
    wh.ensure_tables(tables.INGESTION)
    deliveries, ignored = scan_feed_folder(settings.landing_dir, feed_name)
    report = FeedReport(feed_name, warnings=list(ignored))
    for delivery in deliveries:
        checksum = file_checksum(delivery.path)
        loaded_checksum = wh.scalar(
            "select checksum from raw.file_log where feed = ? and file = ? and status = 'loaded' "
            "order by ingested_at desc limit 1",
            (feed_name, delivery.file),
        )
        if loaded_checksum == checksum:
            report.files.append(FileResult(delivery.file, "unchanged"))
            continue
        with tempfile.TemporaryDirectory(prefix="segflow-ingest-") as spill:
            try:
                checked = validate(
                    FEEDS[feed_name],
                    delivery,
                    read_delivery(delivery),
                    settings.tz,
                    Path(spill) / "good.parquet",
                )
                report.warnings.extend(checked.warnings)
                _check_bad_share(delivery, checked, settings.max_bad_share)
                if loaded_checksum is not None and not _accepted(delivery, accept):
                    _check_removed_share(wh, delivery, checked, settings.max_bad_share)
            except FileRejected as rejected:
                _log_rejection(wh, delivery, checksum, rejected.reason)
                report.files.append(FileResult(delivery.file, "rejected", reason=rejected.reason))
                continue
            _load(wh, delivery, checksum, checked)
        report.files.append(
            FileResult(
                delivery.file,
                "replaced" if loaded_checksum else "loaded",
                rows_loaded=checked.good_rows,
                rows_quarantined=checked.bad_row_count,
            )
        )
    if feed_name == "customers" and any(f.status != "unchanged" for f in report.files):
        _scrub_erased(wh)
    return report


def file_checksum(path: Path) -> str:
    """SHA-256 of the file as delivered, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _check_bad_share(delivery: Delivery, checked: ValidatedFile, max_share: float) -> None:
    if checked.records == 0:
        return
    share = checked.bad_row_count / checked.records
    if share > max_share:
        first = checked.bad[0]
        where = f"row {first.row_number}" + (f" column {first.column}" if first.column else "")
        raise FileRejected(
            delivery.file,
            f"{checked.bad_row_count} of {checked.records} rows are bad ({share:.1%}, more than "
            f"SEGFLOW_MAX_BAD_SHARE={max_share:g}); first: {where}: {first.reason}",
        )


def _check_removed_share(
    wh: Warehouse, delivery: Delivery, checked: ValidatedFile, max_share: float
) -> None:
    """A re-delivery may not silently remove many of the rows its earlier version brought."""
    table = FEEDS[delivery.feed].table
    before = wh.scalar(f"select count(*) from {table} where _file = ?", (delivery.file,)) or 0
    removed = before - checked.good_rows
    if before and removed / before > max_share:
        raise FileRejected(
            delivery.file,
            f"this re-delivery would remove {removed} of the {before} rows the earlier version "
            f"brought ({removed / before:.1%}, more than {max_share:g}); if that is intended, "
            f"run `segflow build --accept {delivery.file}`",
        )


def _accepted(delivery: Delivery, accept: Collection[str]) -> bool:
    return any(
        a in (delivery.file, delivery.name, str(delivery.path)) or a.endswith("/" + delivery.file)
        for a in accept
    )


def _load(wh: Warehouse, delivery: Delivery, checksum: str, checked: ValidatedFile) -> None:
    table = FEEDS[delivery.feed].table
    quarantine = pa.table(
        {
            "feed": pa.array([delivery.feed] * len(checked.bad), pa.string()),
            "file": pa.array([delivery.file] * len(checked.bad), pa.string()),
            "row_number": pa.array([b.row_number for b in checked.bad], pa.int64()),
            "column": pa.array([b.column for b in checked.bad], pa.string()),
            "reason": pa.array([b.reason for b in checked.bad], pa.string()),
            "raw": pa.array([b.raw for b in checked.bad], pa.string()),
        }
    )
    with wh.transaction():
        wh.execute(f"delete from {table} where _file = ?", (delivery.file,))
        wh.execute(f"delete from {wh.output_schema}.quarantine where file = ?", (delivery.file,))
        if checked.good_rows:
            wh.insert_parquet(table, checked.spill)
        wh.bulk_insert(f"{wh.output_schema}.quarantine", quarantine)
        _log(wh, delivery, checksum, "loaded", checked.good_rows, checked.bad_row_count, None)


def _log_rejection(wh: Warehouse, delivery: Delivery, checksum: str, reason: str) -> None:
    # Logged once per content and reason, so re-running a failing day changes nothing.
    last = wh.query(
        "select checksum, status, reason from raw.file_log where feed = ? and file = ? "
        "order by ingested_at desc limit 1",
        (delivery.feed, delivery.file),
    )
    if last and last[0] == (checksum, "rejected", reason):
        return
    _log(wh, delivery, checksum, "rejected", 0, 0, reason)


def _log(
    wh: Warehouse,
    delivery: Delivery,
    checksum: str,
    status: str,
    rows_loaded: int,
    rows_quarantined: int,
    reason: str | None,
) -> None:
    wh.execute(
        "insert into raw.file_log (feed, file, checksum, delivery_date, status, rows_loaded, "
        "rows_quarantined, reason, ingested_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            delivery.feed,
            delivery.file,
            checksum,
            delivery.delivery_date,
            status,
            rows_loaded,
            rows_quarantined,
            reason,
            datetime.now(UTC),
        ),
    )


def _scrub_erased(wh: Warehouse) -> None:
    """Personal columns of an erased customer are not kept, in any version (docs/feeds.md)."""
    assignments = ", ".join(f"{c} = null" for c in PERSONAL_COLUMNS)
    wh.execute(
        f"update raw.customers set {assignments} where customer_id in "
        "(select customer_id from raw.customers where erased_at is not null)"
    )
