"""The pull-request workflow runs what CI runs on segments/, and passes actionlint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

from segflow.settings import PROJECT_ROOT

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "segments.yml"
BIN = Path(sys.executable).parent


def _steps() -> list[dict]:
    workflow = YAML(typ="safe").load(WORKFLOW.read_text())
    return workflow["jobs"]["review"]["steps"]


def test_triggers_on_segments_and_syncs():
    workflow = YAML(typ="safe").load(WORKFLOW.read_text())
    assert workflow["on"]["pull_request"]["paths"] == [
        "segments/**",
        "syncs/**",
    ]


def test_runs_the_readme_setup_and_the_ci_commands():
    scripts = "\n".join(s.get("run", "") for s in _steps())
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "./bootstrap" in scripts and "./bootstrap" in ci
    for command in ("segflow validate", "segflow compile --check", "segflow test"):
        assert command.split()[1] in scripts and f".venv/bin/{command}" in ci
    assert '.venv/bin/segflow diff --base "origin/${BASE_REF}" --format markdown' in scripts
    checkout = next(s for s in _steps() if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    sticky = [s for s in _steps() if "sticky-pull-request-comment" in s.get("uses", "")]
    assert len(sticky) == 1 and sticky[0]["with"]["path"] == "comment.md"


def test_actionlint_passes():
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(BIN / "actionlint"), "-verbose", str(WORKFLOW)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'Rule "shellcheck" was disabled' not in result.stderr  # the run scripts are checked
