"""`segflow sync [NAME ...] [--dry-run] [--allow-removals]` and `segflow sync status [NAME]`."""

from __future__ import annotations

import sys

import click

from segflow.errors import UserInputError
from segflow.settings import load_settings


def load_definitions(names: tuple[str, ...] = ()) -> dict:
    from segflow.segments.project import load_project
    from segflow.sync.loader import load_syncs, syncs_dir

    settings = load_settings()
    project = load_syncs(syncs_dir(), load_project(settings.segments_dir))
    if project.problems:
        for problem in project.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    unknown = [n for n in names if n not in project.syncs]
    if unknown:
        raise UserInputError(f"no sync {', '.join(unknown)} in {syncs_dir()}")
    return {n: project.syncs[n] for n in (names or sorted(project.syncs))}


class _SyncGroup(click.Group):
    """`segflow sync NAME ...` runs syncs; `segflow sync status` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and (args[0] in self.commands or args[0] in ("-h", "--help")):
            return super().parse_args(ctx, args)
        ctx.ensure_object(dict)
        return super().parse_args(ctx, ["run", *args])


@click.group("sync", cls=_SyncGroup)
def sync_group() -> None:
    """Keep e-mail platform lists equal to segments' consenting members (syncs/*.yml).

    `segflow sync [NAME ...] [--dry-run] [--allow-removals]` runs syncs (default: all).
    """


@sync_group.command("run", hidden=True)
@click.argument("names", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Print what would be sent; send nothing.")
@click.option("--allow-removals", is_flag=True, help="Go ahead past the max_removals guard.")
def run_command(names: tuple[str, ...], dry_run: bool, allow_removals: bool) -> None:
    from segflow.sync.config import destination_for
    from segflow.sync.run import GuardRefused, describe, run_sync
    from segflow.warehouse import open_warehouse

    definitions = load_definitions(names)
    refused = False
    with open_warehouse(load_settings()) as wh:
        for name, sync in definitions.items():
            dest = destination_for(sync)
            if dest is None and not dry_run:
                click.echo(f"{name}: skipped: {sync.destination} API key not set", err=True)
                continue
            try:
                outcome = run_sync(wh, name, sync, dest, dry_run, allow_removals)
            except GuardRefused as exc:
                click.echo(f"{name}: refused: {exc}", err=True)
                refused = True
                continue
            click.echo(describe(outcome, dest is None))
    if refused:
        sys.exit(1)


@sync_group.command("status")
@click.argument("name", required=False)
def status_command(name: str | None) -> None:
    """The last runs and the contacts' states."""
    from segflow.sync.store import CONTACTS, RUNS, ensure_tables
    from segflow.warehouse import open_warehouse

    with open_warehouse(load_settings()) as wh:
        ensure_tables(wh)
        s = wh.output_schema
        where, params = ("where sync = ?", (name,)) if name else ("", ())
        runs = wh.query(
            f"select sync, started_at, status, adds, updates, removes, erasures, rejected, error "
            f"from {s}.{RUNS} {where} order by started_at desc limit 10",
            params,
        )
        click.echo("last runs:")
        for r in runs:
            tail = f" {r[8]}" if r[8] else ""
            click.echo(
                f"  {r[0]} {r[1]:%Y-%m-%d %H:%M:%S} {r[2]}: +{r[3]} ~{r[4]} -{r[5]} "
                f"erased {r[6]} rejected {r[7]}{tail}"
            )
        states = wh.query(
            f"select sync, status, count(*) from {s}.{CONTACTS} {where} "
            "group by sync, status order by sync, status",
            params,
        )
        click.echo("contacts:")
        for sync, status, count in states:
            click.echo(f"  {sync} {status}: {count}")


@sync_group.command("schema")
@click.option("--write", is_flag=True, help="Write syncs/sync.schema.json.")
@click.option("--check", is_flag=True, help="Fail when the committed schema is stale.")
def schema_command(write: bool, check: bool) -> None:
    """The JSON Schema of sync files (printed, written or checked)."""
    from segflow.sync.loader import syncs_dir
    from segflow.sync.schema import SCHEMA_FILE, schema_is_current, schema_text

    folder = syncs_dir()
    if check:
        if not schema_is_current(folder):
            raise UserInputError(
                f"{folder / SCHEMA_FILE} is stale: run `segflow sync schema --write`"
            )
        click.echo(f"{folder / SCHEMA_FILE} is current")
    elif write:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SCHEMA_FILE).write_text(schema_text(), encoding="utf-8")
        click.echo(f"wrote {folder / SCHEMA_FILE}")
    else:
        click.echo(schema_text(), nl=False)
