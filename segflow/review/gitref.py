"""A folder of the repository as it is at a git ref, read from git's objects, never checked out.

`git archive` writes the ref's files of one folder into a temporary directory, so the ref's
definitions load with the same loader as the working tree's (member lists included).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from segflow.errors import SettingsError, UserInputError


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise SettingsError(
            "git is not installed: `segflow diff` reads the base from git"
        ) from None


def repo_root(cwd: Path) -> Path:
    done = _git(["rev-parse", "--show-toplevel"], cwd)
    if done.returncode != 0:
        raise UserInputError(f"{cwd} is not inside a git repository: `segflow diff` needs one")
    return Path(done.stdout.decode().strip()).resolve()


def resolve_commit(ref: str, root: Path) -> str:
    if ref.startswith("-"):
        raise UserInputError(f"--base {ref!r} is not a git ref")
    done = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root)
    if done.returncode != 0:
        raise UserInputError(
            f"--base {ref!r} is no commit of this repository (a branch, tag or commit; "
            "in CI fetch it, e.g. actions/checkout with fetch-depth: 0)"
        )
    return done.stdout.decode().strip()


def relative_to_repo(folder: Path, root: Path) -> str:
    try:
        return folder.resolve().relative_to(root).as_posix()
    except ValueError:
        raise UserInputError(
            f"the folder {folder} is not inside the git repository {root}"
        ) from None


def export_folder(commit: str, path: str, root: Path, dest: Path) -> Path:
    """Write `path` (a folder, relative to the repository root) as of `commit` under `dest`;
    returns where it is (an empty folder when the commit has no such folder)."""
    target = dest / path
    target.mkdir(parents=True, exist_ok=True)
    listed = _git(["ls-tree", "-r", "--name-only", commit, "--", f"{path}/"], root)
    if listed.returncode != 0 or not listed.stdout.strip():
        return target
    archived = _git(["archive", "--format=tar", commit, "--", f"{path}/"], root)
    if archived.returncode != 0:
        first = (archived.stderr.decode(errors="replace").strip().splitlines() or ["?"])[0]
        raise UserInputError(f"cannot read {path}/ at {commit[:12]} from git: {first}")
    with tarfile.open(fileobj=io.BytesIO(archived.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return target
