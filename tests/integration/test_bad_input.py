"""Bad input (docs/feeds.md, "Bad input") on both engines: the exact message or quarantine rows,
and that nothing good is lost.

A row that breaks the contract goes to the quarantine table (file, row number with the header
as record 1, column, reason, raw text) and the good rows of its file load. A file that cannot be
read at all is rejected whole: `ingest_rejecting` checks that it loads none of its rows, keeps
the rows an earlier version brought, stays in the landing folder and keeps failing.
"""

from __future__ import annotations

import codecs
import gzip
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from segflow.ingestion import FeedReport, FileResult
from segflow.settings import Settings, load_settings
from segflow.warehouse import open_warehouse, tables
from tests.feedfiles import (
    CUSTOMER_HEADER,
    EVENT_HEADER,
    TRANSACTION_HEADER,
    csv_bytes,
    deliver,
    deliver_bytes,
    deliver_parquet,
    ingest,
    query,
    transaction_lines,
)

TX = "transactions"
DAY = "2026-11-20.csv"
FILE = f"{TX}/{DAY}"
NEXT_DAY = "2026-11-21.csv"
NEXT_FILE = f"{TX}/{NEXT_DAY}"
LINE_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # "2026-11-20 10:00:00" in Europe/Berlin
NOT_UTF8 = "bytes that are not UTF-8"


# -- helpers -------------------------------------------------------------------------------


def line(i: int, quantity: int = 1, amount: str = "10.00", **changes: object) -> tuple:
    """Line `T<i>` of `transaction_lines` as raw.transactions holds it."""
    values = {
        "transaction_id": f"T{i}",
        "line_id": "1",
        "customer_id": f"C{i % 3}",
        "occurred_at": LINE_AT,
        "product_id": "P1",
        "quantity": quantity,
        "amount": Decimal(amount),
        "campaign_code": None,
    }
    return tuple({**values, **changes}.values())


def loaded_lines(settings: Settings, file: str = FILE) -> list[tuple]:
    """The file's rows in raw.transactions, in file order, in the columns of `line`."""
    columns = ", ".join(TRANSACTION_HEADER)
    return query(
        settings,
        f"select {columns} from raw.transactions where _file = ? order by _row_number",
        (file,),
    )


QUARANTINE = (
    'select file, row_number, "column", reason, raw from quarantine {where} '
    'order by file, row_number, "column"'
)


def quarantine(settings: Settings, file: str | None = None) -> list[tuple]:
    """(file, row number, column, reason, raw) of the quarantine table, optionally one file's."""
    if file is None:
        return query(settings, QUARANTINE.format(where=""))
    return query(settings, QUARANTINE.format(where="where file = ?"), (file,))


def record(path: Path, number: int) -> str:
    """Record `number` of a CSV file without quoted newlines, as written (header = 1)."""
    return path.read_text(encoding="utf-8").splitlines()[number - 1]


def held(settings: Settings, feed: str, file: str) -> tuple[list[tuple], ...]:
    """What the warehouse holds of `file`: raw rows, quarantine rows, logged rejections."""
    with open_warehouse(settings) as wh:
        wh.ensure_tables(tables.INGESTION)
        return (
            wh.query(f"select * from raw.{feed} where _file = ? order by _row_number", (file,)),
            wh.query(QUARANTINE.format(where="where file = ?"), (file,)),
            wh.query(
                "select reason from raw.file_log where file = ? and status = 'rejected'", (file,)
            ),
        )


def ingest_rejecting(settings: Settings, feed: str, file: str) -> FeedReport:
    """Ingest `feed`; check `file` is rejected whole and nothing good is lost.

    "A file that cannot be read at all ... is rejected whole": none of its rows load and none
    go to quarantine, the rows an earlier version of it brought stay, the landing folder keeps
    it, the rejection is logged once, and the next run fails on it again with the same reason.
    """
    raw_before, quarantine_before, _ = held(settings, feed, file)
    report = ingest(settings, feed)
    [result] = [f for f in report.files if f.file == file]
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("rejected", 0, 0)
    expected = (raw_before, quarantine_before, [(result.reason,)])
    assert held(settings, feed, file) == expected
    assert (settings.landing_dir / file).is_file()
    again = ingest(settings, feed)
    assert [(f.status, f.reason) for f in again.files if f.file == file] == [
        ("rejected", result.reason)
    ]
    assert held(settings, feed, file) == expected  # still nothing loaded; logged once
    return report


def deliver_next_day(settings: Settings) -> None:
    """A good file delivered next to a bad one: lines T101 and T102."""
    deliver(settings.landing_dir, TX, NEXT_DAY, TRANSACTION_HEADER, transaction_lines(2, 101))


