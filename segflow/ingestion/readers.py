"""Reading a delivered file into a header and numbered records, whatever its format.

A file that cannot be read at all raises FileRejected; single bad records are left to validation.
CSV records are numbered as docs/feeds.md says (the header is record 1); Parquet rows from 1.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from segflow.errors import FileRejected
from segflow.ingestion.landing import Delivery

BOM = codecs.BOM_UTF8  # a UTF-8 byte-order mark (allowed)


@dataclass
class RawFile:
    header: list[str]
    records: Iterator[tuple[int, list[Any], str]]  # (row number, values, raw text)


def read_delivery(delivery: Delivery, content: bytes) -> RawFile:
    if delivery.format == "parquet":
        return _read_parquet(delivery, content)
    if delivery.format == "csv.gz":
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError, zlib.error) as exc:
            raise FileRejected(delivery.file, f"broken gzip file ({exc})") from None
    return _read_csv(delivery, content)


def _read_csv(delivery: Delivery, content: bytes) -> RawFile:
    content = content.removeprefix(BOM)  # a file of only a BOM is empty
    if not content.strip():
        raise FileRejected(delivery.file, "empty file (not even a header row)")
    if b"\x00" in content:
        raise FileRejected(delivery.file, "not a CSV text file (contains NUL bytes)")
    # Undecodable bytes survive as surrogates so that only the rows holding them are set aside.
    text = content.decode("utf-8", errors="surrogateescape")
    # Strict: broken quoting (a quote never closed, text after a closing quote) is an error
    # rather than a guess; an unclosed quote would otherwise swallow the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise FileRejected(delivery.file, f"cannot read the header row ({exc})") from None
    if any(has_bad_bytes(name) for name in header):
        raise FileRejected(delivery.file, "the header row is not UTF-8 text")
    return RawFile(header=header, records=_csv_records(reader, delivery))


def _csv_records(reader: Any, delivery: Delivery) -> Iterator[tuple[int, list[Any], str]]:
    number = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FileRejected(
                delivery.file, f"CSV cannot be parsed after record {number} ({exc})"
            ) from None
        number += 1
        if not values:
            continue  # a blank line is no record
        yield number, values, _raw_text(values)


def _raw_text(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(values)
    return (
        out.getvalue().encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
    )


def has_bad_bytes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _read_parquet(delivery: Delivery, content: bytes) -> RawFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(content))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise FileRejected(delivery.file, f"not a readable Parquet file ({exc})") from None
    header = list(table.column_names)
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]

    def records() -> Iterator[tuple[int, list[Any], str]]:
        for index in range(table.num_rows):
            values = [col[index] for col in columns]
            raw = json.dumps(dict(zip(header, values, strict=True)), default=str)
            yield index + 1, values, raw

    return RawFile(header=header, records=records())
