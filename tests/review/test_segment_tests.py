"""`segflow test`: fixtures checked against the feed contract, the build's meaning on an
in-memory DuckDB, failures with missing/unexpected members and explain's reasons."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from segflow.errors import UserInputError
from segflow.review.tests import run_tests
from segflow.settings import PROJECT_ROOT
from tests.conftest import ENV_VARS, configure_project
from tests.segments.fixture_data import (
    ATTRIBUTES,
    CUSTOMERS,
    EVENTS,
    PRODUCTS,
    SEGMENTS,
    TRANSACTIONS,
    D,
    write_segments,
)

SEGFLOW = str(Path(sys.executable).parent / "segflow")


@pytest.fixture
def settings(tmp_path, monkeypatch):
    settings = configure_project(monkeypatch, tmp_path, "duckdb")
    (settings.segments_dir / "tests").mkdir()
    return settings


def write_test(settings, name: str, text: str) -> Path:
    path = settings.segments_dir / "tests" / f"{name}.yml"
    path.write_text(text)
    return path


def _rows(feed: tuple[list[str], list[list[str]]]) -> list[dict[str, str]]:
    header, rows = feed
    return [{h: v for h, v in zip(header, row, strict=True) if v != ""} for row in rows]


def test_every_construct_means_what_the_build_means(settings):
    """The hand-made retailer of tests/segments/ (whose members were worked out by hand and
    are checked there against a dbt build on both engines) as fixtures: every construct of
    the language gives the same members through `segflow test`."""
    write_segments(settings.segments_dir)
    given = {
        "customers": _rows(CUSTOMERS),
        "products": _rows(PRODUCTS),
        "transactions": _rows(TRANSACTIONS),
        "events": _rows(EVENTS),
        "customer_attributes": _rows(ATTRIBUTES),
    }
    for name, (_, members) in SEGMENTS.items():
        expect = dict(members) if isinstance(members, dict) else sorted(members)
        # JSON is YAML: the fixture rows exactly as fixture_data delivers them
        test = {"segment": name, "as_of": D.isoformat(), "given": given, "expect": {}}
        test["expect"] = {"members": expect}
        write_test(settings, name, json.dumps(test, indent=1))
    report = run_tests(settings, [])
    failures = [line for line in report.lines() if not line.startswith("PASS")]
    assert report.ok, "\n".join(failures)
    assert len(report.outcomes) == len(SEGMENTS)


VIP = "title: VIP\nrules: {all: [{metric: orders, gt: 1}, {metric: revenue, gt: 100}]}\n"
VIP += "exclude: {segment: staff}\n"
STAFF = "title: Staff\nrules: {profile: is_employee, eq: true}\n"
VIP_TEST = """\
segment: vip
as_of: 2026-06-30
given:
  customers:
    - {customer_id: A, signup_date: 2024-01-01}
    - {customer_id: B, signup_date: 2024-01-01, is_employee: true}
    - {customer_id: C, signup_date: 2024-01-01}
  transactions:
    - {customer_id: A, transaction_id: T1, occurred_at: 2026-06-01T10:00, product_id: P1, quantity: 1, amount: 60}
    - {customer_id: A, transaction_id: T2, occurred_at: 2026-06-02T10:00, product_id: P1, quantity: 1, amount: 60}
    - {customer_id: B, transaction_id: T3, occurred_at: 2026-06-01T10:00, product_id: P1, quantity: 1, amount: 60}
    - {customer_id: B, transaction_id: T4, occurred_at: 2026-06-02T10:00, product_id: P1, quantity: 1, amount: 60}
    - {customer_id: C, transaction_id: T5, occurred_at: 2026-06-01T10:00, product_id: P1, quantity: 1, amount: 200}
expect:
  members: MEMBERS