def assert_next_day_loaded(settings: Settings) -> None:
    assert loaded_lines(settings, NEXT_FILE) == [line(101), line(102)]


# -- bytes that are not UTF-8 --------------------------------------------------------------


def test_latin1_bytes_in_a_value_quarantine_only_that_row(project):
    """Bytes that are not UTF-8 make a bad row; the good rows of the file still load."""
    rows = transaction_lines(30)
    rows[4][7] = "LATIN1"  # record 6
    rows[5][7] = "Grüße"  # the same word in UTF-8 is fine
    content = csv_bytes(TRANSACTION_HEADER, rows).replace(b"LATIN1", "Grüße".encode("latin-1"))
    deliver_bytes(project.landing_dir, TX, DAY, content)
    report = ingest(project, TX)
    assert report.files == [FileResult(FILE, "loaded", rows_loaded=29, rows_quarantined=1)]
    assert quarantine(project) == [
        (
            FILE,
            6,
            "campaign_code",
            NOT_UTF8,
            "T5,1,C2,2026-11-20 10:00:00,P1,1,10.00,Gr\ufffd\ufffde",
        )
    ]
    assert loaded_lines(project) == [
        line(i, campaign_code="Grüße" if i == 6 else None) for i in range(1, 31) if i != 5
    ]


@pytest.mark.parametrize(
    "where,reason",
    [
        ("header", "the header row is not UTF-8 text"),
        (
            "every row",
            "10 of 10 rows are bad (100.0%, more than SEGFLOW_MAX_BAD_SHARE=0.05); "
            f"first: row 2 column campaign_code: {NOT_UTF8}",
        ),
    ],
    ids=["header", "every-row"],
)
def test_a_latin1_file_is_rejected_whole(project, where, reason):
    """Not UTF-8 as a whole (the header, or so many rows that the bad share is passed)."""
    header, rows = list(TRANSACTION_HEADER), transaction_lines(10)
    if where == "header":
        header.append("LATIN1")  # would be an ignored extra column, if it could be read
    else:
        for row in rows:
            row[7] = "LATIN1"
    content = csv_bytes(header, rows).replace(b"LATIN1", "Straße".encode("latin-1"))
    deliver_bytes(project.landing_dir, TX, DAY, content)
    deliver_next_day(project)
    report = ingest_rejecting(project, TX, FILE)
    assert report.files == [
        FileResult(FILE, "rejected", reason=reason),
        FileResult(NEXT_FILE, "loaded", rows_loaded=2),
    ]
    assert_next_day_loaded(project)


def test_a_utf8_byte_order_mark_is_allowed(project):
    """A UTF-8 BOM is allowed, in .csv and .csv.gz: it is not part of the first column's name."""
    bom = codecs.BOM_UTF8
    deliver_bytes(
        project.landing_dir, TX, DAY, bom + csv_bytes(TRANSACTION_HEADER, transaction_lines(2))
    )
    gz = bom + csv_bytes(TRANSACTION_HEADER, transaction_lines(2, 101))
    deliver_bytes(project.landing_dir, TX, "2026-11-21.csv.gz", gzip.compress(gz, mtime=0))
    report = ingest(project, TX)
    assert report.files == [
        FileResult(FILE, "loaded", rows_loaded=2),
        FileResult(f"{TX}/2026-11-21.csv.gz", "loaded", rows_loaded=2),
    ]
    assert report.warnings == []
    assert quarantine(project) == []
    assert loaded_lines(project) == [line(1), line(2)]
    assert loaded_lines(project, f"{TX}/2026-11-21.csv.gz") == [line(101), line(102)]
    assert query(project, "select _row_number from raw.transactions where _file = ?", (FILE,)) == [
        (2,),
        (3,),
    ]


# -- RFC 4180 quoting ----------------------------------------------------------------------


