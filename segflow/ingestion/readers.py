"""Reading a delivered file as a header and a stream of numbered record batches.

Memory stays flat whatever the file's size: a file is read in chunks of about CHUNK_BYTES.

A file that cannot be read at all raises FileRejected; single bad records are left to
validation. CSV records are numbered as docs/feeds.md says (the header is record 1, a blank line
is no record but takes its number, a quoted newline is text); Parquet rows from 1.

CSV is read two ways with one result. A chunk whose every line is a complete, plainly quoted
UTF-8 record (the usual export) is parsed by Arrow's CSV reader; its records are its lines. From
the first chunk that is not (a quoted newline, a quote inside an unquoted value, a byte that is
not UTF-8, broken quoting), Python's strict `csv` reader reads the rest of the file, so that
such records are numbered, kept or rejected exactly as before.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from segflow.errors import FileRejected
from segflow.ingestion.landing import Delivery

BOM = codecs.BOM_UTF8  # a UTF-8 byte-order mark (allowed)
CHUNK_BYTES = 16 << 20
BATCH_RECORDS = 100_000  # records per batch when Python's reader reads
# Complete records, one per line: fields plainly quoted ("…" with "" inside, no line break) or
# unquoted without quotes or carriage returns, then the line's end.
_FIELD = r'"(?:[^"\r\n]|"")*"|[^,"\r\n]*'
_SIMPLE_CHUNK = rf"^(?:(?:{_FIELD})(?:,(?:{_FIELD}))*\r?\n)*$"  # every line one
_GZIP_ERRORS = (OSError, EOFError, zlib.error)


@dataclass
class RecordBatch:
    """Well-formed records (as many fields as the header) and the malformed ones, numbered."""

    numbers: np.ndarray  # int64, one per well-formed record
    values: list[pa.Array]  # per header position: text for CSV, Parquet's own types
    raw: Callable[[int], str]  # the record's text for the quarantine, by index in `numbers`
    malformed: list[tuple[int, int, str]] = field(default_factory=list)  # number, fields, text
    bad_bytes: list[tuple[int, int]] = field(default_factory=list)  # index, header position


@dataclass
class RawFile:
    header: list[str]
    batches: Iterator[RecordBatch]


def read_delivery(delivery: Delivery) -> RawFile:
    if delivery.format == "parquet":
        return _read_parquet(delivery)
    _check_csv_bytes(delivery)
    return _read_csv(delivery)


# -- CSV -----------------------------------------------------------------------------------


def _open(delivery: Delivery) -> io.BufferedIOBase:
    if delivery.format == "csv.gz":
        return gzip.GzipFile(delivery.path, "rb")
    return delivery.path.open("rb")


def _chunks(delivery: Delivery) -> Iterator[bytes]:
    try:
        with _open(delivery) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                yield chunk
    except _GZIP_ERRORS as exc:
        if delivery.format != "csv.gz":
            raise
        # Worded as gzip.decompress words it (the reason earlier versions gave): the stream
        # reader adds both checksums to "CRC check failed".
        reason = re.sub(r"^CRC check failed .*", "CRC check failed", str(exc))
        raise FileRejected(delivery.file, f"broken gzip file ({reason})") from None


def _check_csv_bytes(delivery: Delivery) -> None:
    """What rejects a CSV file whole, whatever its records: a broken gzip, no content at all,
    NUL bytes. A first pass, so that these win over any problem in the header or records."""
    content = False
    nul = False
    first = True
    for chunk in _chunks(delivery):
        if first:
            chunk, first = chunk.removeprefix(BOM), False  # a file of only a BOM is empty
        content = content or bool(chunk.strip())
        nul = nul or b"\x00" in chunk
    if not content:
        raise FileRejected(delivery.file, "empty file (not even a header row)")
    if nul:
        raise FileRejected(delivery.file, "not a CSV text file (contains NUL bytes)")


def _read_csv(delivery: Delivery) -> RawFile:
    chunks = _line_chunks(delivery)
    first = next(chunks, b"").removeprefix(BOM)
    end = first.find(b"\n") + 1
    header_line = first[:end] if end else first
    short = len(header_line) <= csv.field_size_limit()  # Python's reader may refuse a field
    if end and short and _simple_lines(header_line) is not None:
        header = next(csv.reader([header_line.decode("utf-8")]), [])
        rest = first[end:]
    else:  # not one plain line: Python's reader reads the whole file
        header, records = _python_header(delivery, _chain(first, chunks))
        return RawFile(header, _python_batches(records, len(header)))
    return RawFile(header, _arrow_batches(delivery, len(header), _chain(rest, chunks)))


def _line_chunks(delivery: Delivery) -> Iterator[bytes]:
    """The decompressed file in chunks that end at a line break (the last one may not)."""
    carry = b""
    for chunk in _chunks(delivery):
        chunk = carry + chunk
        cut = chunk.rfind(b"\n") + 1
        carry = chunk[cut:]
        if cut:
            yield chunk[:cut]
    if carry:
        yield carry


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


class _Lines:
    """A chunk's lines, each a complete, plainly quoted UTF-8 record. Split into an array of
    lines only when a record must be found by its line (a blank or malformed line, a bad
    value's raw text): a chunk of plain records is never split."""

    def __init__(self, chunk: bytes):
        self.chunk = chunk
        self.count = int(np.count_nonzero(np.frombuffer(chunk, np.uint8) == ord("\n")))
        self._text: pa.Array | None = None

    @property
    def text(self) -> pa.Array:
        if self._text is None:
            ends = np.flatnonzero(np.frombuffer(self.chunk, np.uint8) == ord("\n")) + 1
            offsets = np.concatenate([[0], ends]).astype(np.int32)
            self._text = pa.StringArray.from_buffers(
                len(ends), pa.py_buffer(offsets), pa.py_buffer(self.chunk)
            )
        return self._text

    def __len__(self) -> int:
        return self.count


def _simple_lines(chunk: bytes) -> _Lines | None:
    """The chunk's lines if each is a complete, plainly quoted UTF-8 record; else None."""
    if not chunk.endswith(b"\n"):
        chunk += b"\n"  # the file's last line
    try:  # the whole chunk at once: one UTF-8 check and one match instead of one per line
        text = pa.array([chunk], pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:  # bytes that are not UTF-8
        return None
    if not pc.match_substring_regex(text, _SIMPLE_CHUNK)[0].as_py():
        return None
    return _Lines(chunk)


def _arrow_batches(
    delivery: Delivery, width: int, chunks: Iterator[bytes]
) -> Iterator[RecordBatch]:
    number = 1  # the header's
    for chunk in chunks:
        lines = _simple_lines(chunk)
        batch = None if lines is None else _parse_simple(lines, width, number)
        if lines is None or batch is None:  # from here on, Python's reader
            records = _python_records(delivery, _text_stream(_chain(chunk, chunks)), number)
            yield from _python_batches(records, width)
            return
        number += len(lines)
        yield batch


def _parse_simple(lines: _Lines, width: int, first: int) -> RecordBatch | None:
    """Arrow's parse of a chunk of simple lines; None if it does not see the records we do."""
    wrong: dict[str, int] = {}

    def invalid(row: Any) -> str:
        wrong[row.text] = row.actual_columns
        return "skip"

    names = [f"f{i}" for i in range(width)]

    def parse(handler: Callable[[Any], str] | None) -> pa.Table:
        return pa_csv.read_csv(
            pa.py_buffer(lines.chunk),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=4 << 20),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=handler),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    try:
        try:
            table = parse(None)
        except pa.ArrowInvalid:  # a row with too few or too many fields: read them aside
            table = parse(invalid)  # (a handler makes pyarrow import pandas: only if needed)
    except pa.ArrowInvalid:
        return None
    columns = [c.combine_chunks() for c in table.columns]
    # Python's reader refuses a field over its limit (characters: at most the bytes of a parsed
    # field, or the characters of a line Arrow set aside, which Python's reader reads again).
    limit = csv.field_size_limit()
    if any((pc.max(pc.binary_length(c)).as_py() or 0) > limit for c in columns) or any(
        len(text) > limit for text in wrong
    ):
        return None
    if not wrong and table.num_rows == len(lines):  # a record on every line
        numbers = np.arange(first + 1, first + 1 + len(lines), dtype=np.int64)
        return RecordBatch(numbers, columns, lambda i: raw_text(_fields_of(lines.text[i].as_py())))
    bare = pc.utf8_rtrim(lines.text, "\r\n")
    blank = pc.equal(bare, "")
    if wrong:  # the lines Arrow found too few or too many fields in (same text, same count)
        bad = pc.and_(pc.is_in(bare, pa.array(list(wrong), pa.string())), pc.invert(blank))
    else:
        bad = pc.and_(blank, False)
    good = pc.invert(pc.or_(blank, bad))
    good_index = pc.indices_nonzero(good).to_numpy()
    if len(good_index) != table.num_rows:
        return None
    malformed = []
    for index in pc.indices_nonzero(bad).to_pylist():
        fields = _fields_of(lines.text[index].as_py())
        malformed.append((first + 1 + index, len(fields), raw_text(fields)))

    def raw(i: int) -> str:
        return raw_text(_fields_of(lines.text[int(good_index[i])].as_py()))

    numbers = good_index.astype(np.int64) + (first + 1)
    return RecordBatch(numbers, columns, raw, malformed)


def _fields_of(line: str) -> list[str]:
    return next(csv.reader([line.rstrip("\r\n")], strict=True), [])


class _ChunkReader(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            self._buffer = next(self._chunks, b"")
            if not self._buffer:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size], self._buffer = self._buffer[:size], self._buffer[size:]
        return size


def _text_stream(chunks: Iterator[bytes]) -> io.TextIOWrapper:
    # Undecodable bytes survive as surrogates so that only the rows holding them are set aside.
    raw = io.BufferedReader(_ChunkReader(chunks), buffer_size=1 << 20)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")


def _python_header(
    delivery: Delivery, chunks: Iterator[bytes]
) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    # Strict: broken quoting (a quote never closed, text after a closing quote) is an error
    # rather than a guess; an unclosed quote would otherwise swallow the rest of the file.
    reader = csv.reader(_text_stream(chunks), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise FileRejected(delivery.file, f"cannot read the header row ({exc})") from None
    if any(has_bad_bytes(name) for name in header):
        raise FileRejected(delivery.file, "the header row is not UTF-8 text")
    return header, _numbered(delivery, reader, 1)


def _python_records(
    delivery: Delivery, stream: io.TextIOWrapper, last: int
) -> Iterator[tuple[int, list[str]]]:
    return _numbered(delivery, csv.reader(stream, strict=True), last)


def _numbered(delivery: Delivery, reader: Any, number: int) -> Iterator[tuple[int, list[str]]]:
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
        if values:  # a blank line is no record
            yield number, values


def _python_batches(records: Iterator[tuple[int, list[str]]], width: int) -> Iterator[RecordBatch]:
    while True:
        numbers: list[int] = []
        rows: list[list[str | None]] = []
        originals: list[list[str]] = []
        malformed: list[tuple[int, int, str]] = []
        bad_bytes: list[tuple[int, int]] = []
        for number, values in records:
            if len(values) != width:
                malformed.append((number, len(values), raw_text(values)))
            else:
                row: list[str | None] = list(values)
                if has_bad_bytes("".join(values)):
                    for position, value in enumerate(values):
                        if has_bad_bytes(value):
                            bad_bytes.append((len(numbers), position))
                            row[position] = None
                numbers.append(number)
                rows.append(row)
                originals.append(values)
            if len(numbers) + len(malformed) >= BATCH_RECORDS:
                break
        if not numbers and not malformed:
            return
        columns = [pa.array(list(c), pa.string()) for c in zip(*rows, strict=True)] or [
            pa.array([], pa.string()) for _ in range(width)
        ]
        yield RecordBatch(
            np.array(numbers, np.int64), columns, _raw_of(originals), malformed, bad_bytes
        )


def _raw_of(records: list[list[str]]) -> Callable[[int], str]:
    return lambda index: raw_text(records[index])


def raw_text(values: list[str]) -> str:
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


# -- Parquet -------------------------------------------------------------------------------


def _read_parquet(delivery: Delivery) -> RawFile:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(pa.memory_map(str(delivery.path)))
    except (pa.ArrowException, OSError, ValueError) as exc:
        # Worded as pyarrow's whole-file reader words it, which earlier versions reported.
        raise FileRejected(
            delivery.file,
            f"not a readable Parquet file (Could not open Parquet input source '<Buffer>': {exc})",
        ) from None
    header = list(parquet.schema_arrow.names)

    def batches() -> Iterator[RecordBatch]:
        offset = 0
        try:
            for batch in parquet.iter_batches(batch_size=BATCH_RECORDS):
                yield _parquet_batch(header, batch, offset)
                offset += batch.num_rows
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise FileRejected(delivery.file, f"not a readable Parquet file ({exc})") from None

    return RawFile(header, batches())


def _parquet_batch(header: list[str], batch: pa.RecordBatch, offset: int) -> RecordBatch:
    columns = list(batch.columns)

    def raw(i: int) -> str:
        values = [column[i].as_py() for column in columns]
        return json.dumps(dict(zip(header, values, strict=True)), default=str)

    numbers = np.arange(offset + 1, offset + batch.num_rows + 1, dtype=np.int64)
    return RecordBatch(numbers, columns, raw)
