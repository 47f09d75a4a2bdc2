"""`segflow dashboards serve | import | export` (spec: dashboards, "How it runs")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import click

from segflow.errors import SettingsError

DEFAULT_URL = "http://127.0.0.1:8088"


@click.group()
def dashboards() -> None:
    """Superset dashboards as code: serve them, import the bundle, export changes."""


def _settings_and_connection():
    from segflow.bi.bundle import connection
    from segflow.settings import load_settings

    settings = load_settings()
    return settings, connection(settings)


def _ensure_bi_file(settings) -> None:
    """On the embedded warehouse Superset reads the BI copy: make it if a build was published
    before the copy existed (the nightly run keeps it fresh afterwards)."""
    from segflow.bi.bifile import bi_duckdb_path, needs_bi_copy, publish_bi_file
    from segflow.warehouse import open_warehouse

    target = bi_duckdb_path(settings)
    if not needs_bi_copy(settings) or target.exists():
        return
    if not settings.duckdb_path.exists():
        raise SettingsError(
            f"no warehouse at {settings.duckdb_path}: run `segflow demo` or `segflow build` first"
        )
    with open_warehouse(settings) as wh:
        publish_bi_file(wh, target)
    click.echo(f"Wrote the BI copy of the warehouse: {target}")


def _client(url: str):
    from segflow.bi.client import SupersetClient
    from segflow.bi.environment import Credentials

    client = SupersetClient(url, Credentials.from_env())
    client.login()
    return client


@dashboards.command()
@click.option("--port", default=8088, show_default=True, help="Port on 127.0.0.1.")
def serve(port: int) -> None:
    """Set up Superset on first use, import the dashboards and serve them on 127.0.0.1."""
    from segflow.bi.bundle import import_bundle
    from segflow.bi.client import SupersetClient
    from segflow.bi.environment import Credentials, SupersetEnvironment
    from segflow.bi.roles import sync_bi_role

    settings, conn = _settings_and_connection()
    _ensure_bi_file(settings)
    env = SupersetEnvironment()
    env.ensure(echo=click.echo)
    credentials = Credentials.from_env()
    url = f"http://127.0.0.1:{port}"
    log = env.home / "server.log"
    click.echo(f"Starting Superset on {url} (its log: {log}) …")
    with log.open("ab") as out:
        server = subprocess.Popen(
            env.server_command(port), env=env.env(), cwd=env.home, stdout=out, stderr=out
        )
    # Stopped by Ctrl-C or a SIGTERM alike: the server is stopped with us (finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        client = SupersetClient(url, credentials)
        client.wait_until_up(process=server)
        client.login()
        charts = import_bundle(client, conn)
        sync_bi_role(env)
        click.echo(f"Imported the dashboards ({charts} charts) reading {conn.describe()}")
        login = f"{credentials.user} / {credentials.password}"
        if not credentials.from_environment:
            login += " (local defaults; set SUPERSET_ADMIN_USER and SUPERSET_ADMIN_PASSWORD)"
        click.echo(f"Open {url} and log in as {login}. Ctrl-C stops Superset.")
        server.wait()
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


@dashboards.command("import")
def import_command() -> None:
    """Import the bundle into the Superset at SUPERSET_URL (idempotent)."""
    from segflow.bi.bundle import import_bundle

    url = os.environ.get("SUPERSET_URL", "").strip() or DEFAULT_URL
    _settings, conn = _settings_and_connection()
    charts = import_bundle(_client(url), conn)
    click.echo(f"Imported the dashboards ({charts} charts) into {url}, reading {conn.describe()}")


@dashboards.command("export")
def export_command() -> None:
    """Write the dashboards of the Superset at SUPERSET_URL back into dashboards/."""
    from segflow.bi.bundle import BUNDLE_DIR, export_bundle

    url = os.environ.get("SUPERSET_URL", "").strip() or DEFAULT_URL
    counts = export_bundle(_client(url))
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    click.echo(f"Exported {summary} from {url} into {BUNDLE_DIR}: review and commit the diff")