"""


def test_pass_and_references_evaluated_from_the_same_fixtures(settings):
    (settings.segments_dir / "vip.yml").write_text(VIP)
    (settings.segments_dir / "staff.yml").write_text(STAFF)
    write_test(settings, "vip", VIP_TEST.replace("MEMBERS", "[A]"))  # B is staff, C 1 order
    report = run_tests(settings, [])
    assert report.ok
    assert report.lines()[0] == "PASS vip (segments/tests/vip.yml)"
    assert report.lines()[-1].startswith("1 passed, 0 failed in ")


def test_failure_names_missing_and_unexpected_members_with_reasons(settings):
    (settings.segments_dir / "vip.yml").write_text(VIP)
    (settings.segments_dir / "staff.yml").write_text(STAFF)
    write_test(settings, "vip", VIP_TEST.replace("MEMBERS", "[B, C]"))
    report = run_tests(settings, ["vip"])
    assert not report.ok
    text = "\n".join(report.lines())
    assert "FAIL vip (segments/tests/vip.yml), as of 2026-06-30" in text
    assert "  missing (expected, not a member): B, C" in text
    assert "  unexpected (a member, not expected): A" in text
    assert "B is not a member of vip on 2026-06-30" in text
    assert "✓ segment staff" in text  # B's reason: excluded as staff
    assert "✗ metric orders gt 1   (value: 1)" in text  # C's reason: one order
    assert report.lines()[-1].startswith("0 passed, 1 failed")


def test_tiers(settings):
    (settings.segments_dir / "status.yml").write_text(
        "title: Status\nkind: tiered\ntiers:\n"
        "  - {name: gold, when: {metric: revenue, gte: 100}}\n"
        "  - {name: silver, when: {metric: revenue, gte: 10}}\n"
    )
    body = (
        "segment: status\nas_of: 2026-06-30\ngiven:\n  customers:\n"
        "    - {customer_id: A, signup_date: 2024-01-01}\n"
        "    - {customer_id: B, signup_date: 2024-01-01}\n"
        "  transactions:\n"
        "    - {customer_id: A, transaction_id: T1, occurred_at: 2026-06-01, product_id: P,"
        " quantity: 1, amount: 100}\n"
        "    - {customer_id: B, transaction_id: T2, occurred_at: 2026-06-01, product_id: P,"
        " quantity: 1, amount: 99.99}\n"
        "expect:\n  members: MEMBERS\n"
    )
    write_test(settings, "status", body.replace("MEMBERS", "{A: gold, B: silver}"))
    assert run_tests(settings, []).ok
    write_test(settings, "status", body.replace("MEMBERS", "{A: gold, B: gold}"))
    report = run_tests(settings, [])
    assert "  B: expected tier gold, is in tier silver" in report.lines()
    write_test(settings, "status", body.replace("MEMBERS", "[A, B]"))  # a list: any tier
    assert run_tests(settings, []).ok


def test_fixtures_are_checked_against_the_feed_contract(settings):
    (settings.segments_dir / "vip.yml").write_text(VIP)
    (settings.segments_dir / "staff.yml").write_text(STAFF)
    write_test(
        settings,
        "vip",
        """\
segment: vip
as_of: 2026-06-31
given:
  customer:
    - {customer_id: A}
  customers:
    - {customer_id: A}
    - {customer_id: B, signup_date: 2024-01-01, app_usr: true, app_user: maybe}
    - {customer_id: C, signup_date: 2024-01-01}
    - {customer_id: C, signup_date: 2024-01-01, email: c@example.com}
  transactions:
    - {customer_id: A, transaction_id: T1, occurred_at: 2026-06-01 25:00, product_id: P1, quantity: 1.5, amount: 10}
    - {customer_id: A, transaction_id: T1, product_id: P1, quantity: 1, amount: ten}
expect:
  members: {A: gold}
  member: [A]
