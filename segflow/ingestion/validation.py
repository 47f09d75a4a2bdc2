"""Checking a file's records against the feed contract: good rows typed, bad rows with reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

import pyarrow as pa

from segflow.errors import FileRejected
from segflow.feeds import ColumnType, Feed
from segflow.ingestion.landing import Delivery
from segflow.ingestion.parsing import BadValue, parse_value
from segflow.ingestion.readers import RawFile, has_bad_bytes

ARROW_TYPES = {
    ColumnType.STRING: pa.string(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.DECIMAL: pa.decimal128(18, 4),
}


@dataclass
class BadRow:
    row_number: int
    column: str  # empty when the row as a whole is malformed
    reason: str
    raw: str


@dataclass
class ValidatedFile:
    good: pa.Table
    bad: list[BadRow]
    records: int
    warnings: list[str] = field(default_factory=list)

    @property
    def bad_row_count(self) -> int:
        return len({b.row_number for b in self.bad})


def validate(feed: Feed, delivery: Delivery, raw: RawFile, zone: tzinfo) -> ValidatedFile:
    names = [name.strip().lower() for name in raw.header]
    duplicated = sorted({n for n in names if names.count(n) > 1 and n})
    if duplicated:
        raise FileRejected(delivery.file, f"column {duplicated[0]!r} appears twice in the header")
    missing = [c for c in feed.required if c not in names]
    if missing:
        raise FileRejected(
            delivery.file, f"required column {missing[0]!r} is missing from the header"
        )
    known = {c.name: c for c in feed.columns}
    warnings = [
        f"{delivery.file}: extra column {n!r} ignored" for n in names if n not in known and n
    ]
    positions = [(names.index(c.name), c) for c in feed.columns if c.name in names]
    values: dict[str, list[Any]] = {c.name: [] for c in feed.columns}
    row_numbers: list[int] = []
    bad: list[BadRow] = []
    records = 0
    width = len(names)

    for number, fields, text in raw.records:
        records += 1
        if len(fields) != width:
            reason = f"expected {width} fields, found {len(fields)}"
            bad.append(BadRow(number, "", reason, text))
            continue
        parsed: dict[str, Any] = {}
        row_bad = False
        for pos, column in positions:
            value = fields[pos]
            try:
                if isinstance(value, str) and has_bad_bytes(value):
                    raise BadValue("bytes that are not UTF-8")
                typed = parse_value(column.type, value, zone)
                if typed is None and column.required:
                    raise BadValue("missing required value")
            except BadValue as exc:
                bad.append(BadRow(number, column.name, str(exc), text))
                row_bad = True
                continue
            parsed[column.name] = typed
        if row_bad:
            continue
        row_numbers.append(number)
        for name, column_values in values.items():
            column_values.append(parsed.get(name))

    arrays = {name: pa.array(vals, ARROW_TYPES[known[name].type]) for name, vals in values.items()}
    arrays["_file"] = pa.array([delivery.file] * len(row_numbers), pa.string())
    arrays["_delivery_date"] = pa.array([delivery.delivery_date] * len(row_numbers), pa.date32())
    arrays["_row_number"] = pa.array(row_numbers, pa.int64())
    return ValidatedFile(pa.table(arrays), bad, records, warnings)
