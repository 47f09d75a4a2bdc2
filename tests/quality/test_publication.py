"""Quality checks and atomic publication, through real Dagster runs on DuckDB and PostgreSQL.

A build is published only when its blocking Great Expectations checks pass; a run failing at
any step (dbt, a check, the publishing transaction) leaves every published table, view and
history row exactly as it was.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, timedelta

import dagster as dg
import pytest

from orchestration.jobs import BUILD_JOB, build_run_config
from orchestration.runner import job_for, run_build
from segflow.dbt import slot_target
from segflow.errors import RunFailed, UserInputError
from segflow.evaluation.queries import preview
from segflow.history.record import record_history
from segflow.publication.publish import (
    BUILDS,
    PUBLISHED,
    SLOTS,
    published_build,
    published_slot,
)
from segflow.quality import validate
from segflow.segments.project import load_project
from segflow.settings import load_settings
from segflow.warehouse import Warehouse, open_warehouse
from tests.conftest import (
    ENGINES,
    compile_segments,
    configure_project,
    project_per_engine,
    write_segments,
)
from tests.feedfiles import TRANSACTION_HEADER, deliver, ingest

D1, D2 = date(2026, 3, 10), date(2026, 3, 11)
SALE_HEADER = [*TRANSACTION_HEADER[:-1], "currency"]  # sales lines with their currency
SEGMENTS = {
    "buyers": "title: Bought once\nhot: true\nrules:\n  metric: orders\n  gte: 1\n",
    "everyone": "title: Everyone\nrules:\n  profile: customer_id\n  is: present\n",
}


@pytest.fixture(scope="module", params=ENGINES)
def published(request, tmp_path_factory):
    """A project built and published as of D1."""
    yield from project_per_engine(request, tmp_path_factory, "publication", _project)


def _project(mp, root, engine, database):
    configure_project(mp, root, engine, database)
    mp.setenv("SEGFLOW_HOT_BACKFILL_DAYS", "3")
    settings = load_settings()
    landing = settings.landing_dir
    deliver(
        landing,
        "customers",
        "2026-03-01.csv",
        ["customer_id", "email", "signup_date", "updated_at"],
        [[f"K{i}", f"k{i}@x.com", "2026-01-01", "2026-01-01 10:00"] for i in range(1, 5)],
    )
    deliver(landing, "products", "2026-01-01.csv", ["product_id"], [["P1"]])
    deliver(
        landing,
        "transactions",
        "2026-03-09.csv",
        SALE_HEADER,
        [["T1", "1", "K1", "2026-03-05 12:00", "P1", "1", "10.00", "EUR"]],
    )
    write_segments(settings, SEGMENTS)
    run_build(settings, as_of=D1)
    return settings


def _deliver_sale(settings, file_name: str, line: list[str]):
    return deliver(settings.landing_dir, "transactions", file_name, SALE_HEADER, [line])


def _published_state(settings) -> dict[str, list[tuple]]:
    """Every row readers can see: the published views, the history, the publication.
    (Not `staging`: its views read `raw` directly, where accepted deliveries load at once.)"""
    with open_warehouse(settings) as wh:
        relations = wh.query(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (?, 'intermediate') and table_name <> ?",
            (wh.output_schema, BUILDS),
        )
        state = {
            f"{s}.{t}": sorted(wh.query(f'select * from {s}."{t}"'), key=repr) for s, t in relations
        }
        state["published"] = wh.query(
            f"select slot, as_of, published_at from {wh.output_schema}.{BUILDS} "
            "where published_at is not null order by published_at"
        )
    return state


def test_a_build_is_published_as_views_on_its_slot(published):
    with open_warehouse(published) as wh:
        slot = published_slot(wh)
        assert slot in SLOTS
        kinds = dict(
            wh.query(
                "select table_schema || '.' || table_name, table_type "
                "from information_schema.tables where table_name in "
                "('stg_transactions', 'int_sales_lines', 'seg_buyers', 'segment_stats')"
            )
        )
        members = wh.query(f"select customer_id from {wh.output_schema}.seg_buyers")
        stats = wh.query(f"select segment, members from {wh.output_schema}.segment_stats")
    out = "main" if published.target == "duckdb" else "public"
    assert {k: v for k, v in kinds.items() if not k.startswith("segflow_")} == {
        "staging.stg_transactions": "VIEW",
        "intermediate.int_sales_lines": "VIEW",
        f"{out}.seg_buyers": "VIEW",
        f"{out}.segment_stats": "VIEW",
    }
    assert members == [("K1",)]
    assert sorted(stats) == [("buyers", 1), ("everyone", 4)]


def test_a_failing_blocking_check_stops_publication_until_the_file_is_fixed(published):
    before = _published_state(published)
    bad = _deliver_sale(
        published,
        "2026-03-10.csv",
        ["T2", "1", "K2", "2026-03-10 12:00", "P1", "1", "12.00", "USD"],
    )
    with pytest.raises(RunFailed) as failed:
        run_build(published, as_of=D2)
    message = str(failed.value)
    assert "gx_transactions" in message and "one currency per project" in message
    # The history step (which publishes) did not run: nothing readers see has changed.
    assert _published_state(published) == before
    with pytest.raises(RunFailed, match="one currency per project"):
        run_build(published, as_of=D2)  # and keeps failing

    _deliver_sale(
        published, bad.name, ["T2", "1", "K2", "2026-03-10 12:00", "P1", "1", "12.00", "EUR"]
    )
    outcome = run_build(published, as_of=D2)
    assert "segment_membership_history" in outcome.materialized
    with open_warehouse(published) as wh:
        members = wh.query(f"select customer_id from {wh.output_schema}.seg_buyers order by 1")
    assert members == [("K1",), ("K2",)]


def test_a_dbt_failure_mid_run_leaves_everything_published_as_it_was(published, monkeypatch):
    from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

    before = _published_state(published)
    real_stream = DbtCliInvocation.stream

    def stream_then_fail(self, *args, **kwargs):
        yield from real_stream(self, *args, **kwargs)  # every model is built into the slot
        raise RuntimeError("dbt died after building its models")

    monkeypatch.setattr(DbtCliInvocation, "stream", stream_then_fail)
    _deliver_sale(
        published, "2026-03-12.csv", ["T3", "1", "K3", "2026-03-11 12:00", "P1", "1", "8.00", "EUR"]
    )
    with pytest.raises(RunFailed, match="dbt died after building its models"):
        run_build(published, as_of=D2)
    assert _published_state(published) == before


def test_a_failure_inside_the_publishing_transaction_rolls_all_of_it_back(published, monkeypatch):
    before = _published_state(published)

    def fail(*_args, **_kwargs):
        raise RuntimeError("the warehouse went away while publishing")

    # Called after the history is written and every view switched to the new slot.
    monkeypatch.setattr(
        "orchestration.assets.history.remove_erased_from_history", fail, raising=True
    )
    _deliver_sale(
        published, "2026-03-13.csv", ["T4", "1", "K4", "2026-03-11 13:00", "P1", "1", "9.00", "EUR"]
    )
    with pytest.raises(RunFailed, match="the warehouse went away while publishing"):
        run_build(published, as_of=D2)
    assert _published_state(published) == before
    monkeypatch.undo()
    run_build(published, as_of=D2)  # the same build publishes once the fault is gone
    with open_warehouse(published) as wh:
        members = wh.query(f"select customer_id from {wh.output_schema}.seg_buyers order by 1")
    assert ("K4",) in members


# -- the suites themselves, on a copy of the published build with injected faults ----------


def _copy_build(wh: Warehouse, schema: str) -> None:
    slot = published_slot(wh)
    wh.execute(f"drop schema if exists {schema} cascade")
    wh.execute(f"create schema {schema}")
    for (name,) in wh.query(
        "select table_name from information_schema.tables where table_schema = ?", (slot,)
    ):
        wh.execute(f"create table {schema}.{name} as select * from {slot}.{name}")


def test_membership_suite_finds_duplicates_outsiders_and_erased_members(published):
    with open_warehouse(published) as wh:
        _copy_build(wh, "qa_membership")
        assert validate(wh, published, "segment_membership", "qa_membership").passed
        buyers = {
            r[0]
            for r in wh.query(
                "select customer_id from qa_membership.segment_membership where segment = 'buyers'"
            )
        }
        wh.execute(
            "insert into qa_membership.segment_membership (segment, tier, customer_id, as_of) "
            "select segment, tier, customer_id, as_of from qa_membership.segment_membership "
            "where segment = 'buyers'"
        )
        wh.execute(
            "insert into qa_membership.segment_membership (segment, tier, customer_id, as_of) "
            f"values ('buyers', null, 'NOBODY', '{D1}')"
        )
        wh.execute(
            "update qa_membership.int_customer_versions set is_erased = true "
            "where customer_id = 'K3'"
        )
        outcome = validate(wh, published, "segment_membership", "qa_membership")
    failed = {e.description: e for e in outcome.failed}
    assert not outcome.passed
    assert set(failed) == {
        "membership keys unique: a customer is in a segment once",
        "members within the population",
        "no erased customer in any segment",
    }
    duplicate = failed["membership keys unique: a customer is in a segment once"]
    assert duplicate.critical and duplicate.unexpected == 2 * len(buyers)  # both copies
    assert {s["customer_id"] for s in duplicate.samples} <= buyers and "K1" in buyers
    outsider = failed["members within the population"]
    assert [s["customer_id"] for s in outsider.samples] == ["NOBODY"]
    assert outsider.samples[0]["in_population"] is False
    erased = failed["no erased customer in any segment"]
    assert {s["customer_id"] for s in erased.samples} == {"K3"}  # in `everyone` (and more)


def test_a_builds_membership_suite_reads_the_rows_that_differ_from_the_published_builds(
    published,
):
    record = "select run_id from segflow_quality.validated_deliveries where suite = ?"
    failed = lambda outcome: {e.description for e in outcome.failed}  # noqa: E731
    with open_warehouse(published) as wh:
        published_run = published_build(wh).run_id
        assert (published_run,) in wh.query(record, ("segment_membership",))
        _copy_build(wh, "qa_changes")  # a new build with the published build's rows
        members = wh.scalar("select count(*) from qa_changes.segment_membership")
        same = validate(wh, published, "segment_membership", "qa_changes", "qa-m-1")
        assert same.passed and same.rows == 0 < members
        assert same.scope.startswith(
            f"the rows that differ from those the check of run {published_run}"
        )
        assert validate(wh, published, "segment_membership", "qa_changes").rows == members

        # A newcomer outside the population: its row alone is read, and the check fails
        # without recording.
        wh.execute(
            "insert into qa_changes.segment_membership (segment, tier, customer_id, as_of) "
            f"values ('buyers', null, 'NOBODY', '{D1}')"
        )
        outsider = validate(wh, published, "segment_membership", "qa_changes", "qa-m-2")
        assert outsider.rows == 1 and failed(outsider) == {"members within the population"}
        assert ("qa-m-2",) not in wh.query(record, ("segment_membership",))
        wh.execute("delete from qa_changes.segment_membership where customer_id = 'NOBODY'")

        # A member erased since: the rows of every segment it is in changed, and are read.
        erase = (
            "update qa_changes.int_customer_versions set is_erased = {} where customer_id = 'K3'"
        )
        wh.execute(erase.format("true"))
        (k3_rows,) = wh.query(
            "select count(*) from qa_changes.segment_membership where customer_id = 'K3'"
        )[0]
        erased = validate(wh, published, "segment_membership", "qa_changes", "qa-m-3")
        assert erased.rows == k3_rows > 0
        assert failed(erased) == {"no erased customer in any segment"}
        wh.execute(erase.format("false"))

        # A passing check records; the published build's record stays while it is published.
        assert validate(wh, published, "segment_membership", "qa_changes", "qa-m-4").passed
        assert sorted(wh.query(record, ("segment_membership",))) == sorted(
            [(published_run,), ("qa-m-4",)]
        )  # and no other build's

        # A member repeated on a row equal to a validated one: the rows that differ would not
        # show it, so every row is read.
        wh.execute(
            "insert into qa_changes.segment_membership (segment, tier, customer_id, as_of) "
            "select segment, tier, customer_id, as_of from qa_changes.segment_membership "
            "where segment = 'buyers' and customer_id = 'K1'"
        )
        repeated = validate(wh, published, "segment_membership", "qa_changes", "qa-m-5")
        assert repeated.scope == "every row (a key repeats)" and repeated.rows == members + 1
        assert failed(repeated) == {"membership keys unique: a customer is in a segment once"}

        # The published slot built again after its check passed (a re-execution of its dbt
        # step): the record does not cover that build, so every row is read.
        builds = f"{wh.output_schema}.{BUILDS}"
        built_at = wh.scalar(f"select built_at from {builds} where run_id = ?", (published_run,))
        moved = "update " + builds + " set built_at = ? where run_id = ?"
        wh.execute(moved, (dt.datetime.now(dt.UTC).replace(tzinfo=None), published_run))
        wh.execute("delete from qa_changes.segment_membership where segment = 'buyers'")
        members = wh.scalar("select count(*) from qa_changes.segment_membership")
        rebuilt = validate(wh, published, "segment_membership", "qa_changes", "qa-m-6")
        assert rebuilt.scope == "every row" and rebuilt.rows == members
        wh.execute(moved, (built_at, published_run))  # (its record is gone: qa-m-6 passed)

        wh.execute("drop schema qa_changes cascade")


def test_stats_suite_checks_consistency_and_the_size_change_bound(published, monkeypatch):
    with open_warehouse(published) as wh:
        _copy_build(wh, "qa_stats")
        # Record the day before the build, so that its sizes are known.
        as_of = wh.scalar("select max(as_of) from qa_stats.segment_stats")
        day_before = as_of - timedelta(days=1)
        record_history(wh, load_project(published.segments_dir), day_before, day_before)
        assert validate(wh, published, "segment_stats", "qa_stats").passed
        wh.execute(
            "update qa_stats.segment_stats set members = members + 2 where segment = 'buyers'"
        )
        outcome = validate(wh, published, "segment_stats", "qa_stats")
    (failed,) = outcome.failed
    assert failed.description.startswith("stats consistent with memberships")
    (row,) = failed.samples
    assert row["segment"] == "buyers" and row["members"] == row["members_counted"] + 2
    assert row["members_before"] >= 1
    assert row["size_change"] is None  # a handful of members the day before: under the floor

    # With a floor of 1 member, two more members is a change of over 50 %: the default bound.
    monkeypatch.setenv("SEGFLOW_SIZE_CHANGE_MIN_MEMBERS", "1")
    settings = load_settings()
    with open_warehouse(settings) as wh:
        outcome = validate(wh, settings, "segment_stats", "qa_stats")
    changes = [e for e in outcome.failed if e.description.startswith("day-over-day")]
    assert changes and changes[0].critical
    (row,) = changes[0].samples
    before = row["members_before"]
    assert row["segment"] == "buyers"
    assert row["size_change"] == pytest.approx(abs(row["members"] - before) / before)
    assert row["size_change"] > 0.5
    monkeypatch.setenv("SEGFLOW_MAX_SIZE_CHANGE", "100")  # a wider bound lets it through
    settings = load_settings()
    with open_warehouse(settings) as wh:
        outcome = validate(wh, settings, "segment_stats", "qa_stats")
    assert [e.description for e in outcome.failed] == [failed.description]


def test_feed_suites_warn_on_unknown_articles_and_event_types_but_stop_on_dates(published):
    with open_warehouse(published) as wh:
        _copy_build(wh, "qa_feeds")
        wh.execute(
            "insert into qa_feeds.stg_transactions (transaction_id, line_id, customer_id, "
            "occurred_at, occurred_on, product_id, quantity, amount, currency, source_file) "
            "select 'X' || transaction_id, line_id, 'K2', occurred_at, occurred_on, 'P404', 1, 3, "
            "currency, 'transactions/x.csv' from qa_feeds.stg_transactions"
        )
        outcome = validate(wh, published, "transactions", "qa_feeds")
        assert outcome.passed  # an unknown article is a warning (docs/feeds.md)
        (warning,) = outcome.failed
        assert not warning.critical and warning.observed == 0.5
        assert warning.description.startswith("share of sales lines whose product_id")

        wh.execute("update qa_feeds.stg_transactions set occurred_on = '2099-01-01'")
        outcome = validate(wh, published, "transactions", "qa_feeds")
        assert not outcome.passed
        dates = [e for e in outcome.failed if e.critical]
        assert [e.description for e in dates] == [
            "sale dates in a sane range: not before 2000, not in the future"
        ]
        assert dates[0].unexpected == outcome.rows  # every line is now in 2099
        assert len(dates[0].samples) == min(outcome.rows, 5)
        assert {s["occurred_on"] for s in dates[0].samples} == {"2099-01-01"}

        wh.execute(
            "update qa_feeds.stg_customers set email = 'not-an-address' where customer_id = 'K2'"
        )
        outcome = validate(wh, published, "customers", "qa_feeds")
        assert outcome.passed and [e.samples[0]["email"] for e in outcome.failed] == [
            "not-an-address"
        ]


def test_a_builds_sales_suite_reads_the_deliveries_its_published_build_had_not_validated(
    published, monkeypatch
):
    deliver(
        published.landing_dir,
        "transactions",
        "2026-03-13.csv",
        SALE_HEADER,
        [[f"T13{i}", "1", "K2", "2026-03-10 12:00", "P1", "1", "5.00", "EUR"] for i in range(3)],
    )
    run_build(published, as_of=D2)  # the published build's check recorded what it validated
    with open_warehouse(published) as wh:
        staged = f"{published_slot(wh)}.stg_transactions"
        (lines,) = wh.query(f"select count(*) from {staged}")[0]
        (witness,) = wh.query(
            f"select count(*) from {staged} "
            f"where transaction_id = (select min(transaction_id) from {staged})"
        )[0]
        whole = validate(wh, published, "transactions")
        assert whole.rows == lines and whole.scope == "every row"  # outside a build: all

        # Nothing delivered since: only the witness of the one currency is read again.
        night = validate(wh, published, "transactions", run_id="qa-night-1")
        assert night.passed and night.scope.startswith("the rows of 0 delivery file(s) new")
        assert night.rows == witness < lines

    _deliver_sale(
        published, "2026-03-14.csv", ["T14", "1", "K1", "2026-03-11 09:00", "P404", "1", "4", "EUR"]
    )
    ingest(published, "transactions")
    with open_warehouse(published) as wh:
        night = validate(wh, published, "transactions", run_id="qa-night-2")
    assert night.scope.startswith("the rows of 1 delivery file(s) new")
    assert night.rows == 1 + witness  # T14 and the witness
    (share,) = [e for e in night.failed if e.expectation == "expect_column_mean_to_be_between"]
    assert share.observed == pytest.approx(1 / night.rows)  # the night's share, a warning

    # A re-delivered file (another checksum) is read again, every line of it; so is every
    # row when the suite's expectations changed since the published build's check.
    _deliver_sale(
        published, "2026-03-14.csv", ["T14", "1", "K1", "2026-03-11 09:00", "P1", "1", "4", "EUR"]
    )
    ingest(published, "transactions")
    with open_warehouse(published) as wh:
        night = validate(wh, published, "transactions", run_id="qa-night-3")
        assert night.rows == 1 + witness and not night.failed

    # A night in another currency fails against history, and a failed check records nothing.
    _deliver_sale(
        published, "2026-03-15.csv", ["T15", "1", "K1", "2026-03-11 09:00", "P1", "1", "4", "USD"]
    )
    ingest(published, "transactions")
    with open_warehouse(published) as wh:
        night = validate(wh, published, "transactions", run_id="qa-night-5")
        assert not night.passed and night.rows == 2 + witness  # T14, T15
        assert not wh.query(
            "select 1 from segflow_quality.validated_deliveries where run_id = 'qa-night-5'"
        )
    _deliver_sale(
        published, "2026-03-15.csv", ["T15", "1", "K1", "2026-03-11 09:00", "P1", "1", "4", "EUR"]
    )
    ingest(published, "transactions")

    # A delivery the published build validated, delivered again: a line it drops may bring
    # back an older delivery of the line, never checked, so every row is read.
    deliver(
        published.landing_dir,
        "transactions",
        "2026-03-13.csv",
        SALE_HEADER,
        [[f"T13{i}", "1", "K2", "2026-03-10 12:00", "P1", "1", "6.00", "EUR"] for i in range(3)],
    )
    ingest(published, "transactions")
    with open_warehouse(published) as wh:
        again = validate(wh, published, "transactions", run_id="qa-night-6")
        assert again.scope == "every row" and again.rows == lines + 2  # T14, T15
        night = validate(wh, published, "transactions", run_id="qa-night-7")
        assert night.scope == "every row"  # still not what the published build validated
        monkeypatch.setattr("segflow.quality.suite_digest", lambda *_: "another suite")
        changed = validate(wh, published, "transactions", run_id="qa-night-4")
        assert changed.scope == "every row" and changed.rows == lines + 2
        # A record is kept while a build may read it: this build's, and the published one's
        # while it matches the suite.
        runs = wh.query(
            "select run_id from segflow_quality.validated_deliveries where suite = 'transactions'"
        )
    assert runs == [("qa-night-4",)]


def test_a_builds_customers_suite_reads_the_customer_deliveries_new_since_the_published_build(
    published,
):
    header = ["customer_id", "email", "signup_date", "updated_at"]
    with open_warehouse(published) as wh:
        night = validate(wh, published, "customers", run_id="qa-c-1")
        assert night.passed and night.rows == 0
        assert night.scope.startswith("the rows of 0 delivery file(s) new")
        assert validate(wh, published, "customers").rows > 0  # outside a build: all

    # A new version of a customer with an impossible sign-up date: that row alone is read.
    deliver(
        published.landing_dir,
        "customers",
        "2026-03-16.csv",
        header,
        [["K2", "k2@x.com", "1980-01-01", "2026-03-16 10:00"]],
    )
    ingest(published, "customers")
    with open_warehouse(published) as wh:
        night = validate(wh, published, "customers", run_id="qa-c-2")
    assert night.scope.startswith("the rows of 1 delivery file(s) new") and night.rows == 1
    assert {e.description for e in night.failed} == {
        "signup dates in a sane range: not before 1990, not in the future"
    }
    deliver(
        published.landing_dir,
        "customers",
        "2026-03-16.csv",
        header,
        [["K2", "k2@x.com", "2026-01-01", "2026-03-16 10:00"]],
    )
    ingest(published, "customers")

    # An erasure in the night blanks the customer's older versions too: they are not read
    # again (blank values meet every expectation of the suite), only the night's row is.
    erasure = "2026-03-17.csv"
    erased_header = [*header, "erased_at"]
    deliver(
        published.landing_dir,
        "customers",
        erasure,
        erased_header,
        [["K4", "", "2026-01-01", "2026-03-17 10:00", "2026-03-17 10:00"]],
    )
    ingest(published, "customers")
    with open_warehouse(published) as wh:
        night = validate(wh, published, "customers", run_id="qa-c-3")
        assert night.passed and night.rows == 2  # K2's new version, K4's erasure
        assert (
            wh.scalar(
                "select count(*) from staging.stg_customers where customer_id = 'K4' and email is null"
            )
            == 2
        )  # both of K4's versions are blank
    deliver(  # not erased after all (a test's fixture, shared by the tests after it)
        published.landing_dir,
        "customers",
        erasure,
        erased_header,
        [["K4", "k4@x.com", "2026-01-01", "2026-03-17 10:00", ""]],
    )
    ingest(published, "customers")


# -- re-executions, selections, concurrent runs, clocks --------------------------------------

D3, D4 = date(2026, 3, 12), date(2026, 3, 13)


def _build_job():
    """The build job, reconstructable for Dagster's re-execution (module level on purpose)."""
    return job_for(load_settings(), BUILD_JOB)


