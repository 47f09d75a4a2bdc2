"""The per-day aggregates a build keeps (int_daily_sales, int_daily_events in segflow_daily):
a night re-does only the days its deliveries touched, and what it keeps is always what a
whole rebuild would hold, through new days, re-deliveries, lines that move between files,
changed products, erasures and transactions on two days. A new line filter rebuilds whole.

Each build is checked three ways: the kept tables against the same SQL over every line, the
published members against an evaluation over the lines (no aggregates), and, through a
sentinel row on a day no delivery touches, that the build re-did days rather than
rebuilding (or, after a new filter, that it rebuilt)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orchestration.runner import run_build
from segflow.errors import RunFailed
from segflow.evaluation.relations import kept_daily, with_clause
from segflow.publication.publish import published_slot
from segflow.segments.compile import all_features
from segflow.segments.daily import DAILY_SCHEMA, daily_models
from segflow.segments.project import load_project
from segflow.segments.sql import direct_context
from segflow.warehouse import open_warehouse
from tests.conftest import ENGINES, configure_project, postgres_database, write_segments
from tests.feedfiles import deliver
from tests.segments.fixture_data import CUSTOMERS, EVENTS, TRANSACTIONS, D, write_feeds

SEGMENTS = {
    "buyers": "title: Buyers\nrules: {metric: orders, gte: 2}\n",
    "nordlicht": (
        "title: Nordlicht\nrules: {metric: revenue, where: {brand: Nordlicht}, "
        "window: {last: 30d}, gt: 50}\n"
    ),
    "big_orders": "title: Big\nrules: {metric: avg_order_value, gt: 40}\n",
    "active": (
        "title: Active\nrules: {metric: events, event: [app_open], window: {last: 14d}, gte: 1}\n"
    ),
    "points": "title: Points\nrules: {metric: points, gt: 1000}\n",
}
SENTINEL = "zz_sentinel"
TABLES = ("int_daily_sales", "int_daily_events")
# The versioned lines and events (segflow_daily), and the same rows of every customer read whole.
KEPT_ROWS = {"int_sales_lines": "int_sales_lines_retained", "int_events": "int_events_retained"}


@pytest.fixture(params=ENGINES)
def settings(request, tmp_path, monkeypatch):
    if request.param == "postgres":
        # A database whose name holds a slot's name: the slot is no part of the lines'
        # definition, wherever else its name appears.
        with postgres_database(prefix="segflow_b_") as database:
            yield configure_project(monkeypatch, tmp_path, "postgres", database)
    else:
        yield configure_project(monkeypatch, tmp_path, "duckdb")


def _rows(wh, sql: str) -> list[tuple]:
    def plain(value):
        return value.normalize() if isinstance(value, Decimal) else value

    return sorted(
        (tuple(plain(v) for v in row) for row in wh.query(sql)),
        key=lambda r: tuple("" if v is None else str(v) for v in r),
    )


def _check(settings, rebuilt: tuple[str, ...], lines: str = "carried forward") -> None:
    """`rebuilt`: the tables this build must have built whole, the others re-did days;
    `lines`: how the build made int_sales_lines, which must equal a whole build's."""
    project = load_project(settings.segments_dir)
    features = all_features(project)
    ctx = direct_context(
        D,
        {
            "int_sales_lines_retained": "staging.int_sales_lines_retained",
            "int_events_retained": "staging.int_events_retained",
        },
    )
    with open_warehouse(settings) as wh:
        for table in TABLES:
            sentinel = wh.scalar(
                f"select count(*) from {DAILY_SCHEMA}.{table} where customer_id = ?", (SENTINEL,)
            )
            assert sentinel == (0 if table in rebuilt else 1), table
            built_rows = wh.scalar(f"select count(*) from {DAILY_SCHEMA}.{table}")
            wh.execute(f"delete from {DAILY_SCHEMA}.{table} where customer_id = ?", (SENTINEL,))
            _check_customer_order(wh, table, built_rows)
        for model in daily_models(features, ctx, rows="true"):
            kept = _rows(wh, f"select * from {DAILY_SCHEMA}.{model.name}")
            whole = _rows(wh, model.select)
            assert kept == whole, model.name
        slot = published_slot(wh)
        for model in KEPT_ROWS:
            kept_rows = wh.scalar(
                f"select kept from {DAILY_SCHEMA}.{model}__readers where reader = ?", (slot,)
            )
            assert wh.scalar(f"select built from {DAILY_SCHEMA}.{kept_rows}__state") == lines
            _check_versions_read(wh, model)
        for model, retained in KEPT_ROWS.items():
            carried = _rows(wh, f"select * from intermediate.{model}")
            whole = _rows(
                wh,
                f"select * from staging.{retained} where customer_id in "
                "(select customer_id from intermediate.int_customers_known)",
            )
            assert carried == whole, model
        kept = kept_daily(wh, project)
        assert kept is not None  # what preview, members --as-of and explain read
        for name in SEGMENTS:
            _, _, ctes = with_clause(project, [name], D, dialect=wh.dialect)
            from_lines = {r[0] for r in wh.query(f"{ctes}\nselect customer_id from seg__{name}")}
            built = {
                r[0] for r in wh.query(f"select customer_id from {wh.output_schema}.seg_{name}")
            }
            assert built == from_lines, name
            _, _, ctes = with_clause(project, [name], D, dialect=wh.dialect, kept=kept)
            from_kept = {r[0] for r in wh.query(f"{ctes}\nselect customer_id from seg__{name}")}
            assert from_kept == from_lines, name
        # A row on a day no delivery touches: a build that re-does days keeps it.
        for table in TABLES:
            wh.execute(
                f"insert into {DAILY_SCHEMA}.{table} (customer_id, occurred_on) "
                "values (?, cast('1999-01-01' as date))",
                (SENTINEL,),
            )


