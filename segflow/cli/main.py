"""The `segflow` command line: a thin click layer over the library (docs/reference.md)."""

from __future__ import annotations

import csv
import os
import shutil
import sys
from datetime import date
from pathlib import Path

import click

from segflow.cli.options import parse_date as _parse_date
from segflow.errors import RunFailed, SegflowError, UserInputError
from segflow.settings import PROJECT_ROOT, load_settings


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
    from segflow.demo.generate import DEMO_MARKER, generate_demo, late_delivery
    from segflow.evaluation.summary import summarize
    from segflow.history.record import HISTORY_TABLES
    from segflow.publication.publish import reset as reset_publication
    from segflow.warehouse import open_warehouse

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
    with open_warehouse(settings) as wh:  # a fresh demo starts from an empty warehouse
        reset_publication(wh)
        wh.execute("drop schema if exists raw cascade")
        for table in ("quarantine", *HISTORY_TABLES):
            wh.execute(f"drop table if exists {wh.output_schema}.{table}")
    click.echo(f"Writing demo feeds for {customers:,} customers to {landing} …", err=True)
    generated = generate_demo(landing, customers=customers, days=days, until=until)
    click.echo(
        f"  {sum(generated.files.values())} files, {sum(generated.rows.values()):,} rows "
        f"up to {generated.until}",
        err=True,
    )
    # A late delivery in the wrong currency first: the run a blocking check stops, so that the
    # Dagster UI and the Operations dashboard have a failed run next to the published one.
    late = late_delivery(landing, generated.until)
    late.deliver_wrong()
    click.echo(
        f"The demo's late delivery {_relative(late.path)} is in USD on purpose: the first build "
        "stops at its currency check and publishes nothing …",
        err=True,
    )
    try:
        _compile_and_run(settings, generated.until)
    except RunFailed as failed:
        click.echo(f"  as meant: {failed}", err=True)
    late.deliver_fixed()
    click.echo("… re-delivered in EUR; building again:", err=True)
    _compile_and_run(settings, generated.until)
    with open_warehouse(settings) as wh:
        summary = summarize(wh)
    click.echo("")
    click.echo(f"segflow demo on {settings.target} ({_where(settings)})")
    for line in summary.lines():
        click.echo(f"  {line}")
    from segflow.sync.demo import demo_dry_run

    for line in demo_dry_run(settings):
        click.echo(line)
    from segflow.bi.bifile import refresh_bi_copy

    refresh_bi_copy(settings)  # the dry runs on the Operations dashboard too
    click.echo("")
    click.echo("Open the Dagster UI on this project:")
    click.echo(f"  {_dagster_ui_command()}")
    segflow = _relative(Path(sys.executable).parent / "segflow")
    click.echo("Open the dashboards (Superset, set up on first use):")
    click.echo(f"  {segflow} dashboards serve")


@cli.command()
@click.option("--as-of", "as_of", callback=_parse_date, help="Evaluation date D (default: today).")
@click.option(
    "--accept",
    multiple=True,
    metavar="FILE",
    help="Let this re-delivered file remove many rows (feeds.md, 'Bad input').",
)
@click.option(
    "--select",
    "selected",
    multiple=True,
    metavar="NAME",
    help="Publish new tables for these segments (and what they refer to) only; the others "
    "stay as published (`--select a b` or `--select a --select b`).",
)
def build(as_of: date | None, accept: tuple[str, ...], selected: tuple[str, ...]) -> None:
    """Compile the segments, ingest new deliveries and build every model for D, via Dagster."""
    from segflow.evaluation.summary import summarize
    from segflow.publication.publish import published_build
    from segflow.warehouse import open_warehouse

    settings = load_settings()
    outcome = _compile_and_run(settings, as_of, accept, selected)
    with open_warehouse(settings) as wh:
        summary = summarize(wh)
        current = published_build(wh)
    click.echo(f"built {len(outcome.materialized)} assets (run {outcome.run_id})")
    if current is not None and current.run_id != outcome.run_id:
        click.echo(
            f"  the build as of {as_of} recorded that day's history; the publication stays on "
            f"the newer build as of {current.as_of} (readers always see the newest day)"
        )
    for line in summary.lines():
        click.echo(f"  {line}")


