"""Ingestion into real DuckDB and PostgreSQL warehouses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.feedfiles import (
    CUSTOMER_HEADER,
    TRANSACTION_HEADER,
    deliver,
    ingest,
    query,
    transaction_lines,
)


def test_loads_csv_gzip_and_parquet_with_types(project):
    landing = project.landing_dir
    deliver(landing, "transactions", "2026-11-20.csv", TRANSACTION_HEADER, transaction_lines(2))
    deliver(
        landing,
        "transactions",
        "2026-11-21.csv.gz",
        TRANSACTION_HEADER,
        transaction_lines(2, start=3),
    )
    deliver(
        landing,
        "transactions",
        "2026-11-22_store-1.parquet",
        TRANSACTION_HEADER,
        transaction_lines(2, start=5, amount="-4.5"),
    )
    report = ingest(project, "transactions")
    assert [f.status for f in report.files] == ["loaded", "loaded", "loaded"]
    assert report.rows_loaded == 6 and report.rows_quarantined == 0
    rows = query(
        project,
        "select transaction_id, quantity, amount, occurred_at, _file, _delivery_date, _row_number "
        "from raw.transactions order by transaction_id",
    )
    assert [r[0] for r in rows] == ["T1", "T2", "T3", "T4", "T5", "T6"]
    first = rows[0]
    assert first[1] == 1 and first[2] == Decimal("10.0000")
    # No offset: Europe/Berlin local time, stored as the instant 09:00 UTC.
    assert first[3].astimezone(dt.UTC) == dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
    assert first[4:] == ("transactions/2026-11-20.csv", dt.date(2026, 11, 20), 2)
    assert rows[5][2] == Decimal("-4.5000")
    assert rows[4][6] == 1  # Parquet rows are numbered from 1 (no header record)


def test_rerun_loads_nothing_twice(project):
    deliver(
        project.landing_dir,
        "transactions",
        "2026-11-20.csv",
        TRANSACTION_HEADER,
        transaction_lines(5),
    )
    ingest(project, "transactions")
    log_before = query(project, "select * from raw.file_log")
    report = ingest(project, "transactions")
    assert [f.status for f in report.files] == ["unchanged"]
    assert query(project, "select count(*) from raw.transactions") == [(5,)]
    assert query(project, "select * from raw.file_log") == log_before


def test_redelivery_replaces_the_rows_the_file_brought(project):
    landing = project.landing_dir
    deliver(
        landing,
        "transactions",
        "2026-11-19.csv",
        TRANSACTION_HEADER,
        transaction_lines(3, start=900),
    )
    deliver(landing, "transactions", "2026-11-20.csv", TRANSACTION_HEADER, transaction_lines(40))
    ingest(project, "transactions")
    # Re-delivery: T1 is gone, T2 has a corrected amount, T41 is new (1 of 40 removed = 2.5 %).
    rows = transaction_lines(40)[1:] + transaction_lines(1, start=41)
    rows[0][6] = "99.90"
    deliver(landing, "transactions", "2026-11-20.csv", TRANSACTION_HEADER, rows)
    report = ingest(project, "transactions")
    assert [f.status for f in report.files] == ["unchanged", "replaced"]
    ids = {r[0] for r in query(project, "select transaction_id from raw.transactions")}
    assert "T1" not in ids and "T41" in ids and {"T900", "T901", "T902"} <= ids
    assert len(ids) == 43
    assert query(project, "select amount from raw.transactions where transaction_id = 'T2'") == [
        (Decimal("99.9000"),)
    ]


def test_bad_rows_are_quarantined_and_good_rows_load(project):
    rows = transaction_lines(100)  # 4 bad of 100: under the 5 % limit
    rows[4][6] = "12,50"  # record 6: unparseable number
    rows[9][3] = "2026-02-30 10:00:00"  # record 11: impossible date
    rows[19] = rows[19][:5]  # record 21: wrong number of fields
    rows[29][0] = "   "  # record 31: missing required value
    deliver(project.landing_dir, "transactions", "2026-11-20.csv", TRANSACTION_HEADER, rows)
    report = ingest(project, "transactions")
    assert report.files[0].status == "loaded"
    assert report.rows_loaded == 96 and report.rows_quarantined == 4
    quarantine = query(
        project,
        'select feed, file, row_number, "column", reason from quarantine order by row_number',
    )
    assert [(q[2], q[3]) for q in quarantine] == [
        (6, "amount"),
        (11, "occurred_at"),
        (21, ""),
        (31, "transaction_id"),
    ]
    assert quarantine[0][:2] == ("transactions", "transactions/2026-11-20.csv")
    assert "12,50" in quarantine[0][4]
    assert quarantine[2][4] == "expected 8 fields, found 5"
    assert quarantine[3][4] == "missing required value"
    assert query(project, "select count(*) from raw.transactions") == [(96,)]


def test_non_utf8_bytes_quarantine_only_their_row(project):
    path = deliver(
        project.landing_dir,
        "customers",
        "2026-11-20.csv",
        CUSTOMER_HEADER,
        [
            [f"C{i}", f"c{i}@example.com", "f", "", "2026-01-01", "", "2026-01-01", ""]
            for i in range(30)
        ],
    )
    path.write_bytes(path.read_bytes().replace(b"c3@example.com", b"M\xfcller@example.com"))
    report = ingest(project, "customers")
    assert report.rows_loaded == 29 and report.rows_quarantined == 1
    assert query(project, 'select row_number, "column", reason from quarantine') == [
        (5, "email", "bytes that are not UTF-8")
    ]


def test_a_file_over_the_bad_share_is_rejected_whole_and_keeps_failing(project):
    landing = project.landing_dir
    rows = transaction_lines(20)
    rows[0][5] = "two"  # 2 of 20 bad = 10 % > 5 %
    rows[1][5] = "three"
    deliver(landing, "transactions", "2026-11-20.csv", TRANSACTION_HEADER, rows)
    deliver(
        landing,
        "transactions",
        "2026-11-21.csv",
        TRANSACTION_HEADER,
        transaction_lines(3, start=50),
    )
    report = ingest(project, "transactions")
    assert [f.status for f in report.files] == ["rejected", "loaded"]
    assert "2 of 20 rows are bad" in report.rejected[0].reason
    assert query(project, "select count(*) from raw.transactions") == [(3,)]  # others kept
    again = ingest(project, "transactions")
    assert [f.status for f in again.files] == ["rejected", "unchanged"]
    assert query(project, "select count(*) from raw.file_log where status = 'rejected'") == [(1,)]
    # Fixed re-delivery loads.
    deliver(landing, "transactions", "2026-11-20.csv", TRANSACTION_HEADER, transaction_lines(20))
    fixed = ingest(project, "transactions")
    assert [f.status for f in fixed.files] == ["loaded", "unchanged"]
    assert query(project, "select count(*) from raw.transactions") == [(23,)]


def test_a_file_without_a_required_column_is_rejected(project):
    header = [h for h in TRANSACTION_HEADER if h != "amount"]
    deliver(
        project.landing_dir,
        "transactions",
        "2026-11-20.csv",
        header,
        [r[:6] + r[7:] for r in transaction_lines(3)],
    )
    report = ingest(project, "transactions")
    assert report.rejected[0].reason == "required column 'amount' is missing from the header"
    assert query(project, "select count(*) from raw.transactions") == [(0,)]


def test_redelivery_that_removes_many_rows_needs_accept(project):
    landing = project.landing_dir
    deliver(landing, "transactions", "2026-11-20.csv", TRANSACTION_HEADER, transaction_lines(10))
    ingest(project, "transactions")
    deliver(landing, "transactions", "2026-11-20.csv", TRANSACTION_HEADER, [])  # header only
    report = ingest(project, "transactions")
    assert "would remove 10 of the 10 rows" in report.rejected[0].reason
    assert "--accept transactions/2026-11-20.csv" in report.rejected[0].reason
    assert query(project, "select count(*) from raw.transactions") == [(10,)]
    accepted = ingest(project, "transactions", accept=["transactions/2026-11-20.csv"])
    assert [f.status for f in accepted.files] == ["replaced"]
    assert query(project, "select count(*) from raw.transactions") == [(0,)]


def test_extra_columns_are_ignored_with_a_warning_and_order_is_free(project):
    header = ["amount", "note", *[h for h in TRANSACTION_HEADER if h != "amount"]]
    rows = [[r[6], "hello", *[v for i, v in enumerate(r) if i != 6]] for r in transaction_lines(2)]
    deliver(project.landing_dir, "transactions", "2026-11-20.csv", header, rows)
    report = ingest(project, "transactions")
    assert report.rows_loaded == 2
    assert report.warnings == ["transactions/2026-11-20.csv: extra column 'note' ignored"]


def test_erased_customers_lose_personal_columns_in_every_version(project):
    landing = project.landing_dir
    deliver(
        landing,
        "customers",
        "2026-11-01.csv",
        CUSTOMER_HEADER,
        [
            ["C1", "anna@example.com", "f", "1980-05-01", "2026-01-01", "", "2026-01-01", ""],
            ["C2", "bob@example.com", "m", "1970-01-01", "2026-01-01", "", "2026-01-01", ""],
        ],
    )
    deliver(
        landing,
        "customers",
        "2026-11-20.csv",
        CUSTOMER_HEADER,
        [
            [
                "C1",
                "anna@example.com",
                "f",
                "1980-05-01",
                "2026-01-01",
                "",
                "2026-11-20 08:00",
                "2026-11-20 08:00",
            ],
        ],
    )
    ingest(project, "customers")
    rows = query(
        project,
        "select customer_id, email, birth_date from raw.customers order by customer_id, updated_at",
    )
    assert rows == [
        ("C1", None, None),
        ("C1", None, None),
        ("C2", "bob@example.com", dt.date(1970, 1, 1)),
    ]


@pytest.mark.parametrize(
    "content,reason",
    [
        (b"", "empty file"),
        (b"\x1f\x8b\x08\x00broken", "broken gzip"),
    ],
)
def test_unreadable_files_are_rejected(project, content, reason):
    folder = project.landing_dir / "events"
    folder.mkdir()
    name = "2026-11-20.csv.gz" if content else "2026-11-20.csv"
    (folder / name).write_bytes(content)
    report = ingest(project, "events")
    assert reason in report.rejected[0].reason


def test_header_only_file_is_valid_and_loads_nothing(project):
    deliver(
        project.landing_dir,
        "events",
        "2026-11-20.csv",
        ["event_id", "customer_id", "occurred_at", "event_type"],
        [],
    )
    report = ingest(project, "events")
    assert [(f.status, f.rows_loaded) for f in report.files] == [("loaded", 0)]
