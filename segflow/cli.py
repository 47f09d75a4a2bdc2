"""The `segflow` command line: a thin click layer over the library (spec/interface.md)."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import date
from pathlib import Path

import click

from segflow.errors import SegflowError, UserInputError
from segflow.settings import PROJECT_ROOT, load_settings


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="segflow")
def cli() -> None:
    """segflow: customer segments as code, built by dbt and Dagster."""


@cli.command()
@click.option("--customers", default=10_000, show_default=True, help="Number of demo customers.")
@click.option("--days", default=730, show_default=True, help="Days of history.")
@click.option("--until", callback=_parse_date, help="Last day of the demo data (default: today).")
@click.option("--force", is_flag=True, help="Replace a landing folder that the demo did not make.")
def demo(customers: int, days: int, until: date | None, force: bool) -> None:
    """Make demo feeds, run the whole pipeline on them and print a summary."""
    from segflow.demo import DEMO_MARKER, generate_demo
    from segflow.pipeline import run_build
    from segflow.summary import summarize
    from segflow.warehouse import Warehouse

    settings = load_settings()
    landing = settings.landing_dir
    foreign = landing.exists() and any(landing.iterdir()) and not (landing / DEMO_MARKER).exists()
    if foreign and not force:
        raise UserInputError(
            f"{landing} holds deliveries that `segflow demo` did not make: point "
            "SEGFLOW_LANDING at another folder, or pass --force to replace them"
        )
    if landing.exists():
        shutil.rmtree(landing)
    with Warehouse(settings) as wh:  # a fresh demo starts from an empty warehouse
        wh.execute("drop schema if exists raw cascade")
        wh.execute(f"drop table if exists {wh.output_schema}.quarantine")
    click.echo(f"Writing demo feeds for {customers:,} customers to {landing} …", err=True)
    generated = generate_demo(landing, customers=customers, days=days, until=until)
    click.echo(
        f"  {sum(generated.files.values())} files, {sum(generated.rows.values()):,} rows "
        f"up to {generated.until}",
        err=True,
    )
    run_build(settings, as_of=generated.until)
    with Warehouse(settings) as wh:
        summary = summarize(wh)
    click.echo("")
    click.echo(f"segflow demo on {settings.target} ({_where(settings)})")
    for line in summary.lines():
        click.echo(f"  {line}")
    click.echo("")
    click.echo("Open the Dagster UI on this project:")
    click.echo(f"  {_dagster_ui_command()}")


@cli.command()
@click.option("--as-of", "as_of", callback=_parse_date, help="Evaluation date D (default: today).")
@click.option(
    "--accept",
    multiple=True,
    metavar="FILE",
    help="Let this re-delivered file remove many rows (feeds.md, 'Bad input').",
)
def build(as_of: date | None, accept: tuple[str, ...]) -> None:
    """Ingest new deliveries and build the models for D, through Dagster."""
    from segflow.pipeline import run_build
    from segflow.summary import summarize
    from segflow.warehouse import Warehouse

    settings = load_settings()
    outcome = run_build(settings, as_of=as_of, accept=accept)
    with Warehouse(settings) as wh:
        summary = summarize(wh)
    click.echo(f"built {len(outcome.materialized)} assets (run {outcome.run_id})")
    for line in summary.lines():
        click.echo(f"  {line}")


def _where(settings) -> str:
    if settings.target == "duckdb":
        return str(_relative(settings.duckdb_path))
    return settings.postgres.describe()


def _relative(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _dagster_ui_command() -> str:
    from segflow.pipeline import ensure_dagster_home

    home = ensure_dagster_home()
    dagster = Path(sys.executable).parent / "dagster"
    return f"cd {PROJECT_ROOT} && DAGSTER_HOME={home} {_relative(dagster)} dev"


def main() -> None:
    """Entry point: errors become one line on standard error and an exit code."""
    try:
        cli.main(standalone_mode=False)
    except SegflowError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:  # usage errors are problems with the user's input
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("SEGFLOW_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        click.echo(
            f"error: unexpected {type(exc).__name__}: {first} "
            "(SEGFLOW_DEBUG=1 shows the traceback)",
            err=True,
        )
        sys.exit(1)
