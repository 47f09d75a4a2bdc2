"""The segment commands as a user runs them: validate, compile, build, preview, members,
explain, backfill, history, schema (real `segflow` processes on a small built DuckDB project)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ENV_VARS, copy_dbt_project
from tests.segments.fixture_data import SEGMENTS, write_feeds

SEGFLOW = str(Path(sys.executable).parent / "segflow")
HOT = "orders_gt_1"
CHOSEN = ["orders_gt_1", "tiers", "any_combo", "static_list", "email_missing", "with_exclude"]


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    root = tmp_path_factory.mktemp("segment_cli")
    (root / "segments").mkdir()
    for name in CHOSEN:
        hot = "hot: true\n" if name == HOT else ""
        (root / "segments" / f"{name}.yml").write_text(f"title: {name}\n{hot}{SEGMENTS[name][0]}\n")
    write_feeds(root / "landing")
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(
        SEGFLOW_LANDING=str(root / "landing"),
        SEGFLOW_SEGMENTS=str(root / "segments"),
        SEGFLOW_DUCKDB_PATH=str(root / "warehouse.duckdb"),
        SEGFLOW_TIMEZONE="Europe/Berlin",
        SEGFLOW_DBT_PROJECT=str(copy_dbt_project(root / "dbt_project")),
        DAGSTER_HOME=str(root / "dagster_home"),
    )

    def run(*args: str, code: int = 0) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [SEGFLOW, *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == code, result.stderr[-2000:]
        assert "Traceback" not in result.stderr
        return result

    built = run("build", "--as-of", "2026-03-31")
    return run, root, built


def test_build_compiles_builds_and_warns_about_static_members(cli):
    _, root, built = cli
    assert (root / "dbt_project" / "models" / "segments" / "seg_tiers.sql").exists()
    # Which listed ids are left out, not only how many (the fixture's E is erased, Z unknown).
    assert (
        "warning: static_list: 2 listed members are not in the population (unknown or erased) "
        "and left out: E, Z"
    ) in built.stderr
    assert "segments built: 6" in built.stdout


def test_build_shows_stages_and_keeps_the_dbt_log_in_a_file(cli):
    _, root, built = cli
    assert "START sql" not in built.stdout + built.stderr  # dbt's own log is not on the terminal
    assert "✓ dbt build: " in built.stderr and "✓ ingest transactions: " in built.stderr
    assert len(built.stderr.splitlines()) < 20
    log = next(
        line.split("the full log is in ", 1)[1]
        for line in built.stderr.splitlines()
        if "the full log is in" in line
    )
    assert "START sql table model" in (root / log).read_text()


def test_a_failed_run_ends_with_what_failed_and_what_to_do(cli):
    run, root, _ = cli
    bad = root / "landing" / "transactions" / "2026-03-31-broken.csv"
    bad.write_text("transaction_id,line_id\nX1,1\n")
    try:
        failed = run("build", "--as-of", "2026-03-31", code=1)
    finally:
        bad.unlink()
    lines = failed.stderr.strip().splitlines()
    assert "Dependencies for step" not in failed.stderr  # no line per skipped step
    assert len(lines) < 15, failed.stderr
    assert "✗ ingest transactions failed" in failed.stderr
    assert "nothing was published" in failed.stderr
    assert lines[-1].startswith(
        "error: ingest transactions failed: transactions/2026-03-31-broken.csv: required column"
    )
    assert "fix the file and deliver it again, or remove it" in lines[-1]


def test_the_summary_lists_every_segment_empty_ones_too(cli):
    run, root, _ = cli
    (root / "segments" / "nobody.yml").write_text("rules: {metric: orders, gte: 1000000}\n")
    try:
        built = run("build", "--as-of", "2026-03-31")
    finally:
        (root / "segments" / "nobody.yml").unlink()
        run("compile")  # the generated models as the other tests expect them
    assert "segments built: 7" in built.stdout
    assert re.search(r"^ +nobody +0 members$", built.stdout, re.MULTILINE)
    assert "tiers" in built.stdout


def test_validate(cli):
    run, root, _ = cli
    assert run("validate").stdout.strip() == "6 segment files valid"
    broken = root / "broken.yml"
    broken.write_text("rules:\n  metric: orders\n  gt: ten\n")
    result = run("validate", str(broken), code=1)
    assert result.stderr.strip() == "broken.yml:3 rules.gt: expected a number, got 'ten'"


def test_compile_check_finds_drift(cli):
    run, root, _ = cli
    assert "up to date" in run("compile", "--check").stdout
    segment = root / "segments" / "email_missing.yml"
    original = segment.read_text()
    segment.write_text(original.replace("is: missing", "is: present"))
    try:
        result = run("compile", "--check", code=1)
        assert (
            "generated files are stale (int_segment_flags.sql, segment_catalog.sql)"
            in result.stderr
        )
    finally:
        segment.write_text(original)
    assert "up to date" in run("compile", "--check").stdout


def test_preview_saved_and_unsaved(cli):
    run, root, _ = cli
    out = run("preview", "tiers", "--as-of", "2026-03-31").stdout
    assert "tiers as of 2026-03-31 (preview)" in out
    assert "members                3  (75.0% of 4)" in out
    assert "revenue           205.00" in out
    assert "tier gold" in out and "tier bronze" in out
    draft = root / "draft.yml"
    draft.write_text("rules: {profile: gender, in: [f, m]}\n")
    assert (
        "members                2  (50.0% of 4)"
        in run("preview", str(draft), "--as-of", "2026-03-31").stdout
    )


def test_members_formats_and_as_of(cli):
    run, _, _ = cli
    assert run("members", "tiers", "--format", "csv").stdout == (
        "customer_id,tier\nA,gold\nB,silver\nG,bronze\n"
    )
    other_day = json.loads(
        run("members", "orders_gt_1", "--as-of", "2026-03-17", "--format", "json").stdout
    )
    # on 03-17 B has only T5: one order; A has T2 and T3
    assert other_day == {
        "segment": "orders_gt_1",
        "as_of": "2026-03-17",
        "members": [{"customer_id": "A"}],
    }


def test_explain(cli):
    run, _, _ = cli
    out = run("explain", "with_exclude", "--customer", "B", "--as-of", "2026-03-31").stdout
    assert out.splitlines()[0] == "B is not a member of with_exclude on 2026-03-31"
    assert "✓ metric orders gte 1   (value: 2)" in out
    assert "✓ segment email_missing" in out
    result = run("explain", "nope", "--customer", "B", code=1)
    assert "unknown segment 'nope'" in result.stderr


def test_schema_is_json_schema(cli):
    run, _, _ = cli
    schema = json.loads(run("schema").stdout)
    assert schema["title"] == "segflow segment"
    assert "rules" in schema["properties"]


def test_backfill_and_history(cli):
    run, _, _ = cli
    done = run("backfill", "--from", "2026-03-28", "--to", "2026-03-31", "--select", HOT, "tiers")
    assert f"recorded 4 day(s) 2026-03-28 to 2026-03-31 of {HOT}, tiers" in done.stdout
    # `--select a b` as dbt users type it: each name is a selection (here, one unknown).
    wrong = run(
        "backfill", "--from", "2026-03-28", "--to", "2026-03-31", "--select", HOT, "nosuch", code=1
    )
    assert "unknown segment 'nosuch'" in wrong.stderr
    lines = run("history", HOT, "--format", "csv").stdout.splitlines()
    assert lines[0] == "day,members,revenue,orders,entered,exited"
    assert [line.split(",")[0] for line in lines[1:]] == [
        "2026-03-28",
        "2026-03-29",
        "2026-03-30",
        "2026-03-31",
    ]
    for line in lines[1:]:
        day, members = line.split(",")[:2]
        listed = run("members", HOT, "--as-of", day, "--format", "csv").stdout.splitlines()
        assert int(members) == len(listed) - 1, day  # csv has a header row
    chart = run("history", HOT).stdout
    assert "┤" in chart and "2026-03-31:" in chart
    not_hot = run("history", "tiers", code=1)
    assert "segment 'tiers' is not hot" in not_hot.stderr
    backwards = run("backfill", "--from", "2026-03-31", "--to", "2026-03-01", code=1)
    assert backwards.stderr.strip() == "error: --from 2026-03-31 is after --to 2026-03-01"