def _members(settings, segment: str) -> int:
    with open_warehouse(settings) as wh:
        return wh.scalar(
            f"select members from {wh.output_schema}.segment_stats where segment = ?", (segment,)
        )


def test_re_executing_a_failed_run_publishes_the_build_it_made(published, monkeypatch):
    run_build(published, as_of=D3)  # the day before is recorded: its sizes are known
    assert _members(published, "everyone") == 4
    deliver(
        published.landing_dir,
        "customers",
        "2026-03-12.csv",
        ["customer_id", "email", "signup_date", "updated_at"],
        [[f"K{i}", f"k{i}@x.com", "2026-01-01", "2026-03-12 10:00"] for i in range(5, 9)],
    )
    monkeypatch.setenv("SEGFLOW_SIZE_CHANGE_MIN_MEMBERS", "1")
    with pytest.raises(RunFailed, match="gx_segment_stats.*day-over-day"):
        run_build(published, as_of=D4)  # `everyone` doubles: over the default bound of 50 %
    assert _members(published, "everyone") == 4

    # The campaign was real: widen the bound and re-execute the failed run from its failure.
    # Only the checks and the history step run again; they publish the original run's build.
    monkeypatch.setenv("SEGFLOW_MAX_SIZE_CHANGE", "1.5")
    with dg.DagsterInstance.get() as instance:
        (failed,) = instance.get_runs(limit=1)  # the newest run
        assert failed.status == dg.DagsterRunStatus.FAILURE
        options = dg.ReexecutionOptions.from_failure(failed.run_id, instance)
        result = dg.execute_job(  # with the run's config and partition, as the UI does
            dg.reconstructable(_build_job),
            instance=instance,
            run_config=failed.run_config,
            tags={"dagster/partition": failed.tags["dagster/partition"]},
            reexecution_options=options,
        )
        assert result.success
        steps = {e.step_key for e in result.all_events if e.is_step_success}
    assert "segflow_dbt_models" not in steps and "segment_history" in steps
    assert _members(published, "everyone") == 8
    with open_warehouse(published) as wh:
        assert wh.query(
            f"select run_id, as_of from {wh.output_schema}.{BUILDS} "
            "where published_at is not null order by published_at desc limit 1"
        ) == [(failed.run_id, D4)]