def test_quoted_fields_keep_commas_quotes_and_newlines(project):
    """RFC 4180 quoting; the row number counts records, not lines (a quoted newline is text)."""
    text = (
        "product_id,name,brand,updated_at\r\n"
        'P1,"Shirt, blue","Nord ""Licht""",2026-11-20 10:00:00\r\n'
        'P2,"two\r\nlines",,\r\n'
        'P3,"one\nmore",Nord,\r\n'
        "P4,Cap,Nord,soon\r\n"  # record 5 on line 7: bad timestamp
        'P5,"Shirt, red",Nord\r\n'  # record 6: 3 fields, the quoted comma is no separator
    ) + "".join(f"P{i},Hat,Nord,\r\n" for i in range(6, 46))
    deliver_bytes(project.landing_dir, "products", DAY, text.encode())
    report = ingest(project, "products")
    file = f"products/{DAY}"
    assert report.files == [FileResult(file, "loaded", rows_loaded=43, rows_quarantined=2)]
    assert quarantine(project) == [
        (file, 5, "updated_at", "'soon' is not an ISO 8601 timestamp", "P4,Cap,Nord,soon"),
        (file, 6, "", "expected 4 fields, found 3", 'P5,"Shirt, red",Nord'),
    ]
    rows = query(
        project,
        "select _row_number, product_id, name, brand, updated_at from raw.products "
        "order by _row_number",
    )
    assert rows[:4] == [
        (2, "P1", "Shirt, blue", 'Nord "Licht"', LINE_AT),
        (3, "P2", "two\r\nlines", None, None),
        (4, "P3", "one\nmore", "Nord", None),
        (7, "P6", "Hat", "Nord", None),
    ]
    assert [r[1] for r in rows[3:]] == [f"P{i}" for i in range(6, 46)]


@pytest.mark.parametrize(
    "text,reason",
    [
        (  # the quote swallows the rest of the file: reading on would lose P3 silently
            'product_id,name\r\nP1,Shirt\r\nP2,"Cap\r\nP3,Hat\r\n',
            "CSV cannot be parsed after record 2 (unexpected end of data)",
        ),
        (
            'product_id,name\r\nP1,"Cap"s\r\nP2,Hat\r\n',
            "CSV cannot be parsed after record 1 (',' expected after '\"')",
        ),
    ],
    ids=["unterminated-quote", "text-after-closing-quote"],
)
def test_broken_quoting_rejects_the_file(project, text, reason):
    """Not RFC 4180 CSV: a file that cannot be read is rejected whole."""
    deliver_bytes(project.landing_dir, "products", DAY, text.encode())
    deliver(project.landing_dir, "products", NEXT_DAY, ["product_id", "name"], [["P9", "Bag"]])
    report = ingest_rejecting(project, "products", f"products/{DAY}")
    assert report.files == [
        FileResult(f"products/{DAY}", "rejected", reason=reason),
        FileResult(f"products/{NEXT_DAY}", "loaded", rows_loaded=1),
    ]
    assert query(project, "select product_id, name from raw.products") == [("P9", "Bag")]


# -- missing and extra columns -------------------------------------------------------------


def test_a_missing_required_column_rejects_the_file(project):
    """A file that lacks a required column is rejected whole; its earlier version stays."""
    deliver(project.landing_dir, TX, DAY, TRANSACTION_HEADER, transaction_lines(3))
    ingest(project, TX)
    without_amount = [h for h in TRANSACTION_HEADER if h != "amount"]
    rows = [r[:6] + r[7:] for r in transaction_lines(5)]
    deliver(project.landing_dir, TX, DAY, without_amount, rows)
    deliver_next_day(project)
    report = ingest_rejecting(project, TX, FILE)
    assert report.files == [
        FileResult(FILE, "rejected", reason="required column 'amount' is missing from the header"),
        FileResult(NEXT_FILE, "loaded", rows_loaded=2),
    ]
    assert loaded_lines(project) == [line(1), line(2), line(3)]
    assert_next_day_loaded(project)


def test_optional_columns_may_be_missing_and_extra_ones_are_ignored(project):
    """Optional columns may be left out (null); extra columns are ignored with a warning; the
    column order is free."""
    header = [
        "amount",
        "note",
        "transaction_id",
        "line_id",
        "occurred_at",
        "product_id",
        "quantity",
    ]
    rows = [["10.00", "hi", f"T{i}", "1", "2026-11-20 10:00:00", "P1", "1"] for i in (1, 2)]
    deliver(project.landing_dir, TX, DAY, header, rows)
    report = ingest(project, TX)
    assert report.files == [FileResult(FILE, "loaded", rows_loaded=2)]
    assert report.warnings == [f"{FILE}: extra column 'note' ignored"]
    assert quarantine(project) == []
    assert loaded_lines(project) == [line(1, customer_id=None), line(2, customer_id=None)]


