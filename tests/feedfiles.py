"""Writing small feed deliveries for tests."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


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