def test_materializing_a_selection_of_models_is_refused_with_the_reason(published):
    before = _published_state(published)
    job = _build_job()
    run_config = {
        "ops": build_run_config([], as_of=D4)["ops"],
        "loggers": {"progress": {}},
    }
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            asset_selection=[dg.AssetKey("segment_stats")],
            raise_on_error=False,
        )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.event_specific_data.error.message
    assert "a segflow build is published whole: materialize all" in message
    assert "not a selection of 1" in message
    assert _published_state(published) == before


def test_an_ingestion_asset_materialized_alone_runs_its_raw_source_checks_and_no_build(
    published,
):
    # The big feeds' required fields are dbt tests of the raw sources, checks of `raw/*`:
    # selecting the asset selects them, and they run without a build.
    before = _published_state(published)
    with dg.DagsterInstance.get() as instance:
        result = _build_job().execute_in_process(
            run_config={"ops": build_run_config([], as_of=D4)["ops"], "loggers": {"progress": {}}},
            instance=instance,
            asset_selection=[dg.AssetKey(["raw", "transactions"])],
        )
    assert result.success
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    }
    assert checks == {
        f"source_not_null_raw_transactions_{column}": True
        for column in ("transaction_id", "line_id", "occurred_at")
    }
    materialized = {e.asset_key for e in result.all_events if e.is_step_materialization}
    assert materialized == {dg.AssetKey(["raw", "transactions"])}
    assert _published_state(published) == before
    # in one folder of its own, not a new one per run
    target = published.dbt_project_dir / "target"
    assert (target / "raw_checks" / "run_results.json").is_file()
    assert not list(target.glob("segflow_dbt_models-*"))


