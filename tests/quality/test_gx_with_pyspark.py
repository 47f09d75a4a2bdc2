"""Great Expectations in a process whose `__main__` has no file, with pyspark installed.

GX imports `pyspark.sql.connect` when pyspark is importable, and that import exits the process
with status 0 when `__main__` looks like a doctest run (`python -c`, a pytest-xdist worker):
every quality check of such a run stopped the run as if it had succeeded. Only meaningful with
the spark extra installed, so it runs in CI's Spark step.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None,
        reason="needs pyspark (./bootstrap --with spark): without it GX never imports Spark Connect",
    ),
]

# The products suite on a hand-made staging table: one product twice, so one check fails.
VALIDATE = """
from segflow.quality import validate
from segflow.settings import load_settings
from segflow.warehouse import open_warehouse

settings = load_settings(dotenv=False)
with open_warehouse(settings) as wh:
    wh.execute("create schema qa")
    wh.execute(
        "create table qa.stg_products as "
        "select * from (values ('P1', 'Tea'), ('P1', 'Tea again'), ('P2', 'Rye')) "
        "as t(product_id, product_name)"
    )
    outcome = validate(wh, settings, "products", "qa")
print("failed:", [e.description for e in outcome.failed])
"""


def test_quality_checks_run_under_python_dash_c(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SEGFLOW_TARGET", "duckdb")
    monkeypatch.setenv("SEGFLOW_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    done = subprocess.run(
        [sys.executable, "-c", VALIDATE],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Skipping doctests" not in done.stderr
    (failed,) = [line for line in done.stdout.splitlines() if line.startswith("failed:")]
    assert "unique" in failed and "null" not in failed, done.stdout
