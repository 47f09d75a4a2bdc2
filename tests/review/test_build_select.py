"""`segflow build --select`: the selected segments and what they refer to get new tables, the
others are published as they were (hand-made retailer of tests/segments/fixture_data.py)."""

from __future__ import annotations

import pytest

from orchestration.runner import run_build
from segflow.errors import RunFailed, UserInputError
from segflow.evaluation import queries as evaluate
from segflow.publication.publish import kept_schema, published_slot
from segflow.publication.selective import selection
from segflow.segments.project import load_project
from segflow.warehouse import open_warehouse
from tests.conftest import write_segments
from tests.feedfiles import deliver
from tests.segments.fixture_data import CUSTOMERS, D, write_feeds

SEGMENTS = {
    "buyers": "title: Buyers\nrules: {metric: orders, gt: 1}\n",  # A, B
    "big": "title: Big\nrules: {all: [{segment: buyers}, {metric: revenue, gt: 20}]}\n",  # A, B
    "women": "title: Women\nrules: {profile: gender, in: [f, x]}\n",  # A, G
}


def _members(wh, name: str) -> set[str]:
    return {r[0] for r in wh.query(f"select customer_id from {wh.output_schema}.seg_{name}")}


def _assert_dashboards_read_the_published_segments(wh) -> None:
    """The dashboards' overlap and insights count the carried segments' published members
    (women: {A}, not the {A, B} of its edited definition)."""
    schema = wh.output_schema
    members: dict[str, set[str]] = {}
    for segment, customer in wh.query(
        f"select segment, customer_id from {schema}.segment_membership"
    ):
        members.setdefault(segment, set()).add(customer)
    expected = {
        (a, b): (len(members[a]), len(members[a] & members[b]))
        for a in members
        for b in members
        if members[a] & members[b]
    }
    rows = wh.query(
        f"select segment, other_segment, members, members_in_both from {schema}.bi_segment_overlap"
    )
    assert {(r[0], r[1]): (r[2], r[3]) for r in rows} == expected
    insights = wh.query(
        f"select segment, customers from {schema}.bi_segment_vs_rest "
        "where customer_group = 'Segment members'"
    )
    assert dict(insights) == {name: len(m) for name, m in members.items()}


def test_select_rebuilds_the_selection_and_keeps_the_rest(project):
    """`seg_<name>` as views of the flags (dbt_project.yml's default): a segment carried over
    becomes a view of a copy of its published rows, kept with the slot. Then the segments as
    tables (`+materialized: table`): carried rows replace a table's own."""
    _select(project)
    with open_warehouse(project) as wh:
        slot = published_slot(wh)
        assert wh.relation_kind(slot, "seg_women") == "VIEW"
        assert wh.relation_kind(slot, "seg_big") == "VIEW"
        assert wh.relation_kind(kept_schema(slot), "seg_women") == "TABLE"
        assert not wh.table_exists(kept_schema(slot), "seg_big")
    dbt_project = project.dbt_project_dir / "dbt_project.yml"
    text = dbt_project.read_text()
    dbt_project.write_text(
        text.replace("+materialized: segment_view\n\nflags", "+materialized: table\n\nflags")
    )
    assert dbt_project.read_text() != text
    # Carried again, from the view of the kept copy, into the other slot (emptied first)
    run_build(project, as_of=D, select=["buyers"])
    with open_warehouse(project) as wh:
        assert _members(wh, "women") == {"A"}
        assert _members(wh, "buyers") == _members(wh, "big") == {"A"}  # big: carried
        stats = dict(wh.query(f"select segment, members from {wh.output_schema}.segment_stats"))
        assert stats == {"buyers": 1, "big": 1, "women": 1}
        slot = published_slot(wh)
        for name in ("women", "big", "buyers"):
            assert wh.relation_kind(slot, f"seg_{name}") == "TABLE", name
            assert not wh.table_exists(kept_schema(slot), f"seg_{name}"), name


def _select(settings) -> None:
    write_feeds(settings.landing_dir)
    write_segments(settings, SEGMENTS)
    with pytest.raises(RunFailed, match="--select needs a published build"):
        run_build(settings, as_of=D, select=["big"])
    run_build(settings, as_of=D)
    with open_warehouse(settings) as wh:
        assert [_members(wh, n) for n in ("buyers", "big", "women")] == [{"A", "B"}] * 2 + [
            {"A", "G"}
        ]
        old_hash = wh.scalar(
            f"select definition_hash from {wh.output_schema}.segment_catalog "
            "where segment = 'women'"
        )
    write_segments(
        settings,
        {
            "buyers": "title: Buyers\nrules: {metric: orders, gt: 2}\n",  # A
            "women": "title: Women\nrules: {profile: gender, in: [f, m, x]}\n",  # A, B, G
        },
    )
    # G is erased since: erasure applies to the tables carried over too
    header, rows = CUSTOMERS
    erased = [[*r[:7], "2026-03-01 10:00", *r[8:]] for r in rows if r[0] == "G"]
    deliver(settings.landing_dir, "customers", "2026-04-12.csv", header, erased)
    outcome = run_build(settings, as_of=D, select=["big"])
    assert outcome.failed_checks == []
    project_now = load_project(settings.segments_dir)
    with open_warehouse(settings) as wh:
        assert _members(wh, "buyers") == {"A"}  # referred to by big: rebuilt
        assert _members(wh, "big") == {"A"}
        assert _members(wh, "women") == {"A"}  # not selected: as published, less erased G
        schema = wh.output_schema
        stats = dict(wh.query(f"select segment, members from {schema}.segment_stats"))
        assert stats == {"buyers": 1, "big": 1, "women": 1}
        membership = wh.query(
            f"select segment, count(*) from {schema}.segment_membership group by segment"
        )
        assert dict(membership) == stats
        _assert_dashboards_read_the_published_segments(wh)
        catalog = dict(wh.query(f"select segment, definition_hash from {schema}.segment_catalog"))
        assert catalog["women"] == old_hash != project_now.definition_hash("women")
        assert catalog["buyers"] == project_now.definition_hash("buyers")
        # members knows that women's table predates its edit
        assert evaluate.built_as_of(wh, project_now, "women") is None
        assert evaluate.built_as_of(wh, project_now, "big") == D


def test_selection_follows_references_and_refuses_unknown_names(tmp_path):
    for name, text in SEGMENTS.items():
        (tmp_path / f"{name}.yml").write_text(text)
    project = load_project(tmp_path)
    assert selection(project, ["big"]) == ["buyers", "big"]
    assert selection(project, ["women", "big"]) == ["women", "buyers", "big"]
    with pytest.raises(UserInputError, match="--select: unknown segment 'nope'"):
        selection(project, ["nope"])
