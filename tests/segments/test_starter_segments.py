"""The starter segments on the demo retailer: none is empty, DuckDB and PostgreSQL give the
same members, and evaluating on the spot (preview) gives the build's members."""

from __future__ import annotations

import contextlib
import shutil
from datetime import date

import pytest

from orchestration.runner import run_build
from segflow.demo.generate import generate_demo
from segflow.evaluation import queries as evaluate
from segflow.segments.project import load_project
from segflow.settings import PROJECT_ROOT
from segflow.warehouse import open_warehouse
from tests.conftest import (
    compile_segments,
    configure_project,
    postgres_database,
    require_postgres,
)

UNTIL = date(2026, 11, 22)


def _build_demo(
    engine: str, root, hot_backfill_days: int | None = None, customers: int = 2500, days: int = 400
) -> dict[str, set[tuple[str, str | None]]]:
    database = postgres_database() if engine == "postgres" else contextlib.nullcontext()
    with pytest.MonkeyPatch.context() as mp, database as name:
        settings = configure_project(mp, root, engine, name)
        if hot_backfill_days is not None:  # the members of a build need no history
            mp.setenv("SEGFLOW_HOT_BACKFILL_DAYS", str(hot_backfill_days))
            settings = settings.model_copy(update={"hot_backfill_days": hot_backfill_days})
        shutil.copytree(PROJECT_ROOT / "segments", settings.segments_dir, dirs_exist_ok=True)
        generate_demo(settings.landing_dir, customers=customers, days=days, until=UNTIL)
        compile_segments(settings)
        run_build(settings, as_of=UNTIL)
        project = load_project(settings.segments_dir)
        members = {}
        with open_warehouse(settings) as wh:
            for segment in project.segments:
                built = evaluate.members(wh, project, segment, None)
                assert built[0] == UNTIL
                on_the_spot = evaluate.evaluate_members(wh, project, segment, UNTIL)
                assert on_the_spot == built[1], segment
                members[segment] = set(built[1])
        return members


@pytest.mark.slow
def test_starter_segments_agree_across_engines_and_are_not_empty(tmp_path):
    require_postgres()
    # The members of a build: no history backfill (a year of the hot segments, ~40 s each)
    on_duckdb = _build_demo("duckdb", tmp_path / "duckdb", hot_backfill_days=0)
    on_postgres = _build_demo("postgres", tmp_path / "postgres", hot_backfill_days=0)
    assert len(on_duckdb) == 17
    empty = [name for name, members in on_duckdb.items() if not members]
    assert empty == []
    for name in on_duckdb:
        assert on_duckdb[name] == on_postgres[name], name