def test_bytes_that_are_not_utf8_in_an_ignored_column_do_no_harm(project):
    """Only the contract's columns are checked: an extra column is ignored, bytes and all."""
    header = ["transaction_id", "line_id", "occurred_at", "product_id", "quantity", "amount"]
    rows = [[f"T{i}", "1", "2026-11-20 10:00:00", "P1", "1", "10.00"] for i in (1, 2)]
    content = csv_bytes([*header, "note"], [[*rows[0], "LATIN1"], [*rows[1], "ok"]])
    deliver_bytes(
        project.landing_dir, TX, DAY, content.replace(b"LATIN1", "Grüße".encode("latin-1"))
    )
    report = ingest(project, TX)
    assert report.files == [FileResult(FILE, "loaded", rows_loaded=2)]
    assert quarantine(project) == []
    assert loaded_lines(project) == [line(1, customer_id=None), line(2, customer_id=None)]


def test_rows_with_missing_or_extra_fields_are_quarantined(project):
    """A row with the wrong number of fields is a bad row, with an empty column."""
    rows = transaction_lines(50)  # 2 bad rows of 50: under the bad share
    rows[1] = rows[1][:7]  # record 3: a field short
    rows[2] = [*rows[2], "extra"]  # record 4: a field too many
    path = deliver(project.landing_dir, TX, DAY, TRANSACTION_HEADER, rows)
    report = ingest(project, TX)
    assert report.files == [FileResult(FILE, "loaded", rows_loaded=48, rows_quarantined=2)]
    assert quarantine(project) == [
        (FILE, 3, "", "expected 8 fields, found 7", record(path, 3)),
        (FILE, 4, "", "expected 8 fields, found 9", record(path, 4)),
    ]
    assert loaded_lines(project) == [line(i) for i in range(1, 51) if i not in (2, 3)]


# -- values that cannot be parsed ----------------------------------------------------------

BAD_DATES = [  # (column, value, reason): dates are YYYY-MM-DD, timestamps ISO 8601
    ("birth_date", "21.11.1980", "'21.11.1980' is not a date (YYYY-MM-DD)"),
    ("birth_date", "1980-02-30", "'1980-02-30' is not a valid calendar date"),
    ("signup_date", "2026-1-5", "'2026-1-5' is not a date (YYYY-MM-DD)"),
    ("signup_date", "2026-01-05T10:00", "'2026-01-05T10:00' is not a date (YYYY-MM-DD)"),
    ("updated_at", "20.11.2026 10:00", "'20.11.2026 10:00' is not an ISO 8601 timestamp"),
    ("updated_at", "2026-11-20 24:00", "'2026-11-20 24:00' is not a valid timestamp"),
    ("erased_at", "yesterday", "'yesterday' is not an ISO 8601 timestamp"),
]


def test_unparseable_dates_and_timestamps_are_quarantined(project):
    """An unparseable date or timestamp is a bad row; the good rows of the file load."""
    rows = [
        [f"C{i}", f"c{i}@example.com", "f", "1980-05-01", "2026-01-01", "", "2026-11-20 10:00", ""]
        for i in range(1, 151)
    ]
    for row, (column, value, _) in zip(rows, BAD_DATES, strict=False):
        row[CUSTOMER_HEADER.index(column)] = value
    rows[-2][3], rows[-2][6] = "", "2026-11-20T10:00:00+01:00"  # no birth date; an offset
    rows[-1][6] = "2026-11-20"  # a date is midnight in the project's time zone
    path = deliver(project.landing_dir, "customers", DAY, CUSTOMER_HEADER, rows)
    report = ingest(project, "customers")
    file = f"customers/{DAY}"
    assert report.files == [FileResult(file, "loaded", rows_loaded=143, rows_quarantined=7)]
    assert quarantine(project) == [
        (file, number, column, reason, record(path, number))
        for number, (column, _, reason) in enumerate(BAD_DATES, start=2)
    ]
    loaded = query(
        project,
        "select customer_id, birth_date, signup_date, updated_at, erased_at from raw.customers "
        "order by _row_number",
    )
    good = (date(1980, 5, 1), date(2026, 1, 1), LINE_AT, None)
    assert loaded == [
        *[(f"C{i}", *good) for i in range(8, 149)],
        ("C149", None, *good[1:]),
        ("C150", *good[:2], datetime(2026, 11, 19, 23, 0, tzinfo=UTC), None),
    ]


BAD_NUMBERS = [  # (column, value, reason): a decimal point, an optional leading minus, no
    # thousands separators and no unit; integers have no decimal part
    ("quantity", "two", "'two' is not an integer"),
    ("quantity", "1.0", "'1.0' is not an integer"),
    ("quantity", "+2", "'+2' is not an integer"),
    ("amount", "12,50", "'12,50' is not a number (decimal point, no thousands separators)"),
    ("amount", "1,234.50", "'1,234.50' is not a number (decimal point, no thousands separators)"),
    ("amount", "10.00 EUR", "'10.00 EUR' is not a number (decimal point, no thousands separators)"),
    ("amount", "1e3", "'1e3' is not a number (decimal point, no thousands separators)"),
]


