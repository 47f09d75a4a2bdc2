"""The real `segflow` command: exit codes and one-line messages, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ENV_VARS, copy_dbt_project

SEGFLOW = str(Path(sys.executable).parent / "segflow")


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    base["DAGSTER_HOME"] = str(cwd / "dagster_home")
    (cwd / "segments").mkdir(exist_ok=True)
    if not (cwd / "dbt_project").exists():
        copy_dbt_project(cwd / "dbt_project")
    base["SEGFLOW_DBT_PROJECT"] = str(cwd / "dbt_project")
    return subprocess.run(
        [SEGFLOW, *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and text in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_landing_folder(tmp_path):
    result = run(["build"], tmp_path, SEGFLOW_LANDING=str(tmp_path / "nowhere"))
    assert_one_line_error(result, 1, f"the landing folder {tmp_path / 'nowhere'} does not exist")


def test_unreachable_postgres(tmp_path):
    (tmp_path / "data" / "landing").mkdir(parents=True)
    result = run(["build"], tmp_path, SEGFLOW_TARGET="postgres", PGHOST="127.0.0.1", PGPORT="1")
    assert_one_line_error(result, 2, "cannot reach PostgreSQL at ")


@pytest.mark.parametrize(
    "var,value,text",
    [
        ("SEGFLOW_TARGET", "oracle", "SEGFLOW_TARGET='oracle' is not a warehouse segflow knows"),
        ("SEGFLOW_TIMEZONE", "Mars/Olympus", "SEGFLOW_TIMEZONE='Mars/Olympus' is not a time zone"),
        (
            "SEGFLOW_MAX_BAD_SHARE",
            "5%",
            "SEGFLOW_MAX_BAD_SHARE='5%' must be a share between 0 and 1",
        ),
        ("PGPORT", "fivefour", "PGPORT='fivefour' must be a port number"),
    ],
)
def test_wrong_settings(tmp_path, var, value, text):
    assert_one_line_error(run(["build"], tmp_path, **{var: value}), 2, text)


def test_bad_date_flag(tmp_path):
    result = run(["build", "--as-of", "21.11.2026"], tmp_path)
    assert_one_line_error(result, 1, "'21.11.2026' is not a date (YYYY-MM-DD)")


def test_demo_does_not_overwrite_real_deliveries(tmp_path):
    landing = tmp_path / "data" / "landing" / "customers"
    landing.mkdir(parents=True)
    (landing / "2026-11-21.csv").write_text("customer_id\n")
    result = run(["demo"], tmp_path)
    assert_one_line_error(result, 1, "holds deliveries that `segflow demo` did not make")
    assert (landing / "2026-11-21.csv").exists()


def test_duckdb_file_in_use(tmp_path):
    import duckdb

    (tmp_path / "data" / "landing").mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys,time; c=duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); time.sleep(60)",
            str(tmp_path / "data" / "warehouse.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = run(["build"], tmp_path)
        assert_one_line_error(result, 2, "cannot open the DuckDB warehouse")
    finally:
        holder.kill()
        holder.wait()
    assert duckdb  # the engine the holder process used
