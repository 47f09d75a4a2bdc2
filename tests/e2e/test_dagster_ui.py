"""`dagster dev` serves the project's asset graph (the command the demo prints)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from segflow.settings import PROJECT_ROOT

QUERY = "{ assetNodes { assetKey { path } isPartitioned } }"
AUTOMATION = """{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
  ... on RepositoryLocation { repositories { name
    schedules { name cronSchedule executionTimezone scheduleState { status } }
    sensors { name } } } } } } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dagster_dev_serves_the_asset_graph(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "SEGFLOW_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
    }
    dagster = Path(sys.executable).parent / "dagster"
    server = subprocess.Popen(
        [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        nodes = _wait_for_assets(port, server, deadline=time.monotonic() + 150)
        automation = _graphql(port, AUTOMATION)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    paths = {tuple(n["assetKey"]["path"]): n["isPartitioned"] for n in nodes}
    assert paths[("raw", "customers")] is False
    assert ("dim_population",) in paths
    assert paths[("hot_segment_history",)] is True  # the daily partitions the UI backfills
    assert paths[("segment_events",)] is True
    (entry,) = automation["workspaceOrError"]["locationEntries"]
    (repo,) = entry["locationOrLoadError"]["repositories"]
    (nightly,) = repo["schedules"]
    assert (nightly["name"], nightly["cronSchedule"]) == ("nightly", "0 2 * * *")
    assert nightly["scheduleState"]["status"] == "RUNNING"
    assert [s["name"] for s in repo["sensors"]] == ["new_deliveries"]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def _wait_for_assets(port: int, server: subprocess.Popen, deadline: float) -> list[dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    while time.monotonic() < deadline:
        assert server.poll() is None, "dagster dev exited early"
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                nodes = json.load(response)["data"]["assetNodes"]
                if nodes:
                    return nodes
        except (OSError, KeyError, TypeError):
            pass
        time.sleep(2)
    pytest.fail("dagster dev did not serve the asset graph in time")