def test_a_cli_run_waits_for_no_one_but_refuses_while_another_run_is_in_progress(published):
    before = _published_state(published)
    with dg.DagsterInstance.get() as instance:
        running = instance.add_run(
            dg.DagsterRun(job_name=BUILD_JOB, run_id="f" * 36, status=dg.DagsterRunStatus.STARTED)
        )
        try:
            with pytest.raises(UserInputError, match=f"run {running.run_id} of the `build` job"):
                run_build(published, as_of=D4)
        finally:
            instance.delete_run(running.run_id)
    assert _published_state(published) == before


def test_the_next_build_goes_to_the_slot_the_views_do_not_read_whatever_the_clocks_say(
    published,
):
    with open_warehouse(published) as wh:
        live = published_slot(wh)
        # Another host's clock ran ahead: the other slot looks published last.
        other = next(s for s in SLOTS if s != live)
        wh.execute(
            f"insert into {wh.output_schema}.{BUILDS} (slot, run_id, as_of, built_at, "
            "published_at) values (?, 'elsewhere', ?, ?, ?)",
            (other, D1, dt.datetime(2100, 1, 1), dt.datetime(2100, 1, 1)),
        )
    run_build(published, as_of=D4)
    with open_warehouse(published) as wh:
        # Built beside the live slot, then every view switched to it.
        assert wh.query(f"select distinct slot from {wh.output_schema}.{PUBLISHED}") == [(other,)]
        assert wh.scalar(f"select max(as_of) from {wh.output_schema}.segment_stats") == D4


