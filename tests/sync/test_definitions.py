"""Sync files: `file:line key.path: message` problems, the JSON Schema's drift, `validate`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from segflow.cli.main import cli
from segflow.segments.project import load_project
from segflow.settings import PROJECT_ROOT
from segflow.sync.loader import load_syncs
from segflow.sync.schema import SCHEMA_FILE, schema_text

SEGMENTS = load_project(PROJECT_ROOT / "segments")


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "s.yml").write_text(text)
    return [str(p).split("s.yml", 1)[1] for p in load_syncs(tmp_path, SEGMENTS).problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "segment: vip\ndestination: klaviyo\nlist: L\nholdout: 0.1\nmodes: mirror\n",
            ":5 modes: unknown key 'modes' (did you mean 'mode'?)",
        ),
        (
            "segment: vipp\ndestination: klaviyo\nlist: L\n",
            ":1 segment: no segment 'vipp' (did you mean 'vip'?)",
        ),
        (
            "segment: vip\ndestination: hubspot\nlist: L\n",
            ":2 destination: expected one of 'klaviyo' or 'mailchimp', got 'hubspot'",
        ),
        ("segment: vip\ndestination: klaviyo\n", ":1 list: required key missing"),
        (
            "segment: loyalty_status.platinum\ndestination: klaviyo\nlist: L\n",
            ":1 segment: 'loyalty_status' has no tier 'platinum' (gold, silver, bronze)",
        ),
        (
            "segment: vip\ndestination: klaviyo\nlist: L\nfields:\n  first_name: email_opt_in\n",
            ":5 fields.first_name: expected one of",
        ),
        (
            "segment: vip\ndestination: klaviyo\nlist: L\nfields:\n  props.x: country\n",
            ":5 fields.props.x: 'props.x' is no klaviyo field",
        ),
        (
            "segment: vip\ndestination: mailchimp\nlist: L\nfields:\n  fname: first_name\n",
            ":5 fields.fname: 'fname' is no mailchimp field",
        ),
        ("segment: vip\ndestination: klaviyo\nlist: L\nholdout: 1.5\n", ":4 holdout: "),
        (
            "segment: vip\ndestination: klaviyo\nlist: L\nfields:\n  title: tier\n",
            ":5 fields.title: 'vip' has no tiers to send",
        ),
    ],
)
def test_problems_are_one_line_with_file_line_and_key(tmp_path, text, expected):
    found = problems(tmp_path, text)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_the_shipped_syncs_are_valid_and_their_schema_is_current():
    project = load_syncs(PROJECT_ROOT / "syncs", SEGMENTS)
    assert not project.problems
    assert set(project.syncs) == {"vip_klaviyo", "loyalty_gold_mailchimp"}
    committed = (PROJECT_ROOT / "syncs" / SCHEMA_FILE).read_text()
    assert committed == schema_text(), "run `segflow sync schema --write`"
    assert committed.startswith('{"$comment": "generated')


def test_validate_reports_sync_problems(tmp_path, monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)
    (tmp_path / "broken.yml").write_text("segment: vip\ndestination: klaviyo\nlist: L\nx: 1\n")
    monkeypatch.setenv("SEGFLOW_SYNCS", str(tmp_path))
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert "broken.yml:4 x: unknown key 'x'" in result.output
