"""Arrow's reading of plain chunks gives exactly what Python's strict reader gives, record by
record: numbers, values, malformed records, quarantine text; and it hands over mid-file."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pytest

from segflow.errors import FileRejected
from segflow.ingestion import readers
from segflow.ingestion.landing import Delivery

HEADER = "transaction_id,line_id,name,amount\r\n"
PLAIN = [
    "T1,1,Shirt,10.00\r\n",
    'T1,2,"Shirt, blue",12.50\r\n',
    '"T2","1","Nord ""Licht""",""\r\n',
    "\r\n",  # a blank line: no record, but it takes a number
    "T3,1,Cap\r\n",  # too few fields
    "T3,2,Cap,1.00,extra\n",  # too many, and a bare line feed
    "   \r\n",  # only spaces: one field
    "T4,1,,\r\n",
    'T5,1,"",-3.25\r\n',
    "T6,1,Müller,7\r\n",
]
# What only Python's reader reads as the contract says: a quoted line break, a quote inside an
# unquoted value, bytes that are not UTF-8.
ODD = [
    'T7,1,"two\r\nlines",1\r\n',
    'T8,1,5"inch,2\r\n',
    "T9,1,caf\xe9,3\r\n",
]


def read_all(path: Path) -> list[tuple]:
    delivery = Delivery(date(2026, 11, 20), path.name, path, "transactions")
    raw = readers.read_delivery(delivery)
    out: list[tuple] = [tuple(raw.header)]
    for batch in raw.batches:
        rows = list(zip(*(column.to_pylist() for column in batch.values), strict=True))
        out.extend(
            ("record", number, row, batch.raw(i))
            for i, (number, row) in enumerate(zip(batch.numbers, rows, strict=True))
        )
        out.extend(("malformed", *record) for record in batch.malformed)
        out.extend(("bad bytes", batch.numbers[i], position) for i, position in batch.bad_bytes)
    return [out[0], *sorted(out[1:], key=lambda r: (r[1], r[0]))]


def write(tmp_path: Path, lines: list[str], name: str = "2026-11-20.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(HEADER.encode() + "".join(lines).encode("utf-8", errors="surrogateescape"))
    return path


def as_python_reads(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[tuple]:
    with monkeypatch.context() as patched:
        patched.setattr(readers, "_simple_lines", lambda chunk: None)
        return read_all(path)


@pytest.mark.parametrize("chunk_bytes", [64, 200, 1 << 20])
def test_plain_chunks_read_as_python_reads_them(tmp_path, monkeypatch, chunk_bytes):
    path = write(tmp_path, PLAIN * 7)
    expected = as_python_reads(monkeypatch, path)
    monkeypatch.setattr(readers, "CHUNK_BYTES", chunk_bytes)
    parsed_by_arrow = []
    parse = readers._parse_simple
    monkeypatch.setattr(
        readers,
        "_parse_simple",
        lambda *args: parsed_by_arrow.append(parse(*args)) or parsed_by_arrow[-1],
    )
    assert read_all(path) == expected
    assert parsed_by_arrow and None not in parsed_by_arrow  # every chunk was Arrow's
    numbers = [r[1] for r in expected if r[0] == "record"]
    assert numbers[:4] == [2, 3, 4, 9]  # record 5 is blank; 6, 7 and 8 (one field) malformed
    assert [r[1:3] for r in expected if r[0] == "malformed"][:3] == [(6, 3), (7, 5), (8, 1)]


RECORDS = [  # PLAIN's well-formed records, one with a bare line feed
    "T1,1,Shirt,10.00\r\n",
    'T1,2,"Shirt, blue",12.50\r\n',
    '"T2","1","Nord ""Licht""",""\r\n',
    "T4,1,,\n",
    'T5,1,"",-3.25\r\n',
    "T6,1,Müller,7\r\n",
]


@pytest.mark.parametrize("chunk_bytes", [64, 200, 1 << 20])
def test_chunks_of_records_only_read_as_python_reads_them(tmp_path, monkeypatch, chunk_bytes):
    # No blank or malformed line: each line is the next record, its text split out only for
    # the quarantine.
    path = write(tmp_path, RECORDS * 9)
    expected = as_python_reads(monkeypatch, path)
    monkeypatch.setattr(readers, "CHUNK_BYTES", chunk_bytes)
    assert read_all(path) == expected
    numbers = [r[1] for r in expected if r[0] == "record"]
    assert numbers == list(range(2, 2 + len(RECORDS) * 9))


@pytest.mark.parametrize("chunk_bytes", [64, 1 << 20])
def test_a_field_over_pythons_limit_on_a_malformed_line_rejects_the_file_as_before(
    tmp_path, monkeypatch, chunk_bytes
):
    path = write(tmp_path, [*PLAIN, f"T9,{'y' * 140_000}\r\n", *PLAIN])
    with pytest.raises(FileRejected) as python:
        as_python_reads(monkeypatch, path)
    monkeypatch.setattr(readers, "CHUNK_BYTES", chunk_bytes)
    with pytest.raises(FileRejected) as arrow:
        read_all(path)
    assert arrow.value.reason == python.value.reason


def test_a_long_line_of_fields_within_pythons_limit_is_read_as_python_reads_it(
    tmp_path, monkeypatch
):
    path = write(tmp_path, [*PLAIN, f"T9,{'x' * 60_000},{'y' * 60_000},{'z' * 60_000}\r\n"])
    assert read_all(path) == as_python_reads(monkeypatch, path)


@pytest.mark.parametrize("odd", range(len(ODD)))
@pytest.mark.parametrize("chunk_bytes", [64, 200, 1 << 20])
def test_python_takes_over_from_the_first_odd_chunk(tmp_path, monkeypatch, odd, chunk_bytes):
    raw = [line.encode("latin-1").decode("utf-8", errors="surrogateescape") for line in ODD]
    path = write(tmp_path, PLAIN * 5 + [raw[odd]] + PLAIN * 2)
    expected = as_python_reads(monkeypatch, path)
    monkeypatch.setattr(readers, "CHUNK_BYTES", chunk_bytes)
    assert read_all(path) == expected


def test_a_file_without_a_final_line_break(tmp_path, monkeypatch):
    path = write(tmp_path, [*PLAIN, "T9,9,Last,1"])
    expected = as_python_reads(monkeypatch, path)
    monkeypatch.setattr(readers, "CHUNK_BYTES", 64)
    assert read_all(path) == expected
    assert expected[-1] == ("record", 12, ("T9", "9", "Last", "1"), "T9,9,Last,1")


def test_a_field_over_pythons_limit_rejects_the_file_as_before(tmp_path, monkeypatch):
    path = write(tmp_path, [*PLAIN, f"T9,1,{'x' * 200_000},1\r\n"])
    with pytest.raises(FileRejected) as python:
        as_python_reads(monkeypatch, path)
    with pytest.raises(FileRejected) as arrow:
        read_all(path)
    assert arrow.value.reason == python.value.reason
    assert "field larger than field limit" in arrow.value.reason


def test_a_gzip_checksum_error_is_worded_as_before(tmp_path):
    whole = bytearray(gzip.compress((HEADER + "".join(PLAIN)).encode(), mtime=0))
    whole[-8] ^= 0xFF  # the CRC-32 of the uncompressed data
    path = tmp_path / "2026-11-20.csv.gz"
    path.write_bytes(bytes(whole))
    with pytest.raises(FileRejected) as rejected:
        read_all(path)
    assert rejected.value.reason == "broken gzip file (CRC check failed)"