def _compile_and_run(
    settings, as_of: date | None, accept: tuple[str, ...] = (), selected: tuple[str, ...] = ()
):
    """Bring the generated models in line with segments/, then run the build job."""
    from orchestration.runner import check_environment, run_build
    from segflow.evaluation.queries import outside_warning, static_outside
    from segflow.segments.compile import compile_project
    from segflow.warehouse import open_warehouse

    check_environment(settings)  # before anything is written
    project = _load_segments(settings)
    for name in selected:
        _resolve(settings, project, name)
    compiled = compile_project(project, settings.segments_dir, settings.dbt_project_dir)
    if compiled.written or compiled.removed:
        click.echo(
            f"compiled segments: {len(compiled.written)} files written, "
            f"{len(compiled.removed)} removed",
            err=True,
        )
    outcome = run_build(settings, as_of=as_of, accept=accept, select=list(selected))
    with open_warehouse(settings) as wh:
        for name, outside in static_outside(wh, project):
            click.echo(outside_warning(name, outside), err=True)
    return outcome


def _load_segments(settings, extra: Path | None = None):
    from segflow.segments.project import load_project

    if not settings.segments_dir.is_dir():
        raise UserInputError(
            f"the segments folder {settings.segments_dir} does not exist: "
            "run segflow in the project folder or set SEGFLOW_SEGMENTS"
        )
    return load_project(settings.segments_dir, extra=extra)


def _project(extra: Path | None = None):
    settings = load_settings()
    return settings, _load_segments(settings, extra)


def _problems_in(problems: list, paths: tuple[Path, ...]) -> list:
    """The problems found in the given files (problems name files relative to the cwd)."""
    wanted = {p.resolve() for p in paths}
    return [p for p in dict.fromkeys(problems) if (Path.cwd() / p.file).resolve() in wanted]


def _resolve(settings, project, name_or_file: str) -> str:
    """A segment name, or the name of a file given by path."""
    name = Path(name_or_file).stem if name_or_file.endswith((".yml", ".yaml")) else name_or_file
    if name not in project.segments:
        known = ", ".join(sorted(project.segments)) or "none"
        raise UserInputError(
            f"unknown segment {name!r} (segments in {_relative(settings.segments_dir)}: {known})"
        )
    return name


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check segment files (all of SEGFLOW_SEGMENTS by default): file:line key.path: message."""
    from segflow.segments.project import load_project

    settings = load_settings()
    project = _load_segments(settings)
    problems = list(project.problems)
    files = list(project.segments.values())
    for path in paths:
        if not path.exists():
            raise UserInputError(f"{path}: no such file")
        if path.resolve().parent != settings.segments_dir:
            # A file outside the folder is checked within the project, as if it were in it.
            with_it = load_project(settings.segments_dir, extra=path)
            problems += with_it.problems
            files += [f for f in with_it.segments.values() if f.path == path]
    if not paths:  # syncs/*.yml too (activation)
        from segflow.sync.loader import sync_problems

        problems += sync_problems(project)
    if paths:
        problems = _problems_in(problems, paths)
        wanted = {p.resolve() for p in paths}
        files = [f for f in files if f.path.resolve() in wanted]
    for problem in dict.fromkeys(problems):
        click.echo(str(problem), err=True)
    _warn_about_values(settings, files)
    if problems:
        sys.exit(1)
    count = len(paths) if paths else len(project.segments)
    click.echo(f"{count} segment file{'s' if count != 1 else ''} valid")


_MONEY = frozenset({"revenue", "avg_order_value", "rest_revenue", "rest_avg_order_value"})


def _stats_csv_value(column: str, value):
    """One format on every engine: shares to 4 decimals, money to cents, counts as integers
    (PostgreSQL's numerics would print `0E-20` and twenty decimals)."""
    from decimal import ROUND_HALF_UP, Decimal

    if value is None:
        return ""
    if column == "share":
        return str(Decimal(str(value)).quantize(Decimal("0.0001"), ROUND_HALF_UP))
    if column in _MONEY:
        return str(Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP))
    if column == "as_of":
        return value.isoformat()
    return int(value) if isinstance(value, int | float) or hasattr(value, "quantize") else value