def test_unparseable_numbers_are_quarantined(project):
    """An unparseable number is a bad row; the good rows of the file load."""
    rows = transaction_lines(150)
    for row, (column, value, _) in zip(rows, BAD_NUMBERS, strict=False):
        row[TRANSACTION_HEADER.index(column)] = value
    rows[-1][5:7] = ["-1", "-19.99"]  # a returned item: negative numbers are good
    path = deliver(project.landing_dir, TX, DAY, TRANSACTION_HEADER, rows)
    report = ingest(project, TX)
    assert report.files == [FileResult(FILE, "loaded", rows_loaded=143, rows_quarantined=7)]
    assert quarantine(project) == [
        (FILE, number, column, reason, record(path, number))
        for number, (column, _, reason) in enumerate(BAD_NUMBERS, start=2)
    ]
    assert loaded_lines(project) == [
        *[line(i) for i in range(8, 150)],
        line(150, quantity=-1, amount="-19.99"),
    ]


def test_missing_required_values_are_quarantined(project):
    """Empty or only spaces in a required column is a bad row; one quarantine row per bad
    column, the row counted once. An empty optional value is just missing."""
    rows = transaction_lines(100)
    rows[0][0] = ""  # record 2: transaction_id
    rows[1][1] = "   "  # record 3: line_id, only spaces
    rows[2][3] = rows[2][4] = ""  # record 4: occurred_at and product_id
    rows[3][5], rows[3][6] = "", " "  # record 5: quantity and amount
    rows[4][2] = ""  # record 6: no customer_id (anonymous purchase) is good
    path = deliver(project.landing_dir, TX, DAY, TRANSACTION_HEADER, rows)
    report = ingest(project, TX)
    assert report.files == [FileResult(FILE, "loaded", rows_loaded=96, rows_quarantined=4)]
    missing = "missing required value"
    assert quarantine(project) == [
        (FILE, 2, "transaction_id", missing, record(path, 2)),
        (FILE, 3, "line_id", missing, record(path, 3)),
        (FILE, 4, "occurred_at", missing, record(path, 4)),
        (FILE, 4, "product_id", missing, record(path, 4)),
        (FILE, 5, "amount", missing, record(path, 5)),
        (FILE, 5, "quantity", missing, record(path, 5)),
    ]
    assert loaded_lines(project) == [line(5, customer_id=None), *[line(i) for i in range(6, 101)]]


def test_an_unknown_boolean_word_is_quarantined(project):
    """Booleans are true/false, 1/0, yes/no, y/n in any case; empty is missing."""
    header = ["customer_id", "signup_date", "updated_at", "app_user", "email_opt_in"]
    words = [("TRUE", "false"), ("1", "0"), ("Yes", "NO"), ("y", "N"), ("", " ")]
    words += [("ja", "true"), ("true", "maybe"), ("2", "1")] + [("true", "false")] * 62
    rows = [[f"C{i}", "2026-01-01", "2026-11-20 10:00", *w] for i, w in enumerate(words, 1)]
    path = deliver(project.landing_dir, "customers", DAY, header, rows)
    report = ingest(project, "customers")
    file = f"customers/{DAY}"
    assert report.files == [FileResult(file, "loaded", rows_loaded=67, rows_quarantined=3)]
    words_are = "is not a boolean (true/false, 1/0, yes/no, y/n)"
    assert quarantine(project) == [
        (file, 7, "app_user", f"'ja' {words_are}", record(path, 7)),
        (file, 8, "email_opt_in", f"'maybe' {words_are}", record(path, 8)),
        (file, 9, "app_user", f"'2' {words_are}", record(path, 9)),
    ]
    loaded = query(
        project,
        "select customer_id, app_user, email_opt_in from raw.customers order by _row_number",
    )
    assert loaded[:5] == [
        ("C1", True, False),
        ("C2", True, False),
        ("C3", True, False),
        ("C4", True, False),
        ("C5", None, None),
    ]
    assert loaded[5:] == [(f"C{i}", True, False) for i in range(9, 71)]