def _check_customer_order(wh, table: str, built_rows: int) -> None:
    """The kept table is in customer order where its state says no row came after the last
    ordering (a whole build, or a night that wrote it in order again): its rows by their
    place on disk (DuckDB's rowid, PostgreSQL's ctid) never go back to an earlier customer.
    `built_rows`: the rows as the build left them."""
    unordered = wh.scalar(f"select unordered from {DAILY_SCHEMA}.{table}__state")
    # past a tenth, the build orders the table again
    assert 0 <= unordered * 10 <= built_rows, table
    if unordered:
        return
    place = "ctid" if wh.dialect == "postgres" else "rowid"
    back = wh.scalar(
        f"select count(*) from (select customer_id, lag(customer_id) over (order by {place}) "
        f"as before from {DAILY_SCHEMA}.{table}) as placed where before > customer_id"
    )
    assert back == 0, table


def _check_versions_read(wh, model: str) -> None:
    """Only what a slot's view reads is kept: no kept table of the model without a reader, and
    no version of a row that no reader's build sees."""
    readers = wh.query(f"select reader, kept, build from {DAILY_SCHEMA}.{model}__readers")
    assert {reader for reader, _, _ in readers} <= {"segflow_a", "segflow_b"}
    for reader, _, _ in readers:
        assert wh.relation_kind(reader, model) == "VIEW"
    prefix = f"{model}__v"
    tables = {
        name
        for (name,) in wh.query(
            "select table_name from information_schema.tables where table_schema = ?",
            (DAILY_SCHEMA,),
        )
        if name.startswith(prefix) and "__" not in name[len(prefix) :]
    }
    assert tables == {kept for _, kept, _ in readers}
    for table in tables:
        builds = [build for _, kept, build in readers if kept == table]
        seen = " or ".join(
            f"(_from_build <= {b} and (_to_build is null or _to_build > {b}))" for b in builds
        )
        unseen = wh.scalar(f"select count(*) from {DAILY_SCHEMA}.{table} where not ({seen})")
        assert unseen == 0, table


def _members(settings, name: str) -> set[str]:
    with open_warehouse(settings) as wh:
        return {r[0] for r in wh.query(f"select customer_id from {wh.output_schema}.seg_{name}")}


def _lines(settings, name: str, rows: list[list[str]]) -> None:
    """Sales lines: transaction, line, customer, local time, product, quantity, amount."""
    header = TRANSACTIONS[0]
    deliver(settings.landing_dir, "transactions", name, header, [[*r, ""] for r in rows])


def _erased_rows(settings) -> dict[str, int]:
    """The per-day aggregates' rows of G, the customer a night erases."""
    with open_warehouse(settings) as wh:
        return {
            table: wh.scalar(f"select count(*) from {DAILY_SCHEMA}.{table} where customer_id = 'G'")
            for table in TABLES
        }


