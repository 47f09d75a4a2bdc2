"""Every construct of the segment language on hand-made data, on DuckDB and PostgreSQL.

Each segment's members are worked out by hand (tests/segments/fixture_data.py) and checked
in the built table (dbt through Dagster) and by direct evaluation (preview, members --as-of).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest

from orchestration.runner import run_build
from segflow.errors import UserInputError
from segflow.evaluation import queries as evaluate
from segflow.publication.publish import BUILDS, published_build
from segflow.segments.project import load_project
from segflow.warehouse import open_warehouse
from tests.conftest import (
    ALL_ENGINES_SLOW_SPARK,
    compile_segments,
    configure_project,
    project_per_engine,
)
from tests.segments.fixture_data import SEGMENTS, D, write_feeds, write_segments


@pytest.fixture(scope="module", params=ALL_ENGINES_SLOW_SPARK)
def built(request, tmp_path_factory):
    """A project with the hand-made feeds and segments, built as of D."""
    yield from project_per_engine(request, tmp_path_factory, "semantics", _build)


def _build(mp, root, engine, database):
    settings = configure_project(mp, root, engine, database)
    write_feeds(settings.landing_dir)
    write_segments(settings.segments_dir)
    compile_segments(settings)
    outcome = run_build(settings, as_of=D)
    assert outcome.failed_checks == []
    return settings, load_project(settings.segments_dir)


def _as_expected(rows, tiered: bool):
    return {c: t for c, t in rows} if tiered else {c for c, _ in rows}


@pytest.mark.parametrize("name", list(SEGMENTS))
def test_members_worked_out_by_hand(built, name):
    settings, project = built
    expected = SEGMENTS[name][1]
    tiered = isinstance(expected, dict)
    with open_warehouse(settings) as wh:
        assert evaluate.built_as_of(wh, project, name) == D
        day, from_build = evaluate.members(wh, project, name, None)
        assert day == D
        on_the_spot = evaluate.evaluate_members(wh, project, name, D)
    assert _as_expected(from_build, tiered) == expected
    assert _as_expected(on_the_spot, tiered) == expected


@pytest.mark.parametrize("source", ["kept", "lines"])
def test_preview_counts_members_share_revenue_and_tiers(built, source, monkeypatch):
    """From what the build kept (the per-day aggregates, the published features' revenue) and,
    as for a filter no build kept, from the lines."""
    settings, project = built
    if settings.target == "spark" and source == "kept":
        pytest.skip(
            "Spark builds the per-day aggregates whole and keeps none: preview reads the lines"
        )
    with open_warehouse(settings) as wh:
        kept = evaluate.kept_daily(wh, project)
        if settings.target == "spark":
            assert kept is None
        else:
            assert kept is not None and kept.as_of == D
            # the members' revenue: the published features' when kept, else the lines'
            revenue_from = evaluate._revenue_sql(wh, kept, "tiers", D)
            assert "int_segment_sales_features" in revenue_from
        if source == "lines":
            monkeypatch.setattr(evaluate, "kept_daily", lambda wh, project: None)
        result = evaluate.preview(wh, project, "tiers", D)
        static = evaluate.preview(wh, project, "static_list", D)
    assert (result.members, result.population) == (3, 4)
    assert result.revenue == Decimal("205")  # A 170 + B 30 + G 5
    assert result.tiers == [("gold", 1), ("silver", 1), ("bronze", 1)]
    assert (static.members, static.static_outside) == (2, ["E", "Z"])  # E erased, Z unknown


def test_explain_shows_each_leaf_with_its_value(built):
    settings, project = built
    with open_warehouse(settings) as wh:
        headline, lines = evaluate.explain(wh, project, "any_combo", "B", D)
        outside, none = evaluate.explain(wh, project, "any_combo", "E", D)
        later, _ = evaluate.explain(wh, project, "any_combo", "F", D)
    assert headline == "B is a member of any_combo on 2026-03-31"
    leaves = [(line.text, line.held, line.value) for line in lines if line.show_value]
    assert leaves == [("profile gender eq f", False, "m"), ("profile email is missing", True, None)]
    assert outside == "E is not in the population on 2026-03-31: the customer was erased"
    assert later == "F is not in the population on 2026-03-31: signed up later, on 2026-04-10"
    assert none == []


def test_injection_attempts_leave_the_warehouse_intact(built):
    settings, _ = built
    with open_warehouse(settings) as wh:
        assert wh.scalar("select count(*) from raw.customers") == 7
        assert wh.scalar("select count(*) from raw.events") == 7


def test_segment_stats_worked_out_by_hand(built):
    settings, project = built
    with open_warehouse(settings) as wh:
        columns, rows, stale = evaluate.read_stats(wh, project, ["orders_gt_1", "tiers"])
    assert stale == []
    stats = {r[0]: dict(zip(columns, r, strict=True)) for r in rows}
    # population A, B, C, G; lifetime up to D: A 3 orders 170, B 2 orders 30, G 0 orders 5
    vip = stats["orders_gt_1"]
    assert (vip["as_of"], vip["members"], vip["population"]) == (D, 2, 4)
    assert float(vip["share"]) == 0.5
    assert (vip["orders"], vip["revenue"], vip["avg_order_value"]) == (5, 200, 40)
    assert (vip["rest_orders"], vip["rest_revenue"], vip["rest_avg_order_value"]) == (0, 5, None)
    tiers = stats["tiers"]  # A, B, G
    assert (tiers["members"], tiers["orders"], tiers["revenue"]) == (3, 5, 205)
    assert (tiers["rest_orders"], tiers["rest_revenue"]) == (0, 0)


def test_overlap_of_every_pair_of_segments_worked_out_by_hand(built):
    """The Overlap dashboard's table: the members every ordered pair of segments shares, for
    the pairs that share any (DuckDB counts the bits of a bit string per segment, the other
    engines join the members on customer)."""
    settings, _ = built
    members = {name: set(expected) for name, (_, expected) in SEGMENTS.items()}
    expected = {
        (a, b): (len(members[a]), len(members[a] & members[b]))
        for a in members
        for b in members
        if members[a] & members[b]
    }
    with open_warehouse(settings) as wh:
        rows = wh.query(
            "select segment, other_segment, members, members_in_both, share_in_other "
            f"from {wh.output_schema}.bi_segment_overlap"
        )
    found = {(r[0], r[1]): (r[2], r[3]) for r in rows if r[0] in members and r[1] in members}
    assert found == expected
    assert len(expected) > len(members)  # pairs of different segments, not only each with itself
    assert all(abs(float(r[4]) - r[3] / r[2]) < 1e-9 for r in rows)


def test_stats_csv_has_one_number_format_on_every_engine(built, capsys):
    from segflow.cli.main import cli

    cli.main(["stats", "--format", "csv"], standalone_mode=False)
    out = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out[out.index("segment,as_of") :])))
    assert rows
    for row in rows:
        assert re.fullmatch(r"[01]\.\d{4}", row["share"]), row
        for money in ("revenue", "avg_order_value", "rest_revenue", "rest_avg_order_value"):
            assert row[money] == "" or re.fullmatch(r"-?\d+\.\d{2}", row[money]), row
    vip = next(r for r in rows if r["segment"] == "orders_gt_1")
    assert (vip["share"], vip["revenue"], vip["avg_order_value"]) == ("0.5000", "200.00", "40.00")
    assert (vip["orders"], vip["rest_orders"], vip["rest_avg_order_value"]) == ("5", "0", "")
    empty = [r for r in rows if r["members"] == "0"]
    assert empty and all(r["share"] == "0.0000" for r in empty)  # not 0E-20


def test_stats_of_a_definition_changed_since_the_build_are_refused(built):
    settings, _ = built
    path = settings.segments_dir / "orders_gt_1.yml"
    original = path.read_text()
    path.write_text(original.replace("gt: 1", "gt: 2"))
    try:
        project = load_project(settings.segments_dir)
        with open_warehouse(settings) as wh:
            with pytest.raises(UserInputError, match="'orders_gt_1' is not built with the current"):
                evaluate.read_stats(wh, project, ["orders_gt_1"])
            _, rows, stale = evaluate.read_stats(wh, project, [])
        assert stale == ["orders_gt_1"] and len(rows) == len(project.segments)
    finally:
        path.write_text(original)


def test_a_build_on_another_day_equals_members_as_of_that_day(built):
    """Builds the warehouse as of an earlier day: that build is not published (the published
    build stays D's, which the tests after this one read)."""
    settings, project = built
    if settings.target == "spark":
        pytest.skip(
            "two more builds (~10 min on Spark): a second build on Spark is "
            "tests/spark/test_publication_on_spark.py (`-m 'spark and slow'`)"
        )
    other = date(2026, 3, 18)
    with open_warehouse(settings) as wh:
        expected = {n: evaluate.evaluate_members(wh, project, n, other) for n in SEGMENTS}
    outcome = run_build(settings, as_of=other)
    with open_warehouse(settings) as wh:
        # An older day than the published D: built into its own build schema, not published.
        slot = wh.scalar(
            f"select slot from {wh.output_schema}.{BUILDS} where run_id = ?", (outcome.run_id,)
        )
        for name in SEGMENTS:
            tiered = isinstance(SEGMENTS[name][1], dict)
            tier = "tier" if tiered else "cast(null as varchar)"
            built_rows = wh.query(f"select customer_id, {tier} from {slot}.seg_{name} order by 1")
            assert [tuple(r) for r in built_rows] == expected[name], name
            assert evaluate.members(wh, project, name, other)[1] == expected[name], name
        # 14 days before 03-18 is 03-05: only T4 (03-18) and T5 (03-17) of B; A's R1 (03-15)
        assert evaluate.members(wh, project, "revenue_14d", other)[1] == []
        assert evaluate.members(wh, project, "birthday_soon", other)[1] == []
        assert published_build(wh).as_of == D


TYPOS = """\
rules:
  all:
    - {metric: orders, where: {brand: Strdie}, gte: 1}
    - {metric: events, event: chek_in, gte: 1}
    - {profile: gender, eq: female}
    - {attribute: diet, eq: vegn}
    - {attribute: dite, eq: vegan}
    - {metric: orders, where: {brand: [nordlicht, STRIDE]}, gte: 1}
"""


def test_values_that_never_occur_in_the_warehouse_are_warned_about(built, tmp_path):
    from segflow.evaluation.vocabulary import check_values

    settings, _ = built
    path = tmp_path / "typos.yml"
    path.write_text(TYPOS)
    project = load_project(settings.segments_dir, extra=path)
    checked = check_values(settings, [project.segments["typos"]])
    assert checked.unchecked is None
    messages = [f"{p.line} {p.path}: {p.message}" for p in checked.warnings]
    assert messages == [
        "3 rules.all[0].where.brand.eq: warning: 'Strdie' is never a brand of sales lines in "
        "the warehouse (known: 'Nordlicht', 'Stride')",
        "4 rules.all[1].event: warning: 'chek_in' is never an event type of events in the "
        "warehouse (known: " + ", ".join(repr(t) for t in _event_types(settings)) + ")",
        "5 rules.all[2].eq: warning: 'female' is never a gender of customers in the warehouse "
        "(known: 'f', 'm', 'x')",
        "6 rules.all[3].eq: warning: 'vegn' is never a value of attribute diet in the "
        "warehouse (known: 'vegan', 'Vegetarian')",
        "7 rules.all[4].attribute: warning: 'dite' is never an attribute name in the "
        "warehouse (known: 'diet', 'pet', 'shoe_size')",
    ]


def _event_types(settings) -> list[str]:
    with open_warehouse(settings) as wh:
        return sorted(
            r[0] for r in wh.query("select distinct event_type from intermediate.int_events")
        )


def test_values_are_not_checked_without_a_warehouse(tmp_path, monkeypatch):
    from segflow.evaluation.vocabulary import check_values
    from segflow.settings import load_settings

    monkeypatch.setenv("SEGFLOW_TARGET", "duckdb")
    monkeypatch.setenv("SEGFLOW_DUCKDB_PATH", str(tmp_path / "none.duckdb"))
    (tmp_path / "typos.yml").write_text(TYPOS)
    project = load_project(tmp_path)
    checked = check_values(load_settings(dotenv=False), list(project.segments.values()))
    assert checked.warnings == []
    assert checked.unchecked.startswith("values were not checked against the warehouse")
