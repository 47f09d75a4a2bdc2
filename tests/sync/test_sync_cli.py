"""`segflow sync` and `segflow sync status` as a user runs them, against the Klaviyo double."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.warehouse import open_warehouse
from tests.sync.helpers import people, publish


@pytest.fixture
def setup(project, tmp_path, monkeypatch, double):
    syncs = tmp_path / "syncs"
    syncs.mkdir()
    (project.segments_dir / "vip.yml").write_text("title: VIP\nrules:\n  metric: orders\n  gt: 1\n")
    (syncs / "vip_klaviyo.yml").write_text(
        "segment: vip\ndestination: klaviyo\nlist: VIP\nfields:\n  first_name: first_name\n"
    )
    monkeypatch.setenv("SEGFLOW_SYNCS", str(syncs))
    with open_warehouse(project) as wh:
        publish(wh, people(12))
    return project


def test_dry_run_then_sync_then_status_then_guard(setup, double, monkeypatch):
    runner = CliRunner()
    offline = runner.invoke(cli, ["sync", "--dry-run"])
    assert offline.exit_code == 0, offline.output
    assert (
        "vip_klaviyo: dry run (against the sync's records: no API key): 12 adds" in offline.output
    )
    assert "add: C00000, C00001, C00002, C00003, C00004 ..." in offline.output

    monkeypatch.setenv("KLAVIYO_API_KEY", double.api_key)
    monkeypatch.setenv("KLAVIYO_BASE_URL", double.base)
    synced = runner.invoke(cli, ["sync", "vip_klaviyo"])
    assert synced.exit_code == 0, synced.output
    assert "vip_klaviyo: synced: 12 adds, 0 updates, 0 removes" in synced.output
    assert len(double.emails("VIP")) == 12

    status = runner.invoke(cli, ["sync", "status", "vip_klaviyo"])
    assert status.exit_code == 0
    assert "vip_klaviyo synced: 12" in status.output and " ok: +12 " in status.output

    with open_warehouse(setup) as wh:
        publish(wh, people(12, member=False))
    refused = runner.invoke(cli, ["sync"])
    assert refused.exit_code == 1
    assert "12 removals of a list of 12 exceed max_removals 0.25" in refused.output
    assert len(double.emails("VIP")) == 12
    allowed = runner.invoke(cli, ["sync", "--allow-removals"])
    assert allowed.exit_code == 0 and double.emails("VIP") == set()


def test_an_unknown_sync_is_one_line(setup):
    result = CliRunner().invoke(cli, ["sync", "nope"])
    assert result.exit_code == 1
    assert "no sync nope" in str(result.exception)
