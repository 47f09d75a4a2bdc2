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
    # A smaller demo than on PostgreSQL: Spark pays a fraction of a second per statement, and
    # a build has thousands (every file's loading, every model and test of dbt).
    small = {"hot_backfill_days": 0, "customers": 1000, "days": 200}
    on_duckdb = _build_demo("duckdb", tmp_path / "duckdb", **small)
    on_spark = _build_demo("spark", tmp_path / "spark", **small)
    assert len(on_duckdb) == 17
    non_empty = [n for n, members in on_duckdb.items() if members]
    assert len(non_empty) >= 15, non_empty  # the small demo may leave a narrow one empty
    for name in on_duckdb:
        assert on_spark[name] == on_duckdb[name], name
