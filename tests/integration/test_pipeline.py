"""The whole pipeline through Dagster (in-process) and dbt, on hand-made feeds, on both engines.

Worked out by hand (time zone Europe/Berlin), with D1 = 2026-02-28 and D2 = 2026-11-20:

| customer | story                                               | D1  | D2  |
|----------|-----------------------------------------------------|-----|-----|
| C1       | active, blocked from 2026-06-01, active again 09-01 | in  | in  |
| C2       | signed up 2026-11-15                                | out | in  |
| C3       | only version from 2026-05-01 (older D: oldest used) | in  | in  |
| C4       | status "Fraud " from 2026-10-01                     | in  | out |
| C5       | erased 2026-11-01                                   | out | out |
| C6       | born 2000-02-29                                     | in  | in  |
| C7       | two versions on 2026-03-10: m at 08:00, f at 18:00  | in  | in  |
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from orchestration.runner import run_build
from segflow.errors import RunFailed
from segflow.warehouse import open_warehouse
from tests.feedfiles import CUSTOMER_HEADER, TRANSACTION_HEADER, deliver

D1, D2 = dt.date(2026, 2, 28), dt.date(2026, 11, 20)


def _customers(landing):
    c = lambda cid, gender, birth, signup, status, updated, erased="": [  # noqa: E731
        cid,
        f"{cid.lower()}@example.com",
        gender,
        birth,
        signup,
        status,
        updated,
        erased,
    ]
    deliver(
        landing,
        "customers",
        "2026-01-01_full.csv",
        CUSTOMER_HEADER,
        [
            c("C1", "F ", "1985-06-15", "2025-12-01", "", "2026-01-01 10:00"),
            c("C4", "m", "1970-01-01", "2025-06-01", "active", "2026-01-01 10:00"),
            c("C5", "x", "1990-01-01", "2025-06-01", "", "2026-01-01 10:00"),
            c("C6", "female", "2000-02-29", "2025-01-01", "", "2026-01-01 10:00"),
            c("C7", "m", "", "2026-01-01", "", "2026-03-10 08:00"),
        ],
    )
    deliver(
        landing,
        "customers",
        "2026-11-15.csv",
        CUSTOMER_HEADER,
        [
            c("C1", "f", "1985-06-15", "2025-12-01", "blocked", "2026-06-01 09:00"),
            c("C1", "f", "1985-06-15", "2025-12-01", "", "2026-09-01 09:00"),
            c("C2", "", "", "2026-11-15", "", "2026-11-15 12:00"),
            c("C3", "m", "", "2026-01-01", "", "2026-05-01 12:00"),
            c("C4", "m", "1970-01-01", "2025-06-01", "Fraud ", "2026-10-01 10:00"),
            c("C5", "x", "1990-01-01", "2025-06-01", "", "2026-11-01 10:00", "2026-11-01 10:00"),
            c("C7", "f", "", "2026-01-01", "", "2026-03-10 18:00"),
        ],
    )


def _sales(landing):
    line = lambda tx, ln, cid, at, pid, amount: [tx, ln, cid, at, pid, "1", amount, ""]  # noqa: E731
    deliver(
        landing,
        "transactions",
        "2026-11-19.csv",
        TRANSACTION_HEADER,
        [
            line("T1", "1", "C1", "2026-11-10 12:00", "P1", "10.00"),
            line("T2", "1", "C1", "2026-11-10 12:00", "P1", "5.00"),
            line("T2", "1", "C1", "2026-11-10 12:00", "P1", "6.00"),  # later row in the file wins
            line("T3", "1", "C1", "2026-11-19T23:30:00Z", "P9", "7.00"),  # local date 11-20
            line("T4", "1", "", "2026-11-10 12:00", "P1", "1.00"),  # anonymous
            line("T5", "1", "C99", "2026-11-10 12:00", "P1", "1.00"),  # not in the customers feed
            line("T6", "1", "C5", "2026-11-10 12:00", "P1", "1.00"),  # erased
        ],
    )
    deliver(
        landing,
        "transactions",
        "2026-11-20.csv",
        TRANSACTION_HEADER,
        [
            line("T1", "1", "C1", "2026-11-10 12:00", "P1", "12.00"),  # newer delivery wins
        ],
    )
    header = ["product_id", "brand", "category"]
    deliver(landing, "products", "2026-01-01.csv", header, [["P1", "Old brand", "Shoes"]])
    deliver(landing, "products", "2026-06-01.parquet", header, [["P1", "Nordlicht", "Shoes"]])


def _population(settings):
    with open_warehouse(settings) as wh:
        return {
            r[0]: r[1:]
            for r in wh.query(
                "select customer_id, as_of, gender, status, age, days_until_birthday "
                f"from {wh.output_schema}.dim_population"
            )
        }


def _snapshot(settings) -> dict[str, list[tuple]]:
    """Every row of every table and view segflow writes, sorted."""
    with open_warehouse(settings) as wh:
        tables = wh.query(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (?, 'raw', 'staging', 'intermediate') "
            # Bookkeeping of the runs: a row per run, and the slot alternates.
            "and table_name not in ('segflow_builds', 'segflow_published_relations', "
            "'segflow_run_log', 'segflow_check_log')",
            (wh.output_schema,),
        )
        return {
            f"{s}.{t}": sorted(wh.query(f'select * from {s}."{t}"'), key=repr) for s, t in tables
        }


def test_population_as_of_two_dates_and_rebuilding_a_day_changes_nothing(project):
    _customers(project.landing_dir)
    _sales(project.landing_dir)

    outcome = run_build(project, as_of=D1)
    assert {
        "raw/customers",
        "raw/transactions",
        "staging/stg_customers",
        "intermediate/int_customer_versions",
        "dim_population",
    } <= set(outcome.materialized)
    # Only a warning, which publishes anyway: T3's product is not in the article master.
    assert outcome.failed_checks == ["gx_transactions"]
    at_d1 = _population(project)
    assert set(at_d1) == {"C1", "C3", "C4", "C6", "C7"}
    assert at_d1["C7"][1] == "m"  # before both same-day versions: the oldest version
    assert at_d1["C1"][1:3] == ("f", "active")  # "F " normalised
    assert at_d1["C6"][1] is None  # "female" is no known gender
    assert at_d1["C6"][3:] == (26, 0)  # 29 Feb birthday falls on 28 Feb in 2026

    run_build(project, as_of=D2)
    at_d2 = _population(project)
    assert set(at_d2) == {"C1", "C2", "C3", "C6", "C7"}
    assert {v[0] for v in at_d2.values()} == {D2}
    assert at_d2["C7"][1] == "f"  # the later of the two same-day versions
    assert at_d2["C6"][3:] == (26, 100)  # next birthday 2027-02-28
    assert at_d2["C1"][3] == 41

    with open_warehouse(project) as wh:
        lines = dict(
            ((r[0]), r[1:])
            for r in wh.query(
                "select transaction_id, amount, occurred_on, brand, is_unknown_product "
                "from intermediate.int_sales_lines"
            )
        )
    assert lines == {
        "T1": (Decimal("12.0000"), dt.date(2026, 11, 10), "Nordlicht", False),
        "T2": (Decimal("6.0000"), dt.date(2026, 11, 10), "Nordlicht", False),
        "T3": (Decimal("7.0000"), dt.date(2026, 11, 20), None, True),
    }

    before = _snapshot(project)
    assert "staging.stg_customers" in before and "raw.file_log" in before
    run_build(project, as_of=D2)
    assert _snapshot(project) == before


def test_a_rejected_file_fails_the_run_before_any_model_is_rebuilt(project):
    _customers(project.landing_dir)
    _sales(project.landing_dir)
    run_build(project, as_of=D1)
    deliver(
        project.landing_dir,
        "transactions",
        "2026-11-21.csv",
        TRANSACTION_HEADER,
        [["T9", "1", "C1", "2026-11-21 10:00", "P1", "one", "1.00", ""]],
    )
    with pytest.raises(RunFailed, match=r"transactions/2026-11-21.csv: 1 of 1 rows are bad"):
        run_build(project, as_of=D2)
    assert {v[0] for v in _population(project).values()} == {D1}  # still yesterday's tables
