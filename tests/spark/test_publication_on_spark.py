"""Publication on Spark: a build is published as views on its slot, and a failing blocking
check publishes nothing until the file is fixed (the suite of tests/quality/test_publication.py
runs whole on DuckDB and PostgreSQL; on Spark, where a publication is one statement per view,
these two hold what Spark can promise: docs/engines.md)."""

from __future__ import annotations

import pytest

from orchestration.runner import run_build
from segflow.errors import RunFailed
from segflow.publication.publish import BUILDS, SLOTS, published_slot
from segflow.warehouse import open_warehouse
from tests.conftest import project_per_engine
from tests.quality.test_publication import D2, _deliver_sale, _project

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@pytest.fixture(scope="module", params=["spark"])
def published(request, tmp_path_factory):
    yield from project_per_engine(request, tmp_path_factory, "publication", _project)


def _state(settings) -> dict[str, list[tuple]]:
    """Every row readers can see in the published views and the history."""
    with open_warehouse(settings) as wh:
        names = [n for n in wh.relations_in(wh.output_schema) if n != BUILDS]
        state = {
            n: sorted(wh.query(f"select * from {wh.output_schema}.{n}"), key=repr) for n in names
        }
        state["published"] = wh.query(
            f"select slot, as_of from {wh.output_schema}.{BUILDS} "
            "where published_at is not null order by published_at"
        )
    return state


def test_a_build_is_published_as_views_on_its_slot(published):
    with open_warehouse(published) as wh:
        assert published_slot(wh) in SLOTS
        for schema, name in [
            ("staging", "stg_transactions"),
            ("intermediate", "int_sales_lines"),
            ("main", "seg_buyers"),
            ("main", "segment_stats"),
        ]:
            assert wh.relation_kind(schema, name) == "VIEW", name
        assert wh.query("select customer_id from main.seg_buyers") == [("K1",)]
        stats = wh.query("select segment, members from main.segment_stats")
    assert sorted(stats) == [("buyers", 1), ("everyone", 4)]


def test_a_failing_blocking_check_stops_publication_until_the_file_is_fixed(published):
    before = _state(published)
    bad = _deliver_sale(
        published,
        "2026-03-10.csv",
        ["T2", "1", "K2", "2026-03-10 12:00", "P1", "1", "12.00", "USD"],
    )
    with pytest.raises(RunFailed, match="one currency per project"):
        run_build(published, as_of=D2)
    assert _state(published) == before

    _deliver_sale(
        published, bad.name, ["T2", "1", "K2", "2026-03-10 12:00", "P1", "1", "12.00", "EUR"]
    )
    outcome = run_build(published, as_of=D2)
    assert "segment_membership_history" in outcome.materialized
    with open_warehouse(published) as wh:
        members = wh.query("select customer_id from main.seg_buyers order by 1")
    assert members == [("K1",), ("K2",)]
