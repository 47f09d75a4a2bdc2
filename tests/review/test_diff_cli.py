"""`segflow diff` on the command line: one clear line and the right exit code for each mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ENV_VARS

SEGFLOW = str(Path(sys.executable).parent / "segflow")


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env["SEGFLOW_DUCKDB_PATH"] = str(cwd / "warehouse.duckdb")
    return subprocess.run(
        [SEGFLOW, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def one_line(result: subprocess.CompletedProcess, code: int) -> str:
    assert result.returncode == code, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "segments").mkdir()
    (tmp_path / "segments" / "a.yml").write_text("rules: {metric: orders, gt: 1}\n")
    return tmp_path


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_no_warehouse_is_an_environment_problem(folder):
    assert "does not exist yet" in one_line(run(["diff", "--base", "main"], folder), 2)


def test_not_a_git_repository(folder):
    duckdb.connect(str(folder / "warehouse.duckdb")).close()
    line = one_line(run(["diff", "--base", "main"], folder), 1)
    assert "is not inside a git repository" in line


def test_unknown_ref_and_unbuilt_warehouse(folder):
    duckdb.connect(str(folder / "warehouse.duckdb")).close()
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "add", "segments")
    _git(folder, "commit", "-q", "-m", "x")
    line = one_line(run(["diff", "--base", "nope"], folder), 1)
    assert "--base 'nope' is no commit of this repository" in line
    line = one_line(run(["diff", "--base", "main"], folder), 1)
    assert "the warehouse has no built models yet" in line


def test_bad_options(folder):
    assert "--base" in one_line(run(["diff"], folder), 1)
    assert "'2026-02-30' is not a date" in one_line(
        run(["diff", "--base", "main", "--as-of", "2026-02-30"], folder), 1
    )
    assert "'html' is not one of" in one_line(
        run(["diff", "--base", "main", "--format", "html"], folder), 1
    )


def test_build_select_unknown_segment(folder):
    (folder / "data" / "landing").mkdir(parents=True)
    env_run = run(["build", "--select", "a", "--select", "nope"], folder)
    line = one_line(env_run, 1)
    assert "unknown segment 'nope'" in line
