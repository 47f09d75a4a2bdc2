"""`dagster dev` serves the project's asset graph (the command the demo prints), and shows
the result of a failed run's quality checks: the failing expectation and its sample rows."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from orchestration.runner import run_build
from segflow.errors import RunFailed
from segflow.settings import PROJECT_ROOT
from tests.conftest import compile_segments, configure_project
from tests.feedfiles import TRANSACTION_HEADER, deliver

QUERY = "{ assetNodes { assetKey { path } isPartitioned } }"
AUTOMATION = """{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError {
  ... on RepositoryLocation { repositories { name
    schedules { name cronSchedule executionTimezone scheduleState { status } }
    sensors { name } } } } } } } }"""
CHECKS = """{ assetNodes(assetKeys: [{path: ["staging", "stg_transactions"]}]) {
  assetChecksOrError { ... on AssetChecks { checks { name blocking
    executionForLatestMaterialization { status evaluation { success severity description
      metadataEntries { label ... on MarkdownMetadataEntry { mdStr }
        ... on JsonMetadataEntry { jsonString } } } } } } } } }"""

# The runs listed under Jobs -> build -> Runs in the UI (the job of the code location).
JOB_RUNS = """{ pipelineOrError(params: {pipelineName: "build", repositoryName: "__repository__",
  repositoryLocationName: "segflow"}) { ... on Pipeline { runs { runId status } } } }"""
SEGMENT_ASSET = """{ assetNodes(assetKeys: [{path: ["seg_buyers"]}]) { groupName
  owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
  tags { key value } } }"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _failed_build(tmp_path: Path, monkeypatch) -> None:
    """A project on DuckDB whose build was stopped by a blocking check: a sale dated 2099."""
    settings = configure_project(monkeypatch, tmp_path, "duckdb")
    landing = settings.landing_dir
    deliver(
        landing,
        "customers",
        "2026-03-01.csv",
        ["customer_id", "signup_date", "updated_at"],
        [[k, "2026-01-01", "2026-01-01 10:00"] for k in ("K1", "K2")],
    )
    deliver(landing, "products", "2026-03-01.csv", ["product_id"], [["P1"]])
    deliver(
        landing,
        "transactions",
        "2026-03-09.csv",
        TRANSACTION_HEADER,
        [
            ["T1", "1", "K1", "2026-03-05 12:00", "P1", "1", "10.00", ""],
            ["T2", "1", "K2", "2099-03-05 12:00", "P1", "1", "12.00", ""],
        ],
    )
    (settings.segments_dir / "buyers.yml").write_text(
        "title: Buyers\nowner: crm-team\ntags: [loyalty]\nrules: {metric: orders, gte: 1}\n"
    )
    compile_segments(settings)
    with pytest.raises(RunFailed, match="gx_transactions"):
        run_build(settings, as_of=date(2026, 3, 10))


@pytest.mark.slow
def test_dagster_dev_serves_the_asset_graph_and_the_checks(tmp_path, monkeypatch):
    _failed_build(tmp_path, monkeypatch)  # into the DAGSTER_HOME the server then reads
    port = _free_port()
    dagster = Path(sys.executable).parent / "dagster"
    server = subprocess.Popen(
        [str(dagster), "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        nodes = _wait_for_assets(port, server, deadline=time.monotonic() + 150)
        automation = _graphql(port, AUTOMATION)
        (stg_transactions,) = _graphql(port, CHECKS)["assetNodes"]
        job_runs = _graphql(port, JOB_RUNS)["pipelineOrError"]["runs"]
        (segment,) = _graphql(port, SEGMENT_ASSET)["assetNodes"]
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

    # The CLI's run is a run of the job the UI shows (listed under Jobs -> build -> Runs).
    assert [r["status"] for r in job_runs] == ["FAILURE"]
    # The segment's owner and tags from its YAML are the asset's owner and tags.
    assert segment["groupName"] == "segments"
    assert segment["owners"] == [{"team": "crm-team"}]
    assert {t["key"] for t in segment["tags"]} >= {"loyalty"}

    checks = {c["name"]: c for c in stg_transactions["assetChecksOrError"]["checks"]}
    assert checks["gx_transactions"]["blocking"] is True
    execution = checks["gx_transactions"]["executionForLatestMaterialization"]
    assert execution["status"] == "FAILED"
    evaluation = execution["evaluation"]
    assert (evaluation["success"], evaluation["severity"]) == (False, "ERROR")
    metadata = {m["label"]: m for m in evaluation["metadataEntries"]}
    (failed,) = json.loads(metadata["failed_expectations"]["jsonString"])
    assert failed["expectation"].startswith("sale dates in a sane range")
    assert failed["unexpected_rows"] == 1
    assert [row["transaction_id"] for row in failed["sample_rows"]] == ["T2"]
    summary = metadata["summary"]["mdStr"]
    assert "| sale dates in a sane range" in summary and "1 unexpected row" in summary
    assert "Sample rows for *sale dates in a sane range" in summary


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
