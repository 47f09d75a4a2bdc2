"""The README's first command works in a clean copy of the repository, as a new user runs it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from segflow.settings import PROJECT_ROOT
from tests.conftest import ENV_VARS


def readme_commands() -> list[str]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", readme, re.S)
    assert block, "README has no Quick start sh block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def clean_copy(dest: Path) -> Path:
    """The files a fresh clone has: tracked ones plus new, not ignored ones."""
    files = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = PROJECT_ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


@pytest.mark.slow
def test_readme_first_command_runs_the_demo_from_a_clean_folder(tmp_path):
    commands = readme_commands()
    assert len(commands) == 2 and "pytest" in commands[1]
    repo = clean_copy(tmp_path / "segflow")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ENV_VARS and k not in ("VIRTUAL_ENV", "DAGSTER_HOME")
    }
    result = subprocess.run(
        commands[0],
        shell=True,
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "segflow demo on duckdb (data/warehouse.duckdb)" in out
    loaded = dict(re.findall(r"^\s+(\w+)\s+([\d,]+)\s+[\d,]+$", out, re.M))
    assert set(loaded) == {"customers", "customer_attributes", "products", "transactions", "events"}
    assert all(int(n.replace(",", "")) > 0 for n in loaded.values())
    quarantined = re.search(r"^\s+transactions\s+[\d,]+\s+(\d+)$", out, re.M)
    assert quarantined and int(quarantined.group(1)) > 0
    population = re.search(r"customers in the population as of [\d-]+: ([\d,]+)", out)
    assert population and 9000 < int(population.group(1).replace(",", "")) <= 10_000
    assert f"DAGSTER_HOME={repo}/.dagster" in out and "dagster dev" in out
    assert (repo / "data" / "warehouse.duckdb").exists()