def _warn_about_values(settings, files: list) -> None:
    """Warnings for compared values the warehouse never holds (likely typos); never fatal."""
    from segflow.evaluation.vocabulary import check_values

    checked = check_values(settings, files)
    for warning in checked.warnings:
        click.echo(str(warning), err=True)
    if checked.unchecked and files:
        click.echo(f"note: {checked.unchecked}", err=True)


@cli.command("compile")
@click.option("--check", is_flag=True, help="Fail if the committed generated models are stale.")
def compile_command(check: bool) -> None:
    """Write the dbt models for the segments (dbt_project/models/segments/)."""
    from segflow.segments.compile import compile_project

    settings, project = _project()
    result = compile_project(project, settings.segments_dir, settings.dbt_project_dir, check=check)
    if check:
        click.echo(f"generated models are up to date ({result.unchanged} files)")
    else:
        click.echo(
            f"{len(result.written)} files written, {len(result.removed)} removed, "
            f"{result.unchanged} unchanged"
        )


@cli.command()
@click.argument("segment")
@click.option("--as-of", "as_of", callback=_parse_date, help="Evaluation date D (default: today).")
def preview(segment: str, as_of: date | None) -> None:
    """Quick count of a saved or unsaved definition: members, share, revenue; builds nothing."""
    from segflow.evaluation.queries import outside_warning
    from segflow.evaluation.queries import preview as run_preview
    from segflow.warehouse import open_warehouse

    path = Path(segment)
    extra = path if segment.endswith((".yml", ".yaml")) and path.exists() else None
    settings, project = _project(extra)
    if extra is not None:
        project.problems = _problems_in(project.problems, (extra,)) or project.problems
    project.raise_for_problems()
    name = _resolve(settings, project, segment)
    day = as_of or settings.today()
    with open_warehouse(settings, read_only=True) as wh:
        result = run_preview(wh, project, name, day)
    click.echo(f"{name} as of {day} (preview)")
    share = f"({result.share:.1%} of {result.population:,})"
    click.echo(f"  members     {result.members:>12,}  {share}")
    click.echo(f"  revenue     {result.revenue:>12,.2f}  (members' sales up to {day})")
    for tier, count in result.tiers:
        click.echo(f"  tier {tier:<12} {count:>7,}")
    _warn_about_values(settings, [project.segments[name]])
    if result.static_outside:
        click.echo(outside_warning(name, result.static_outside), err=True)


@cli.command()
@click.argument("segment")
@click.option(
    "--as-of", "as_of", callback=_parse_date, help="Evaluation date D (default: the latest build)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json", "text"]), default="text", show_default=True
)
def members(segment: str, as_of: date | None, fmt: str) -> None:
    """The member customer_ids (with tier) of the latest build, or of D."""
    import json

    from segflow.evaluation.queries import members as read_members
    from segflow.warehouse import open_warehouse

    settings, project = _project()
    project.raise_for_problems()
    name = _resolve(settings, project, segment)
    tiered = project.definition(name).kind == "tiered"
    with open_warehouse(settings, read_only=True) as wh:
        day, rows = read_members(wh, project, name, as_of)
    if fmt == "json":
        items = [{"customer_id": c, **({"tier": t} if tiered else {})} for c, t in rows]
        click.echo(json.dumps({"segment": name, "as_of": day.isoformat(), "members": items}))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["customer_id", "tier"] if tiered else ["customer_id"])
        writer.writerows([c, t] if tiered else [c] for c, t in rows)
    else:
        for customer, tier in rows:
            click.echo(f"{customer}\t{tier}" if tiered else customer)
        click.echo(f"{len(rows):,} members of {name} as of {day}", err=True)