def test_a_night_redoes_the_days_it_touched_and_equals_a_whole_rebuild(settings, monkeypatch):
    write_feeds(settings.landing_dir)
    write_segments(settings, SEGMENTS)
    run_build(settings, as_of=D)
    _check(settings, rebuilt=TABLES, lines="built whole")
    assert _members(settings, "buyers") == {"A", "B"}
    assert _members(settings, "nordlicht") == {"A"}
    assert _members(settings, "active") == {"A"}
    assert _erased_rows(settings) == {"int_daily_sales": 2, "int_daily_events": 1}

    # A new day; a re-delivery of the first file that drops T5 and moves T4 by two days; a
    # later file that overrides T1's line to another day and adds a second day to T3; P2
    # becomes Nordlicht; C's lines arrive before C's first order ever; G is erased.
    _lines(
        settings,
        "2026-04-03.csv",
        [
            ["T20", "1", "C", "2026-03-30 12:00", "P1", "1", "80"],
            ["T21", "1", "N", "2026-03-30 13:00", "P1", "1", "20"],  # N: not a customer yet
        ],
    )
    base = [r[:] for r in TRANSACTIONS[1] if r[0] != "T5"]
    for row in base:
        if row[0] == "T4":
            row[3] = "2026-03-20 12:00"
    deliver(settings.landing_dir, "transactions", "2026-04-01.csv", TRANSACTIONS[0], base)
    _lines(
        settings,
        "2026-04-04.csv",
        [
            ["T1", "1", "A", "2026-03-29 12:00", "P1", "1", "100.00"],
            ["T3", "2", "A", "2026-01-01 00:30", "P2", "1", "10.00"],
        ],
    )
    deliver(
        settings.landing_dir,
        "products",
        "2026-04-04.csv",
        ["product_id", "brand"],
        [["P2", "Nordlicht"]],
    )
    # Events: E1 moves out of the 14 days, B opens the app, N (not a customer yet) too.
    deliver(
        settings.landing_dir,
        "events",
        "2026-04-04.csv",
        EVENTS[0],
        [
            ["E1", "A", "2026-03-10 10:00", "app_open", "", ""],
            ["E8", "B", "2026-03-29 10:00", "app_open", "", ""],
            ["E9", "N", "2026-03-29 11:00", "app_open", "", ""],
        ],
    )
    header, rows = CUSTOMERS
    erased = [r[:] for r in rows if r[0] == "G"]
    erased[0][header.index("updated_at")] = "2026-04-04 10:00"
    erased[0][header.index("erased_at")] = "2026-04-04 10:00"
    deliver(settings.landing_dir, "customers", "2026-04-04.csv", header, erased)
    run_build(settings, as_of=D, accept=("transactions/2026-04-01.csv",))
    _check(settings, rebuilt=())
    with open_warehouse(settings) as wh:
        spans = wh.query(
            f"select distinct spans from {DAILY_SCHEMA}.int_daily_sales where transaction_id = 'T3'"
        )
        assert spans == [(True,)]
        for table in TABLES:  # the next night's "before"
            erased = wh.query(f"select customer_id from {DAILY_SCHEMA}.{table}__erased")
            assert sorted(erased) == [("E",), ("G",)]  # E since the fixture's first delivery
    # G's sales days are re-done (the re-delivered file held them), its event day of 04-02
    # is not: only the delete of the newly erased takes E7 away.
    assert _erased_rows(settings) == {"int_daily_sales": 0, "int_daily_events": 0}
    assert _members(settings, "buyers") == {"A"}  # B's T5 is gone
    assert _members(settings, "active") == {"B"}
    assert "C" in _members(settings, "nordlicht")  # C's line of 03-30, 80 of Nordlicht

    with open_warehouse(settings) as wh:
        unknown = wh.scalar(
            "select count(*) from intermediate.int_sales_lines where customer_id = 'N'"
        )
        assert unknown == 0

    # The override is taken back: T1 is on 03-31 again, T3 on one day again; N becomes a
    # customer (their line of 03-30, in a file no delivery touches, is read again).
    _lines(settings, "2026-04-04.csv", [["T30", "1", "A", "2026-03-31 09:00", "P2", "1", "5"]])
    known = [r[:] for r in rows if r[0] == "A"]
    known[0][0] = "N"
    deliver(settings.landing_dir, "customers", "2026-04-05.csv", header, known)
    run_build(settings, as_of=D, accept=("transactions/2026-04-04.csv",))
    _check(settings, rebuilt=())
    with open_warehouse(settings) as wh:
        now_known = wh.scalar(
            "select count(*) from intermediate.int_sales_lines where customer_id = 'N'"
        )
        assert now_known == 1
    assert _members(settings, "active") == {"B", "N"}
    with open_warehouse(settings) as wh:
        t1_days = wh.query(
            f"select occurred_on from {DAILY_SCHEMA}.int_daily_sales where transaction_id = 'T1'"
        )
        assert [str(d) for (d,) in t1_days] == ["2026-03-31"]
        spans = wh.query(
            f"select distinct spans from {DAILY_SCHEMA}.int_daily_sales where transaction_id = 'T3'"
        )
        assert spans == [(False,)]

    # A build stopped by a blocking check has brought the aggregates up to date with lines
    # nobody may read yet: direct queries read the published build's lines until a build is
    # published again.
    header = [*TRANSACTIONS[0], "currency"]
    late = [
        ["T40", "1", "A", "2026-03-30 09:00", "P1", "1", "900", "", "EUR"],
        ["T41", "1", "A", "2026-03-30 10:00", "P1", "1", "900", "", "USD"],
    ]
    deliver(settings.landing_dir, "transactions", "2026-04-05.csv", header, late)
    with open_warehouse(settings) as wh:
        published = {m: _rows(wh, f"select * from intermediate.{m}") for m in KEPT_ROWS}
    with pytest.raises(RunFailed, match="one currency per project"):
        run_build(settings, as_of=D)
    project = load_project(settings.segments_dir)
    with open_warehouse(settings) as wh:
        # The stopped build's version of the lines is kept beside the published one, which
        # readers still see as it was.
        for model in KEPT_ROWS:
            assert _rows(wh, f"select * from intermediate.{model}") == published[model]
        for model in KEPT_ROWS:
            _check_versions_read(wh, model)
            readers = wh.query(f"select reader from {DAILY_SCHEMA}.{model}__readers")
            assert len(readers) == 2
        assert kept_daily(wh, project) is None
        kept_rows = wh.scalar(
            f"select count(*) from {DAILY_SCHEMA}.int_daily_sales where transaction_id = 'T41'"
        )
        assert kept_rows == 1  # what the stopped build kept, and nobody reads
    late[1][-1] = "EUR"
    deliver(settings.landing_dir, "transactions", "2026-04-05.csv", header, late)
    with open_warehouse(settings) as wh:  # a part gone (by hand, or never kept): built whole
        wh.execute(f"drop table {DAILY_SCHEMA}.int_daily_events__erased")
    run_build(settings, as_of=D)
    _check(settings, rebuilt=("int_daily_events",))

    # A definition with a new line filter builds the aggregates whole, once (a changed
    # segment rather than a new one: a new model needs a new process, dbt's manifest is read
    # once per process).
    write_segments(
        settings,
        {
            "big_orders": "title: Big\nrules: {metric: orders, where: {campaign_code: SALE}, gte: 1}\n"
        },
    )
    with open_warehouse(settings) as wh:  # until built, direct queries read the lines
        assert kept_daily(wh, load_project(settings.segments_dir)) is None
    run_build(settings, as_of=D)
    _check(settings, rebuilt=("int_daily_sales",))  # the events' filters did not change
    assert _members(settings, "big_orders") == {"A"}

    # Another time zone gives the lines other local days, another definition: they are built
    # whole into a kept table of their own, and the published build's table stays until no
    # slot reads it.
    with open_warehouse(settings) as wh:
        before = wh.scalar(f"select kept from {DAILY_SCHEMA}.int_sales_lines__readers")
    monkeypatch.setenv("SEGFLOW_TIMEZONE", "America/New_York")
    settings = settings.model_copy(update={"timezone": "America/New_York"})
    run_build(settings, as_of=D)
    _check(settings, rebuilt=TABLES, lines="built whole")
    with open_warehouse(settings) as wh:
        read = {
            kept
            for (kept,) in wh.query(f"select kept from {DAILY_SCHEMA}.int_sales_lines__readers")
        }
        assert before in read and len(read) == 2
    run_build(settings, as_of=D)
    _check(settings, rebuilt=())
    with open_warehouse(settings) as wh:
        read = {
            kept
            for (kept,) in wh.query(f"select kept from {DAILY_SCHEMA}.int_sales_lines__readers")
        }
        assert before not in read and len(read) == 1