""",
    )
    report = run_tests(settings, [])
    assert not report.ok and report.outcomes == []
    assert [str(p) for p in report.problems] == [
        "segments/tests/vip.yml:2 as_of: '2026-06-31' is not a valid calendar date",
        "segments/tests/vip.yml:4 given.customer: unknown feed 'customer' (did you mean "
        "'customers'?)",
        "segments/tests/vip.yml:7 given.customers[0]: signup_date is required by the "
        "customers feed",
        "segments/tests/vip.yml:8 given.customers[1].app_usr: unknown column of the "
        "customers feed 'app_usr' (did you mean 'app_user'?)",
        "segments/tests/vip.yml:8 given.customers[1].app_user: 'maybe' is not a boolean "
        "(true/false, 1/0, yes/no, y/n)",
        "segments/tests/vip.yml:10 given.customers[3]: the same customer_id, updated_at as "
        "row 2: a delivery holds each key once",
        "segments/tests/vip.yml:12 given.transactions[0].occurred_at: '2026-06-01 25:00' is "
        "not a valid timestamp",
        "segments/tests/vip.yml:12 given.transactions[0].quantity: '1.5' is not an integer",
        "segments/tests/vip.yml:13 given.transactions[1]: occurred_at is required by the "
        "transactions feed",
        "segments/tests/vip.yml:13 given.transactions[1].amount: 'ten' is not a number "
        "(decimal point, no thousands separators)",
        "segments/tests/vip.yml:16 expect.member: unknown key 'member' (did you mean 'members'?)",
    ]


def test_segment_and_tiers_are_checked_against_the_project(settings):
    (settings.segments_dir / "vip.yml").write_text(VIP)
    (settings.segments_dir / "staff.yml").write_text(STAFF)
    write_test(settings, "a", "segment: vipp\nas_of: 2026-06-30\nexpect: {members: []}\n")
    write_test(settings, "b", "segment: vip\nas_of: 2026-06-30\nexpect: {members: {A: gold}}\n")
    report = run_tests(settings, [])
    assert [str(p) for p in report.problems] == [
        "segments/tests/a.yml:1 segment: cannot test 'vipp': no such segment",
        "segments/tests/b.yml:3 expect.members: 'vip' is not tiered: list the members "
        "instead of {id: tier}",
    ]
    assert report.lines()[-1].startswith("0 passed, 0 failed, 2 invalid files")


def test_selecting_tests_and_unknown_names(settings):
    (settings.segments_dir / "vip.yml").write_text(VIP)
    (settings.segments_dir / "staff.yml").write_text(STAFF)
    write_test(settings, "vip", VIP_TEST.replace("MEMBERS", "[A]"))
    write_test(settings, "staff", "segment: staff\nas_of: 2026-06-30\nexpect: {members: []}\n")
    assert [o.test.name for o in run_tests(settings, ["staff"]).outcomes] == ["staff"]
    with pytest.raises(UserInputError, match=r"no tests for nope in segments/tests/"):
        run_tests(settings, ["nope"])


def test_tests_are_no_segment_definitions(settings):
    """segments/tests/ is not read as segments: validate and compile ignore it."""
    from segflow.segments.project import load_project

    (settings.segments_dir / "staff.yml").write_text(STAFF)
    write_test(settings, "staff", "segment: staff\nas_of: 2026-06-30\nexpect: {members: []}\n")
    project = load_project(settings.segments_dir)
    assert list(project.segments) == ["staff"] and project.problems == []


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    return subprocess.run(
        [SEGFLOW, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_starter_segments_tests_pass_in_about_a_second():
    started = time.perf_counter()
    result = _cli(["test"], PROJECT_ROOT)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    starters = {p.stem for p in (PROJECT_ROOT / "segments").glob("*.yml")}
    tested = {line.split()[1] for line in lines if line.startswith("PASS ")}
    assert tested == starters  # every starter segment has a test
    assert lines[-1].startswith(f"{len(lines) - 1} passed, 0 failed in ")
    assert elapsed < 20  # a generous bound for a loaded machine; the figure is in the README


def test_cli_failing_test_exits_1(settings):
    (settings.segments_dir / "vip.yml").write_text(VIP)
    (settings.segments_dir / "staff.yml").write_text(STAFF)
    write_test(settings, "vip", VIP_TEST.replace("MEMBERS", "[]"))
    env = {**os.environ, "SEGFLOW_SEGMENTS": str(settings.segments_dir)}
    result = subprocess.run(
        [SEGFLOW, "test"],
        cwd=settings.segments_dir.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "unexpected (a member, not expected): A" in result.stdout
    assert "Traceback" not in result.stderr


def test_cli_without_tests_is_one_line_error(tmp_path):
    (tmp_path / "segments").mkdir()
    result = _cli(["test"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no segment tests: add YAML files to {tmp_path / 'segments'}/tests/"
    ]