@cli.command()
@click.argument("segment")
@click.option("--customer", required=True, help="The customer_id to explain.")
@click.option("--as-of", "as_of", callback=_parse_date, help="Evaluation date D (default: today).")
def explain(segment: str, customer: str, as_of: date | None) -> None:
    """Which conditions held for one customer, leaf by leaf."""
    from segflow.evaluation.queries import explain as run_explain
    from segflow.warehouse import open_warehouse

    settings, project = _project()
    project.raise_for_problems()
    name = _resolve(settings, project, segment)
    day = as_of or settings.today()
    with open_warehouse(settings, read_only=True) as wh:
        headline, lines = run_explain(wh, project, name, customer, day)
    click.echo(headline)
    for line in lines:
        if line.held is None:  # a section: rules, a tier, exclude
            click.echo(f"{'  ' * line.depth}{line.text}")
            continue
        mark = "✓" if line.held else "✗"
        value = (
            f"   (value: {'missing' if line.value is None else line.value})"
            if line.show_value
            else ""
        )
        click.echo(f"{'  ' * line.depth}{mark} {line.text}{value}")


@cli.command()
@click.argument("segments", nargs=-1)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "csv"]), default="text", show_default=True
)
def stats(segments: tuple[str, ...], fmt: str) -> None:
    """The per-segment stats of the latest build (members, share, orders, revenue, AOV)."""
    import csv

    from segflow.evaluation.queries import read_stats
    from segflow.warehouse import open_warehouse

    settings, project = _project()
    with open_warehouse(settings, read_only=True) as wh:
        columns, rows, stale = read_stats(wh, project, list(segments))
    if stale:
        click.echo(
            f"warning: not built with their current definition (run `segflow build`): "
            f"{', '.join(stale)}",
            err=True,
        )
    if fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(
            [_stats_csv_value(c, v) for c, v in zip(columns, row, strict=True)] for row in rows
        )
        return
    click.echo(
        f"{'segment':<24}{'members':>10}{'share':>8}{'orders':>9}{'revenue':>14}"
        f"{'AOV':>9}{'rest AOV':>10}"
    )
    for row in rows:
        item = dict(zip(columns, row, strict=True))

        def money(value) -> str:
            return "-" if value is None else f"{value:,.2f}"

        click.echo(
            f"{item['segment']:<24}{item['members']:>10,}{item['share']:>8.1%}"
            f"{item['orders']:>9,}{money(item['revenue']):>14}"
            f"{money(item['avg_order_value']):>9}{money(item['rest_avg_order_value']):>10}"
        )
    if rows:
        click.echo(f"as of {rows[0][1]}, population {rows[0][3]:,}", err=True)


@cli.command()
@click.option(
    "--from", "first", callback=_parse_date, required=True, help="First day (YYYY-MM-DD)."
)
@click.option("--to", "last", callback=_parse_date, required=True, help="Last day (YYYY-MM-DD).")
@click.option(
    "--select",
    "selected",
    multiple=True,
    metavar="NAME",
    help="Record only these segments (`--select a b` or `--select a --select b`; default: "
    "every segment).",
)
def backfill(first: date, last: date, selected: tuple[str, ...]) -> None:
    """Record segment history for past days by as-of evaluation, in one run."""
    import time

    from orchestration.runner import run_history

    settings, project = _project()
    for name in selected:
        _resolve(settings, project, name)
    started = time.perf_counter()
    outcome = run_history(settings, first, last, list(selected) or None)
    days = (last - first).days + 1
    what = ", ".join(selected) if selected else f"all {len(project.segments)} segments"
    click.echo(
        f"recorded {days} day(s) {first} to {last} of {what} in "
        f"{time.perf_counter() - started:.1f} s (run {outcome.run_id})"
    )


