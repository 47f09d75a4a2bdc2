"""`segflow diff` and `segflow test`: the reviewer's and the author's commands."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from segflow.cli.options import parse_date as _parse_date
from segflow.settings import load_settings
from segflow.warehouse import engine_class


def _where(settings) -> str:
    where = engine_class(settings.target).describe_settings(settings)
    return f"{settings.target} ({Path(where).name if Path(where).is_absolute() else where})"


@click.command()
@click.option("--base", required=True, metavar="GIT_REF", help="Compare with this git ref.")
@click.option(
    "--as-of",
    "as_of",
    callback=_parse_date,
    help="Evaluation date D (default: the date of the published build).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
)
def diff(base: str, as_of: date | None, fmt: str) -> None:
    """What a change to the segments does to the members, against a git ref; builds nothing."""
    from segflow.review.diff import compute
    from segflow.review.render import RENDERERS
    from segflow.warehouse import open_warehouse

    settings = load_settings()
    with open_warehouse(settings, read_only=True) as wh:
        result = compute(wh, settings, base, as_of, _where(settings))
    click.echo(RENDERERS[fmt](result), nl=False)


@click.command("test")
@click.argument("names", nargs=-1)
def test_command(names: tuple[str, ...]) -> None:
    """Run the segment tests in segments/tests/ (all, or those of the named segments)."""
    from segflow.review.tests import run_tests

    settings = load_settings()
    report = run_tests(settings, list(names))
    for problem in report.problems:  # bad input: one line each on standard error
        click.echo(str(problem), err=True)
    for line in report.result_lines():
        click.echo(line)
    if not report.ok:
        sys.exit(1)
