"""The starter segments on the demo retailer give the same members on Spark as on DuckDB,
built through the same pipeline (ingestion, dbt, checks, publication) and evaluated on the spot."""

from __future__ import annotations

import pytest

from tests.conftest import require_spark
from tests.segments.test_starter_segments import _build_demo


@pytest.mark.spark
@pytest.mark.slow
def test_starter_segments_on_spark_equal_duckdb(tmp_path):
    require_spark()
    on_duckdb = _build_demo("duckdb", tmp_path / "duckdb", hot_backfill_days=0)
    on_spark = _build_demo("spark", tmp_path / "spark", hot_backfill_days=0)
    assert len(on_duckdb) == 17
    assert [n for n, members in on_duckdb.items() if not members] == []
    for name in on_duckdb:
        assert on_spark[name] == on_duckdb[name], name