@cli.command()
@click.argument("segment")
@click.option(
    "--format", "fmt", type=click.Choice(["chart", "csv"]), default="chart", show_default=True
)
def history(segment: str, fmt: str) -> None:
    """A hot segment's daily history: members, revenue, orders, entered, exited."""
    from segflow.cli.chart import bar_chart
    from segflow.evaluation.recorded import read_history
    from segflow.warehouse import open_warehouse

    settings, project = _project()
    name = _resolve(settings, project, segment)
    with open_warehouse(settings, read_only=True) as wh:
        rows = read_history(wh, project, name)
    if fmt == "csv":
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["day", "members", "revenue", "orders", "entered", "exited"])
        for r in rows:
            out.writerow([r.day.isoformat(), r.members, r.revenue, r.orders, r.entered, r.exited])
        return
    if not rows:
        raise UserInputError(
            f"segment {name!r} has no history yet: run `segflow build`, or "
            f"`segflow backfill --from D1 --to D2 --select {name}`"
        )
    click.echo(f"{name}: members per day, {rows[0].day} to {rows[-1].day} ({len(rows)} days)")
    for line in bar_chart([r.day for r in rows], [r.members for r in rows]):
        click.echo(line)
    latest = rows[-1]
    week = rows[-7:]
    click.echo(
        f"{latest.day}: {latest.members:,} members, +{latest.entered:,} entered, "
        f"-{latest.exited:,} exited, {latest.orders:,} orders, revenue {latest.revenue:,.2f}"
    )
    click.echo(
        f"last {len(week)} days: +{sum(r.entered for r in week):,} entered, "
        f"-{sum(r.exited for r in week):,} exited, {sum(r.orders for r in week):,} orders, "
        f"revenue {sum(r.revenue for r in week):,.2f}"
    )
    missing = (rows[-1].day - rows[0].day).days + 1 - len(rows)
    if missing:
        click.echo(f"{missing} day(s) in this range are not recorded: see `segflow backfill`")


@cli.command()
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="Write to this file instead of standard output.",
)
def schema(output: Path | None) -> None:
    """A JSON Schema of segment files, for editors (yaml-language-server)."""
    from segflow.segments.schema import schema_text

    text = schema_text()
    if output:
        output.write_text(text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


def _where(settings) -> str:
    from segflow.warehouse import engine_class

    where = engine_class(settings.target).describe_settings(settings)
    return str(_relative(Path(where))) if Path(where).is_absolute() else where


def _relative(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _dagster_ui_command() -> str:
    from orchestration.runner import ensure_dagster_home

    home = ensure_dagster_home()
    dagster = Path(sys.executable).parent / "dagster"
    return f"cd {PROJECT_ROOT} && DAGSTER_HOME={home} {_relative(dagster)} dev"


# Options that take one or more values, as dbt users type them: `--select a b` is read as
# `--select a --select b` (click options take one value per flag).
MULTI_VALUE_OPTIONS = ("--select",)


def expand_multi_value_options(args: list[str]) -> list[str]:
    """`--select a b --as-of D` -> `--select a --select b --as-of D`."""
    out: list[str] = []
    current: str | None = None
    for arg in args:
        if arg in MULTI_VALUE_OPTIONS:
            current = arg
            out.append(arg)
            continue
        if arg.startswith("-"):
            current = None
        elif current is not None and out[-1] != current:
            out.append(current)
        out.append(arg)
    return out


from segflow.cli.review import diff as _diff_command  # noqa: E402
from segflow.cli.review import test_command as _test_command  # noqa: E402

cli.add_command(_diff_command)
cli.add_command(_test_command)
from segflow.cli.sync import sync_group  # noqa: E402 - registered last, its own module

cli.add_command(sync_group)
from segflow.cli.dashboards import dashboards  # noqa: E402 - the command group lives with its concern

cli.add_command(dashboards)


def main() -> None:
    """Entry point: errors become one line on standard error and an exit code."""
    try:
        cli.main(args=expand_multi_value_options(sys.argv[1:]), standalone_mode=False)
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