def test_a_build_of_an_older_day_records_its_history_and_leaves_the_publication(published):
    """Readers always see the build with the newest as-of date (the lists mailed from it too):
    rebuilding a past day fills that day's history, and nothing published moves back."""
    newest = date(2026, 3, 14)
    run_build(published, as_of=newest)
    with open_warehouse(published) as wh:
        out = wh.output_schema
        wh.execute(f"delete from {out}.hot_segment_history where day = ?", (D1,))
        views = ("seg_buyers", "segment_stats", "segment_membership", "dim_population")
        before = {v: sorted(wh.query(f"select * from {out}.{v}"), key=repr) for v in views}
        slot = published_slot(wh)
    outcome = run_build(published, as_of=D1)
    with open_warehouse(published) as wh:
        after = {v: sorted(wh.query(f"select * from {out}.{v}"), key=repr) for v in views}
        assert after == before
        assert published_slot(wh) == slot
        assert wh.scalar(f"select max(as_of) from {out}.segment_stats") == newest
        # The day's history was recorded from the older build, as the day evaluates.
        project = load_project(published.segments_dir)
        assert (
            wh.scalar(
                f"select members from {out}.hot_segment_history where segment = 'buyers' and day = ?",
                (D1,),
            )
            == preview(wh, project, "buyers", D1).members
        )
        assert wh.query(
            f"select as_of, published_at is null from {out}.{BUILDS} where run_id = ?",
            (outcome.run_id,),
        ) == [(D1, True)]
    run_build(published, as_of=newest)  # the same newest day again publishes
    with open_warehouse(published) as wh:
        assert published_slot(wh) != slot
        assert wh.scalar(f"select max(as_of) from {out}.segment_stats") == newest


