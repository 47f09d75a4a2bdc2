"""The user's documentation lives in the repository and stays in line with it.

A clone has only its own files: nothing tracked may point at the folder beside it. Every
relative link in the Markdown files must reach a file (and, with `#anchor`, a heading) of the
repository, and the reference must name every command, option and setting the code has.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from segflow.settings import PROJECT_ROOT

# Built from parts so that this file does not match itself.
OUTSIDE = re.compile(
    "|".join(
        [
            re.escape("../" + "shared"),
            re.escape("shared" + "/spec"),
            r"\bspec" + r"/(segments|feeds|interface|dashboards|activation|review)\.md",
        ]
    )
)
SKIPPED_DIRS = {".git", ".venv", "data", ".dagster", "target", "node_modules", "uncommitted"}
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~)")


def tracked_files() -> list[Path]:
    """The repository's files: `git ls-files`, or a walk of the folder outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode()
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = [
            str(p.relative_to(PROJECT_ROOT))
            for p in PROJECT_ROOT.rglob("*")
            if p.is_file() and not SKIPPED_DIRS & set(p.relative_to(PROJECT_ROOT).parts)
        ]
    return [PROJECT_ROOT / n for n in sorted(names) if (PROJECT_ROOT / n).is_file()]


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """Lines outside fenced code blocks, with inline code removed, numbered from 1."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, re.sub(r"`[^`]*`", "", line)))
    return lines


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors_of(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    text = text_of(path) or ""
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not match:
            continue
        anchor = github_anchor(match.group(1))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.add(anchor if count == 0 else f"{anchor}-{count}")
    return anchors


def markdown_files() -> list[Path]:
    return [p for p in tracked_files() if p.suffix == ".md"]


def test_nothing_tracked_points_outside_the_repository():
    found = []
    for path in tracked_files():
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()}")
    assert not found, "references outside the repository:\n" + "\n".join(found)


def test_the_pattern_catches_what_it_should():
    assert OUTSIDE.search("see " + "../" + "shared/STACK_NOTES.md")
    assert OUTSIDE.search("(" + "shared" + "/spec" + "/feeds.md)")
    assert OUTSIDE.search("(spec" + "/interface.md, 'Settings')")
    assert not OUTSIDE.search("(docs/reference.md, 'Settings')")


def test_the_readme_and_docs_exist():
    for name in ("README.md", "docs/README.md", "docs/segments.md", "docs/feeds.md"):
        assert (PROJECT_ROOT / name).is_file(), name
    assert (PROJECT_ROOT / "docs/reference.md").is_file()
    assert {"README.md", "docs/segments.md", "docs/feeds.md", "docs/reference.md"} <= {
        str(p.relative_to(PROJECT_ROOT)) for p in markdown_files()
    }


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_relative_links_reach_a_file_and_heading(path: Path):
    broken = []
    checked = 0
    for number, line in prose_lines(text_of(path) or ""):
        for target in LINK.findall(line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            destination = (path.parent / file_part).resolve() if file_part else path
            checked += 1
            where = f"{path.relative_to(PROJECT_ROOT)}:{number}: ({target})"
            if not destination.is_relative_to(PROJECT_ROOT):
                broken.append(f"{where} outside the repository")
            elif not destination.exists():
                broken.append(f"{where} no such file")
            elif anchor and destination.suffix == ".md" and anchor not in anchors_of(destination):
                broken.append(f"{where} no heading #{anchor}")
    assert not broken, "broken links:\n" + "\n".join(broken)
    if path.name == "README.md" and path.parent == PROJECT_ROOT:
        assert checked >= 4  # the README links the reference in several sections


def test_the_reference_names_every_command_and_option():
    from segflow.cli.main import cli

    reference = (PROJECT_ROOT / "docs/reference.md").read_text()
    missing = []
    for name, command in sorted(cli.commands.items()):
        if f"`segflow {name}" not in reference:
            missing.append(f"command {name}")
        for param in command.params:
            for option in param.opts:
                if option.startswith("--") and option != "--help" and option not in reference:
                    missing.append(f"{name} {option}")
    assert not missing, "docs/reference.md does not mention: " + ", ".join(missing)


def test_the_reference_names_every_setting():
    source = (PROJECT_ROOT / "segflow/settings.py").read_text()
    variables = set(re.findall(r"_(?:env|share)\(\s*\"([A-Z_]+)\"", source))
    variables |= set(re.findall(r"environ\.get\(\"([A-Z_]+)\"", source))
    assert {"SEGFLOW_TARGET", "SEGFLOW_TIMEZONE", "PGPASSWORD"} <= variables
    reference = (PROJECT_ROOT / "docs/reference.md").read_text()
    missing = sorted(v for v in variables if f"`{v}`" not in reference)
    assert not missing, "docs/reference.md has no row for: " + ", ".join(missing)


def test_github_anchor():
    assert github_anchor("Bad input") == "bad-input"
    assert (
        github_anchor("customers — one row per customer version (key: `customer_id`, `updated_at`)")
        == "customers--one-row-per-customer-version-key-customer_id-updated_at"
    )
    assert github_anchor("Outputs in the warehouse") == "outputs-in-the-warehouse"
