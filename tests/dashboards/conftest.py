"""The slow part of the Superset tests, paid once per module: a demo with a failed and a
published build, Superset set up in a temporary home (sharing the cached installation), its
server started and the bundle imported."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestration.runner import run_build
from segflow.bi.bifile import refresh_bi_copy
from segflow.bi.bundle import Connection, connection, import_bundle
from segflow.bi.client import SupersetClient
from segflow.bi.environment import Credentials, SupersetEnvironment
from segflow.bi.roles import sync_bi_role
from segflow.demo.generate import generate_demo, late_delivery
from segflow.errors import RunFailed
from segflow.settings import PROJECT_ROOT, Settings
from segflow.sync.demo import demo_dry_run
from tests.conftest import compile_segments, configure_project

CUSTOMERS = 1500  # small, but every chart has rows: a year of hot history, tiers, quarantine


def build_demo(settings: Settings) -> None:
    """The demo retailer, a build that fails its currency check (nothing published), then
    the delivery re-delivered fixed and a build that publishes: Operations shows both."""
    shutil.copytree(PROJECT_ROOT / "segments", settings.segments_dir, dirs_exist_ok=True)
    generated = generate_demo(settings.landing_dir, customers=CUSTOMERS, days=400)
    compile_segments(settings)
    day = generated.until
    late = late_delivery(settings.landing_dir, day)  # as `segflow demo` does
    late.deliver_wrong()
    with pytest.raises(RunFailed, match="currency"):
        run_build(settings, as_of=day)
    late.deliver_fixed()
    run_build(settings, as_of=day)
    # The shipped syncs' dry runs against the platform doubles, as `segflow demo` does them,
    # so the Operations dashboard has sync runs.
    shutil.copytree(PROJECT_ROOT / "syncs", Path.cwd() / "syncs", dirs_exist_ok=True)
    assert demo_dry_run(settings)
    refresh_bi_copy(settings)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    settings: Settings
    conn: Connection
    env: SupersetEnvironment
    url: str
    client: SupersetClient
    root: Path
    seconds: dict[str, float] = field(default_factory=dict)

    def new_client(self, user: str | None = None, password: str | None = None) -> SupersetClient:
        credentials = Credentials(user or "admin", password or "admin", True)
        client = SupersetClient(self.url, credentials if user else Credentials.from_env())
        client.login()
        return client


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    seconds: dict[str, float] = {}
    root = tmp_path_factory.mktemp("dashboards")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("SUPERSET_ADMIN_USER", raising=False)
        mp.delenv("SUPERSET_ADMIN_PASSWORD", raising=False)
        mp.delenv("SEGFLOW_BI_DUCKDB_PATH", raising=False)
        started = time.monotonic()
        settings = configure_project(mp, root / "duckdb", "duckdb")
        build_demo(settings)
        seconds["demo (failed + published build)"] = time.monotonic() - started

        started = time.monotonic()
        env = SupersetEnvironment(home=root / "superset", venv=SupersetEnvironment().venv)
        env.ensure(echo=lambda _line: None)
        seconds["superset install check + init"] = time.monotonic() - started

        started = time.monotonic()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = (root / "superset.log").open("ab")
        server = subprocess.Popen(
            env.server_command(port), env=env.env(), cwd=env.home, stdout=log, stderr=log
        )
        try:
            client = SupersetClient(url, Credentials.from_env())
            client.wait_until_up(process=server)
            client.login()
            seconds["server start"] = time.monotonic() - started
            started = time.monotonic()
            conn = connection(settings)
            import_bundle(client, conn)
            sync_bi_role(env)
            seconds["import + role"] = time.monotonic() - started
            served = Served(settings, conn, env, url, client, root, seconds)
            yield served
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
            report = ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
            print(f"\nSuperset fixture: {report}")
            if os.environ.get("SEGFLOW_TIMINGS"):
                Path(os.environ["SEGFLOW_TIMINGS"]).write_text(report + "\n")
