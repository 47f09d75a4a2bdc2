"""Writing small feed deliveries for tests, and ingesting them."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from segflow.ingestion import FeedReport, ingest_feed
from segflow.settings import Settings
from segflow.warehouse import open_warehouse


def csv_bytes(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def deliver(
    landing: Path, feed: str, name: str, header: list[str], rows: list[list[object]]
) -> Path:
    """Write a delivery as CSV, CSV.gz or Parquet (all strings), by the name's extension."""
    folder = landing / feed
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if name.endswith(".parquet"):
        columns = {h: pa.array([r[i] for r in rows], pa.string()) for i, h in enumerate(header)}
        pq.write_table(pa.table(columns), path)
    elif name.endswith(".gz"):
        path.write_bytes(gzip.compress(csv_bytes(header, rows), mtime=0))
    else:
        path.write_bytes(csv_bytes(header, rows))
    return path


def deliver_bytes(landing: Path, feed: str, name: str, content: bytes) -> Path:
    """Write a delivery byte for byte (broken files, other encodings)."""
    folder = landing / feed
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return path


def deliver_parquet(landing: Path, feed: str, name: str, columns: dict[str, pa.Array]) -> Path:
    """Write a Parquet delivery with typed columns."""
    folder = landing / feed
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    pq.write_table(pa.table(columns), path)
    return path


def transaction_lines(n: int, start: int = 1, amount: str = "10.00") -> list[list[object]]:
    """`n` lines `T<i>` (i from `start`) in TRANSACTION_HEADER's columns."""
    return [
        [f"T{i}", "1", f"C{i % 3}", "2026-11-20 10:00:00", "P1", "1", amount, ""]
        for i in range(start, start + n)
    ]


def ingest(settings: Settings, feed: str, accept: Collection[str] = ()) -> FeedReport:
    with open_warehouse(settings) as wh:
        return ingest_feed(wh, settings, feed, accept=accept)


def query(settings: Settings, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    with open_warehouse(settings) as wh:
        return wh.query(sql, params)


CUSTOMER_HEADER = [
    "customer_id",
    "email",
    "gender",
    "birth_date",
    "signup_date",
    "status",
    "updated_at",
    "erased_at",
]
TRANSACTION_HEADER = [
    "transaction_id",
    "line_id",
    "customer_id",
    "occurred_at",
    "product_id",
    "quantity",
    "amount",
    "campaign_code",
]
EVENT_HEADER = ["event_id", "customer_id", "occurred_at", "event_type"]