def test_duplicate_keys_in_one_file_all_load_in_file_order(project):
    """A duplicate is not an error: every row loads with its row number, which staging uses to
    let the later row win (test_pipeline checks the winner end to end)."""
    rows = [*transaction_lines(2), *transaction_lines(1, amount="12.00")]  # T1 again
    deliver(project.landing_dir, TX, DAY, TRANSACTION_HEADER, rows)
    report = ingest(project, TX)
    assert report.files == [FileResult(FILE, "loaded", rows_loaded=3)]
    assert report.warnings == [] and quarantine(project) == []
    assert loaded_lines(project) == [line(1), line(2), line(1, amount="12.00")]
    assert query(project, "select _row_number from raw.transactions order by _row_number") == [
        (2,),
        (3,),
        (4,),
    ]


# -- files that are (nearly) empty ---------------------------------------------------------


@pytest.mark.parametrize("name", ["2026-11-20.csv", "2026-11-20.csv.gz", "2026-11-20.parquet"])
def test_a_header_only_file_is_valid_and_loads_nothing(project, name):
    deliver(project.landing_dir, "events", name, EVENT_HEADER, [])
    deliver(
        project.landing_dir, "events", NEXT_DAY, EVENT_HEADER, [["E1", "C1", "2026-11-21", "x"]]
    )
    report = ingest(project, "events")
    assert report.files == [
        FileResult(f"events/{name}", "loaded"),
        FileResult(f"events/{NEXT_DAY}", "loaded", rows_loaded=1),
    ]
    assert report.warnings == [] and quarantine(project) == []
    assert query(project, "select status, rows_loaded from raw.file_log order by file") == [
        ("loaded", 0),
        ("loaded", 1),
    ]
    assert query(project, "select event_id, occurred_at, _file from raw.events") == [
        ("E1", datetime(2026, 11, 20, 23, 0, tzinfo=UTC), f"events/{NEXT_DAY}")
    ]


def test_a_header_only_redelivery_needs_accept(project):
    """A re-delivery that would remove more than the share of its earlier rows is rejected
    unless accepted: a header-only re-export must not silently empty a day."""
    deliver(project.landing_dir, TX, DAY, TRANSACTION_HEADER, transaction_lines(10))
    ingest(project, TX)
    deliver(project.landing_dir, TX, DAY, TRANSACTION_HEADER, [])
    report = ingest_rejecting(project, TX, FILE)
    assert report.files == [
        FileResult(
            FILE,
            "rejected",
            reason="this re-delivery would remove 10 of the 10 rows the earlier version brought "
            "(100.0%, more than 0.05); if that is intended, run "
            f"`segflow build --accept {FILE}`",
        )
    ]
    assert loaded_lines(project) == [line(i) for i in range(1, 11)]
    accepted = ingest(project, TX, accept=[FILE])
    assert accepted.files == [FileResult(FILE, "replaced")]
    assert loaded_lines(project) == []


EMPTY = "empty file (not even a header row)"


@pytest.mark.parametrize(
    "name,content,reason",
    [
        ("2026-11-20.csv", b"", EMPTY),
        ("2026-11-20.csv", b"\r\n\r\n", EMPTY),
        ("2026-11-20.csv", codecs.BOM_UTF8, EMPTY),  # an "empty" export with a BOM
        ("2026-11-20.csv.gz", gzip.compress(b"", mtime=0), EMPTY),
        (
            "2026-11-20.parquet",
            b"",
            "not a readable Parquet file (Could not open Parquet input source '<Buffer>': "
            "Parquet file size is 0 bytes)",
        ),
    ],
    ids=["csv", "blank-lines", "bom-only", "csv.gz", "parquet"],
)
def test_an_empty_file_is_rejected_whole(project, name, content, reason):
    """An empty file cannot be read: rejected, the rows its earlier version brought stay."""
    deliver(project.landing_dir, TX, name, TRANSACTION_HEADER, transaction_lines(3))
    ingest(project, TX)
    deliver_bytes(project.landing_dir, TX, name, content)
    deliver_next_day(project)
    report = ingest_rejecting(project, TX, f"{TX}/{name}")
    assert report.files == [
        FileResult(f"{TX}/{name}", "rejected", reason=reason),
        FileResult(NEXT_FILE, "loaded", rows_loaded=2),
    ]
    assert loaded_lines(project, f"{TX}/{name}") == [line(1), line(2), line(3)]
    assert_next_day_loaded(project)


