"""Running dbt: where it is, and keeping its manifest in step with the project's files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from segflow.errors import RunFailed
from segflow.settings import Settings

_SOURCES = ("dbt_project.yml", "models", "macros", "tests")


def dbt_executable() -> str:
    """The `dbt` of this environment, also when the virtual environment is not activated."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def manifest_path(project_dir: Path) -> Path:
    return project_dir / "target" / "manifest.json"


def slot_target(slot: str, purpose: str = "build") -> Path:
    """The dbt target folder (artifacts, logs, partial-parse state) of a slot's builds,
    relative to the dbt project: the same folder every time, so that dbt parses only what
    changed since the slot was last built (docs/stack.md)."""
    return Path("target") / f"{slot}_{purpose}"


def project_fingerprint(project_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in _SOURCES:
        root = project_dir / name
        paths = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in paths:
            if path.is_file():
                digest.update(str(path.relative_to(project_dir)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_manifest(settings: Settings) -> Path:
    """Parse the dbt project when its manifest is missing or older than its files."""
    project_dir = settings.dbt_project_dir
    manifest = manifest_path(project_dir)
    stamp = project_dir / "target" / ".segflow-fingerprint"
    fingerprint = project_fingerprint(project_dir)
    if manifest.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return manifest
    env = {**os.environ, **settings.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [
            dbt_executable(),
            "parse",
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir),
            "--quiet",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stdout + result.stderr).strip().splitlines()
        raise RunFailed(f"dbt could not parse the project: {detail[-1] if detail else 'no output'}")
    stamp.write_text(fingerprint)
    return manifest


if __name__ == "__main__":  # `python -m segflow.dbt`: prepare the manifest (used by ./bootstrap)
    from segflow.settings import load_settings

    print(f"dbt manifest ready: {ensure_manifest(load_settings())}")
