"""Checking a file's records against the feed contract: good rows typed, bad rows with reasons.

Batch by batch: the good rows are typed column by column (segflow.ingestion.columns) and
spilled to a Parquet file on disk, so that a file of any size is checked in flat memory and
nothing reaches the warehouse until the whole file has passed.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from segflow.errors import FileRejected
from segflow.feeds import Feed
from segflow.ingestion.columns import ARROW_TYPES, type_column
from segflow.ingestion.landing import Delivery
from segflow.ingestion.readers import RawFile, RecordBatch

IN_FLIGHT = 2  # batches waiting to be checked, and checked batches waiting to be spilled


@dataclass
class BadRow:
    row_number: int
    column: str  # empty when the row as a whole is malformed
    reason: str
    raw: str


@dataclass
class ValidatedFile:
    good_rows: int
    spill: Path  # the good rows, typed, as a Parquet file
    bad: list[BadRow]
    records: int
    warnings: list[str] = field(default_factory=list)

    @property
    def bad_row_count(self) -> int:
        return len({b.row_number for b in self.bad})


def validate(
    feed: Feed, delivery: Delivery, raw: RawFile, zone: tzinfo, spill: Path
) -> ValidatedFile:
    names = [name.strip().lower() for name in raw.header]
    duplicated = sorted({n for n in names if names.count(n) > 1 and n})
    if duplicated:
        raise FileRejected(delivery.file, f"column {duplicated[0]!r} appears twice in the header")
    missing = [c for c in feed.required if c not in names]
    if missing:
        raise FileRejected(
            delivery.file, f"required column {missing[0]!r} is missing from the header"
        )
    warnings = [
        f"{delivery.file}: extra column {n!r} ignored"
        for n in names
        if n not in feed.column_names and n
    ]
    schema = pa.schema(
        [(c.name, ARROW_TYPES[c.type]) for c in feed.columns]
        + [("_file", pa.string()), ("_delivery_date", pa.date32()), ("_row_number", pa.int64())]
    )
    bad: list[BadRow] = []
    records = good_rows = 0
    checking: deque[Future[tuple[pa.RecordBatch, list[BadRow]]]] = deque()
    spilling: deque[Future[None]] = deque()

    def collect_oldest() -> None:
        nonlocal good_rows
        good, found = checking.popleft().result()
        good_rows += good.num_rows
        bad.extend(found)
        if good.num_rows:
            spilling.append(spiller.submit(sink.write_batch, good))
        while len(spilling) > IN_FLIGHT:
            spilling.popleft().result()

    # Three threads: this one reads the next chunk, one checks a batch, one spills the batch
    # checked before it, in file order. All three are mostly Arrow's and numpy's compute,
    # which release the GIL, so both cores work. At most IN_FLIGHT batches wait at each
    # step, so memory stays flat.
    # LZ4 without dictionaries: a quarter of the text's size on disk, quick to write and read.
    with (
        pq.ParquetWriter(
            spill, schema, compression="lz4", use_dictionary=False, write_statistics=False
        ) as sink,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="segflow-check") as checker,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="segflow-spill") as spiller,
    ):
        try:
            for batch in raw.batches:
                records += len(batch.numbers) + len(batch.malformed)
                checking.append(
                    checker.submit(_check_batch, feed, delivery, names, batch, zone, schema)
                )
                while len(checking) > IN_FLIGHT:
                    collect_oldest()
            while checking:
                collect_oldest()
            while spilling:
                spilling.popleft().result()
        except BaseException:  # a rejected file: the batches still waiting are not checked
            checker.shutdown(cancel_futures=True)
            spiller.shutdown(cancel_futures=True)
            raise
    bad.sort(key=lambda b: (b.row_number, b.column != "", _order(feed, b.column)))
    return ValidatedFile(good_rows, spill, bad, records, warnings)


def _order(feed: Feed, column: str) -> int:
    return feed.column_names.index(column) if column else -1


def _check_batch(
    feed: Feed,
    delivery: Delivery,
    names: list[str],
    batch: RecordBatch,
    zone: tzinfo,
    schema: pa.Schema,
) -> tuple[pa.RecordBatch, list[BadRow]]:
    """The batch's good rows, typed, and its bad rows."""
    bad: list[BadRow] = []
    width = len(names)
    for number, found, text in batch.malformed:
        bad.append(BadRow(number, "", f"expected {width} fields, found {found}", text))
    rows = len(batch.numbers)
    problems: dict[int, list[tuple[str, str]]] = {}
    for index, position in batch.bad_bytes:  # in an ignored extra column they do no harm
        if names[position] in feed.column_names:
            problems.setdefault(index, []).append((names[position], "bytes that are not UTF-8"))
    typed: dict[str, pa.Array] = {}
    for column in feed.columns:
        if column.name not in names:
            typed[column.name] = pa.nulls(rows, ARROW_TYPES[column.type])
            continue
        position = names.index(column.name)
        values, column_problems = type_column(
            column.type, batch.values[position], zone, column.required
        )
        typed[column.name] = values
        for index, reason in column_problems.items():
            if not any(name == column.name for name, _ in problems.get(index, [])):
                problems.setdefault(index, []).append((column.name, reason))
    for index, reasons in problems.items():
        text = batch.raw(index)
        for column_name, reason in reasons:
            bad.append(BadRow(int(batch.numbers[index]), column_name, reason, text))
    keep = [True] * rows
    for index in problems:
        keep[index] = False
    good = pa.record_batch(
        [
            *typed.values(),
            pa.repeat(delivery.file, rows),
            pa.repeat(pa.scalar(delivery.delivery_date, pa.date32()), rows),
            pa.array(batch.numbers, pa.int64()),
        ],
        schema=schema,
    )
    return (good.filter(pa.array(keep)) if problems else good), bad
