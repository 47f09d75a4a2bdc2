"""The BI copy of the embedded warehouse: written in a storage format Superset's older DuckDB
reads, replaced atomically (a reader of the old file keeps reading it whole; no partial file
is ever under the published name), and a failed copy leaves the published one as it was."""

from __future__ import annotations

import subprocess

import duckdb
import pytest

from segflow.bi.bifile import bi_duckdb_path, publish_bi_file
from segflow.bi.environment import SupersetEnvironment
from segflow.warehouse import open_warehouse
from tests.conftest import configure_project


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.delenv("SEGFLOW_BI_DUCKDB_PATH", raising=False)
    return configure_project(monkeypatch, tmp_path, "duckdb")


def _write(settings, members: int) -> None:
    with open_warehouse(settings) as wh:
        wh.execute("create schema if not exists segflow_a")
        wh.execute(
            "create or replace table segflow_a.stats as "
            f"select 'vip' as segment, {members} as members"
        )
        wh.execute("create or replace view main.segment_stats as select * from segflow_a.stats")
        wh.execute("create or replace table main.hot_segment_history (day date, members int)")
        wh.execute(
            "insert into main.hot_segment_history values ('2026-11-30', 1), ('2026-12-01', 2)"
        )


def test_the_copy_holds_the_output_schema_and_is_replaced_atomically(settings):
    target = bi_duckdb_path(settings)
    assert target == settings.duckdb_path.with_name("bi.duckdb")
    _write(settings, 10)
    with open_warehouse(settings) as wh:
        rows = publish_bi_file(wh, target)
    assert rows == {"hot_segment_history": 2, "segment_stats": 1}

    reader = duckdb.connect(str(target), read_only=True)  # Superset holding the old copy
    inode = target.stat().st_ino
    _write(settings, 20)
    with open_warehouse(settings) as wh:
        publish_bi_file(wh, target)
    assert target.stat().st_ino != inode  # a new file renamed into place, not rewritten
    assert reader.execute("select members from segment_stats").fetchone() == (10,)
    reader.close()
    with duckdb.connect(str(target), read_only=True) as fresh:
        assert fresh.execute("select members from segment_stats").fetchone() == (20,)
    assert sorted(p.name for p in target.parent.glob("*bi.duckdb*")) == ["bi.duckdb"]


def test_a_failed_copy_leaves_the_published_one(settings, monkeypatch):
    target = bi_duckdb_path(settings)
    _write(settings, 10)
    with open_warehouse(settings) as wh:
        publish_bi_file(wh, target)
        # A relation that cannot be read (its table is gone) fails the copy half-way.
        wh.execute("create view main.zz_broken as select * from segflow_a.stats")
        wh.execute("drop table segflow_a.stats")
        with pytest.raises(duckdb.Error):
            publish_bi_file(wh, target)
    with duckdb.connect(str(target), read_only=True) as copy:
        assert copy.execute("select members from segment_stats").fetchone() == (10,)
    assert sorted(p.name for p in target.parent.glob("*bi.duckdb*")) == ["bi.duckdb"]


@pytest.mark.superset
def test_superset_s_duckdb_reads_the_copy(settings):
    env = SupersetEnvironment()
    if not (env.bin / "python").exists():
        pytest.skip("Superset's environment is not installed (segflow dashboards serve)")
    _write(settings, 10)
    target = bi_duckdb_path(settings)
    with open_warehouse(settings) as wh:
        publish_bi_file(wh, target)
    script = (
        "import sys, duckdb; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(duckdb.__version__, c.sql('select members from segment_stats').fetchone()[0])"
    )
    out = subprocess.run(
        [str(env.bin / "python"), "-c", script, str(target)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    version, members = out.stdout.split()
    assert version.startswith("1.") and members == "10"