def test_a_slot_built_again_is_parsed_only_for_what_changed(published):
    """Each slot keeps its dbt target folder, and D reaches dbt outside its vars: a night's
    build does not re-parse the whole project (docs/stack.md), and still builds as of its
    own day. The first of three nights makes sure that both slots were built before."""
    for night, day in enumerate((date(2026, 3, 20), date(2026, 3, 21), date(2026, 3, 22))):
        run_build(published, as_of=day)
        with open_warehouse(published) as wh:
            slot = published_slot(wh)
            assert wh.scalar(f"select max(as_of) from {wh.output_schema}.segment_stats") == day
        if night == 0:
            continue
        logs = published.dbt_project_dir / slot_target(slot)
        # dbt rolls its log over at 10 MB: the last run may begin in the older file
        text = "".join(
            (logs / name).read_text() for name in ("dbt.log.1", "dbt.log") if (logs / name).exists()
        )
        last_run = text.rsplit("running dbt with arguments", 1)[1]
        assert "Partial parsing enabled" in last_run
        assert "full parse" not in last_run
        if night == 2:  # the slot of the first night, and nothing changed since
            assert "no changes found, skipping parsing" in last_run


def test_a_failing_hot_segment_backfill_leaves_the_nights_build_published(published, monkeypatch):
    """The automatic backfill of new hot segments runs after the publication, in a step of its
    own: however it ends, the night's build is published, and the next build fills the days
    still missing. (Last in the module: it publishes today, after every other test's days.)"""
    today = published.today()
    # A changed definition is a new hot segment (a new model would need a new process: the
    # dbt manifest is read once per process).
    changed = SEGMENTS["buyers"].replace("  gte: 1", "  window: {last: 3650d}\n  gte: 1")
    (published.segments_dir / "buyers.yml").write_text(changed)
    compile_segments(published)

    def out_of_memory(*_args, **_kwargs):
        raise RuntimeError("out of memory while backfilling")

    monkeypatch.setattr("orchestration.assets.history.backfill_hot_segments", out_of_memory)
    with pytest.raises(RunFailed, match="hot-segment backfill failed: .*out of memory") as failed:
        run_build(published, as_of=today)
    assert "the build is published" in str(failed.value)
    digest = load_project(published.segments_dir).definition_hash("buyers")
    with open_warehouse(published) as wh:
        out = wh.output_schema
        assert wh.scalar(f"select max(as_of) from {out}.segment_stats") == today
        assert (
            wh.scalar(f"select definition_hash from {out}.segment_catalog where segment = 'buyers'")
            == digest
        )
        recorded = (
            f"select day from {out}.segment_history_days "
            "where segment = 'buyers' and definition_hash = ? order by day"
        )
        assert wh.query(recorded, (digest,)) == [(today,)]  # the night's own day only

    monkeypatch.undo()
    run_build(published, as_of=today)  # the next build backfills SEGFLOW_HOT_BACKFILL_DAYS=3
    with open_warehouse(published) as wh:
        days = [d for (d,) in wh.query(recorded, (digest,))]
    assert days == [today - timedelta(days=n) for n in (3, 2, 1, 0)]