def test_a_truncated_csv_gz_is_rejected_whole(project):
    """A broken gzip is rejected whole: not even the rows before the break load."""
    name, file = "2026-11-20.csv.gz", f"{TX}/2026-11-20.csv.gz"
    deliver(project.landing_dir, TX, name, TRANSACTION_HEADER, transaction_lines(3))
    ingest(project, TX)
    whole = gzip.compress(csv_bytes(TRANSACTION_HEADER, transaction_lines(50)), mtime=0)
    deliver_bytes(project.landing_dir, TX, name, whole[: len(whole) // 2])
    deliver_next_day(project)
    report = ingest_rejecting(project, TX, file)
    reason = "broken gzip file (Compressed file ended before the end-of-stream marker was reached)"
    assert report.files == [
        FileResult(file, "rejected", reason=reason),
        FileResult(NEXT_FILE, "loaded", rows_loaded=2),
    ]
    assert loaded_lines(project, file) == [line(1), line(2), line(3)]
    assert_next_day_loaded(project)


# -- Parquet -------------------------------------------------------------------------------


def parquet_lines(n: int) -> dict[str, pa.Array]:
    """Lines T1..Tn as typed Parquet columns (line_id an integer, occurred_at a timestamp)."""
    return {
        "transaction_id": pa.array([f"T{i}" for i in range(1, n + 1)]),
        "line_id": pa.array([1] * n, pa.int64()),  # an integer id is read as text
        "customer_id": pa.array([f"C{i % 3}" for i in range(1, n + 1)]),
        "occurred_at": pa.array([LINE_AT] * n, pa.timestamp("us", tz="UTC")),
        "product_id": pa.array(["P1"] * n),
        "quantity": pa.array([1.0] * n, pa.float64()),  # a whole float is an integer
        "amount": pa.array([Decimal("10.00")] * n, pa.decimal128(10, 2)),
    }


def test_parquet_values_of_the_wrong_type_are_quarantined(project):
    """Parquet values are checked like CSV text; rows are numbered from 1 (no header record)."""
    columns = parquet_lines(50)
    columns["quantity"] = pa.array([2.5 if i == 2 else 1.0 for i in range(1, 51)])
    columns["amount"] = pa.array(["12,50" if i == 4 else "10.00" for i in range(1, 51)])
    deliver_parquet(project.landing_dir, TX, "2026-11-20.parquet", columns)
    report = ingest(project, TX)
    file = f"{TX}/2026-11-20.parquet"
    assert report.files == [FileResult(file, "loaded", rows_loaded=48, rows_quarantined=2)]
    raw = (
        '{{"transaction_id": "T{i}", "line_id": 1, "customer_id": "C{c}", '
        '"occurred_at": "2026-11-20 09:00:00+00:00", "product_id": "P1", '
        '"quantity": {quantity}, "amount": "{amount}"}}'
    )
    assert quarantine(project) == [
        (
            file,
            2,
            "quantity",
            "expected an integer, got float",
            raw.format(i=2, c=2, quantity=2.5, amount="10.00"),
        ),
        (
            file,
            4,
            "amount",
            "'12,50' is not a number (decimal point, no thousands separators)",
            raw.format(i=4, c=1, quantity=1.0, amount="12,50"),
        ),
    ]
    assert loaded_lines(project, file) == [line(i) for i in range(1, 51) if i not in (2, 4)]


@pytest.mark.parametrize(
    "column,values,first",
    [
        ("occurred_at", pa.array([1795165200000] * 3, pa.int64()), "expected a timestamp, got int"),
        ("quantity", pa.array(["one", "two", "three"]), "'one' is not an integer"),
        ("amount", pa.array([True] * 3), "expected a number, got a boolean"),
    ],
    ids=["int-timestamp", "text-integer", "bool-amount"],
)
def test_a_parquet_column_of_the_wrong_type_rejects_the_file(project, column, values, first):
    """A wrongly typed column makes every row bad: over the bad share, the file is rejected."""
    columns = parquet_lines(3)
    columns[column] = values
    deliver_parquet(project.landing_dir, TX, "2026-11-20.parquet", columns)
    deliver_next_day(project)
    file = f"{TX}/2026-11-20.parquet"
    report = ingest_rejecting(project, TX, file)
    reason = (
        "3 of 3 rows are bad (100.0%, more than SEGFLOW_MAX_BAD_SHARE=0.05); "
        f"first: row 1 column {column}: {first}"
    )
    assert report.files == [
        FileResult(file, "rejected", reason=reason),
        FileResult(NEXT_FILE, "loaded", rows_loaded=2),
    ]
    assert_next_day_loaded(project)


# -- time zones ----------------------------------------------------------------------------

DST = [  # Europe/Berlin: (local time as delivered, the instant it is read as)
    ("2026-03-29 01:59:59", datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC)),  # winter time
    # 02:00-02:59 does not exist: read with the offset before the change (+01:00), i.e. 03:30
    ("2026-03-29 02:30:00", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
    ("2026-03-29 03:00:00", datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),  # summer time
    ("2026-10-25 01:59:59", datetime(2026, 10, 24, 23, 59, 59, tzinfo=UTC)),
    # 02:00-02:59 happens twice: the first (summer-time, +02:00) instant
    ("2026-10-25 02:30:00", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    ("2026-10-25 03:00:00", datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),  # winter time
]


def test_timestamps_without_offset_around_daylight_saving_changes(project):
    """Without an offset a timestamp is in the project's time zone, CSV and Parquet alike;
    with an offset it is that instant (the only way to name the second 02:30)."""
    texts = [text for text, _ in DST] + ["2026-10-25 02:30:00+01:00"]
    rows = [[f"E{i}", "C1", text, "app_open"] for i, text in enumerate(texts, 1)]
    deliver(project.landing_dir, "events", DAY, EVENT_HEADER, rows)
    naive = [datetime.fromisoformat(text) for text, _ in DST]
    columns = {
        "event_id": pa.array([f"P{i}" for i in range(1, len(DST) + 1)]),
        "customer_id": pa.array(["C1"] * len(DST)),
        "occurred_at": pa.array(naive, pa.timestamp("us")),
        "event_type": pa.array(["app_open"] * len(DST)),
    }
    deliver_parquet(project.landing_dir, "events", "2026-11-20.parquet", columns)
    report = ingest(project, "events")
    assert [(f.status, f.rows_loaded, f.rows_quarantined) for f in report.files] == [
        ("loaded", 7, 0),
        ("loaded", 6, 0),
    ]
    loaded = query(project, "select event_id, occurred_at from raw.events order by event_id")
    instants = [instant for _, instant in DST]
    second_0230 = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert loaded == [
        *[(f"E{i}", t) for i, t in enumerate([*instants, second_0230], 1)],
        *[(f"P{i}", t) for i, t in enumerate(instants, 1)],
    ]


# -- the bad share -------------------------------------------------------------------------


def test_a_file_at_the_bad_share_limit_loads(project):
    """1 bad row of 20 is 5 %, not more than the default share: the file loads."""
    rows = transaction_lines(20)
    rows[0][5] = "two"
    path = deliver(project.landing_dir, TX, DAY, TRANSACTION_HEADER, rows)
    report = ingest(project, TX)
    assert report.files == [FileResult(FILE, "loaded", rows_loaded=19, rows_quarantined=1)]
    assert quarantine(project) == [
        (FILE, 2, "quantity", "'two' is not an integer", record(path, 2))
    ]
    assert loaded_lines(project) == [line(i) for i in range(2, 21)]


def test_a_file_over_the_bad_share_limit_is_rejected_whole(project, monkeypatch):
    """2 bad rows of 20 is 10 %: none of its rows load (not even to quarantine); the earlier
    version's rows stay. With SEGFLOW_MAX_BAD_SHARE=0.1 the same file loads."""
    deliver(project.landing_dir, TX, DAY, TRANSACTION_HEADER, transaction_lines(20))
    ingest(project, TX)
    rows = transaction_lines(20)
    rows[0][5], rows[1][5] = "two", "three"
    rows[2][6] = "11.00"  # a corrected amount that must not load either
    path = deliver(project.landing_dir, TX, DAY, TRANSACTION_HEADER, rows)
    deliver_next_day(project)
    report = ingest_rejecting(project, TX, FILE)
    reason = (
        "2 of 20 rows are bad (10.0%, more than SEGFLOW_MAX_BAD_SHARE=0.05); "
        "first: row 2 column quantity: 'two' is not an integer"
    )
    assert report.files == [
        FileResult(FILE, "rejected", reason=reason),
        FileResult(NEXT_FILE, "loaded", rows_loaded=2),
    ]
    assert loaded_lines(project) == [line(i) for i in range(1, 21)]
    assert quarantine(project) == []
    assert_next_day_loaded(project)

    monkeypatch.setenv("SEGFLOW_MAX_BAD_SHARE", "0.1")
    settings = load_settings(dotenv=False)
    again = ingest(settings, TX)
    assert again.files == [
        FileResult(FILE, "replaced", rows_loaded=18, rows_quarantined=2),
        FileResult(NEXT_FILE, "unchanged"),
    ]
    assert quarantine(project) == [
        (FILE, 2, "quantity", "'two' is not an integer", record(path, 2)),
        (FILE, 3, "quantity", "'three' is not an integer", record(path, 3)),
    ]
    assert loaded_lines(project) == [line(3, amount="11.00"), *[line(i) for i in range(4, 21)]]
