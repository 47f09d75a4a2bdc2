"""Running segment tests: fixtures into an in-memory DuckDB, the build's SQL over them.

Each test gets a fresh in-memory warehouse: the fixture rows are loaded into the raw tables
as a delivery of the test file would be, the project's staging and intermediate models are
run over them (`models.py`), and the segment is evaluated as of the test's D with the same
SQL generator as the build (`segments/evaluate.py`). A failure shows the missing and the
unexpected members with `explain`'s leaf-by-leaf reason for each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from segflow.errors import UserInputError
from segflow.evaluation.queries import ExplainLine, explain, with_clause
from segflow.feeds import FEEDS
from segflow.review.models import render_models
from segflow.review.testfiles import SegmentTest, load_test, test_files
from segflow.segments.loader import Problem
from segflow.segments.project import SegmentProject, load_project
from segflow.settings import Settings
from segflow.warehouse import Warehouse, open_warehouse, tables


@dataclass
class Outcome:
    test: SegmentTest
    missing: dict[str, str | None] = field(default_factory=dict)  # expected, not a member
    unexpected: dict[str, str | None] = field(default_factory=dict)  # a member, not expected
    wrong_tier: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=dict)  # customer -> explain lines

    @property
    def passed(self) -> bool:
        return not (self.missing or self.unexpected or self.wrong_tier)


@dataclass
class Report:
    outcomes: list[Outcome]
    problems: list[Problem]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problems and all(o.passed for o in self.outcomes)

    def lines(self) -> list[str]:
        """The problems of invalid test files, then the results."""
        return [str(p) for p in self.problems] + self.result_lines()

    def result_lines(self) -> list[str]:
        out: list[str] = []
        for outcome in self.outcomes:
            test = outcome.test
            label = f"{test.segment} ({test.display})"
            if outcome.passed:
                out.append(f"PASS {label}")
                continue
            out.append(f"FAIL {label}, as of {test.as_of}")
            for title, members in (
                ("missing (expected, not a member)", outcome.missing),
                ("unexpected (a member, not expected)", outcome.unexpected),
            ):
                if members:
                    out.append(f"  {title}: " + ", ".join(_who(c, t) for c, t in members.items()))
                    for customer in members:
                        out.extend(f"    {line}" for line in outcome.reasons.get(customer, []))
            for customer, (want, got) in outcome.wrong_tier.items():
                out.append(f"  {customer}: expected tier {want}, is in tier {got}")
                out.extend(f"    {line}" for line in outcome.reasons.get(customer, []))
        passed = sum(o.passed for o in self.outcomes)
        failed = len(self.outcomes) - passed
        invalid = len({p.file for p in self.problems})
        summary = f"{passed} passed, {failed} failed"
        if invalid:
            summary += f", {invalid} invalid file{'s' if invalid != 1 else ''}"
        out.append(f"{summary} in {self.seconds:.2f} s")
        return out


def _who(customer: str, tier: str | None) -> str:
    return f"{customer} ({tier})" if tier else customer


def _explain_text(lines: list[ExplainLine]) -> list[str]:
    out = []
    for line in lines:
        if line.held is None:
            out.append(f"{'  ' * line.depth}{line.text}")
            continue
        value = ""
        if line.show_value:
            value = f"   (value: {'missing' if line.value is None else line.value})"
        out.append(f"{'  ' * line.depth}{'✓' if line.held else '✗'} {line.text}{value}")
    return out


def memory_warehouse(settings: Settings) -> Warehouse:
    """An in-memory DuckDB with the raw tables, whatever the project's warehouse, and the
    project's staging and intermediate models over them as views: made once, they show each
    test's rows (dbt makes the intermediate ones tables; the rows are the same)."""
    memory = settings.model_copy(update={"target": "duckdb", "duckdb_path": Path(":memory:")})
    wh = open_warehouse(memory)
    wh.ensure_tables(tables.INGESTION)
    for schema in ("staging", "intermediate"):
        wh.execute(f"create schema if not exists {schema}")
    for model in render_models(settings.dbt_project_dir, settings.timezone):
        wh.execute(f"create view {model.schema}.{model.name} as {model.sql}")
    return wh


def load_fixtures(wh: Warehouse, test: SegmentTest) -> None:
    """The fixture rows as one delivery of the test file, replacing the previous test's."""
    assert test.as_of is not None
    for feed in FEEDS.values():
        wh.execute(f"delete from {feed.table}")
        rows = test.given.get(feed.name, [])
        if not rows:
            continue
        columns = [*feed.column_names, "_file", "_delivery_date", "_row_number"]
        row_sql = "(" + ", ".join("?" for _ in columns) + ")"
        params = [
            value
            for number, row in enumerate(rows, start=1)
            for value in [*(row[c] for c in feed.column_names), test.display, test.as_of, number]
        ]
        wh.execute(
            f"insert into {feed.table} ({', '.join(chr(34) + c + chr(34) for c in columns)}) "
            f"values {', '.join(row_sql for _ in rows)}",
            params,
        )


def run_test(
    wh: Warehouse, settings: Settings, project: SegmentProject, test: SegmentTest
) -> Outcome:
    assert test.as_of is not None
    name = test.segment
    tiered = project.definition(name).kind == "tiered"
    load_fixtures(wh, test)
    _, _, ctes = with_clause(project, [name], test.as_of, dialect=wh.dialect)
    tier = "tier" if tiered else "cast(null as varchar)"
    got = dict(wh.query(f"{ctes}\nselect customer_id, {tier} from seg__{name}"))
    outcome = Outcome(test)
    expected = test.members
    outcome.missing = {c: t for c, t in expected.items() if c not in got}
    outcome.unexpected = {c: t for c, t in got.items() if c not in expected}
    if test.tiers_expected:
        outcome.wrong_tier = {
            c: (t, got[c]) for c, t in expected.items() if c in got and got[c] != t
        }
    for customer in [*outcome.missing, *outcome.unexpected, *outcome.wrong_tier]:
        headline, lines = explain(wh, project, name, customer, test.as_of)
        outcome.reasons[customer] = [headline, *_explain_text(lines)]
    return outcome


def _check_against_project(test: SegmentTest, project: SegmentProject) -> None:
    if not test.segment:
        return
    if test.segment not in project.segments:
        broken = [p for p in project.problems if Path(p.file).stem == test.segment]
        why = "its definition has errors" if broken else "no such segment"
        test.problem(("segment",), f"cannot test {test.segment!r}: {why}")
        test.problems.sort(key=lambda p: p.line)
        return
    if test.problems:
        return
    definition = project.definition(test.segment)
    if test.tiers_expected:
        if definition.kind != "tiered":
            test.problem(
                ("expect", "members"),
                f"{test.segment!r} is not tiered: list the members instead of {{id: tier}}",
            )
            return
        tiers = [t.name for t in definition.tiers or []]
        for customer, tier in test.members.items():
            if tier not in tiers:
                test.problem(
                    ("expect", "members", customer),
                    f"{test.segment!r} has no tier {tier!r} (tiers: {', '.join(tiers)})",
                )


def run_tests(settings: Settings, names: list[str]) -> Report:
    """Every test in segments/tests/, or those of the named segments (or test files)."""
    started = time.perf_counter()
    folder = settings.segments_dir
    if not folder.is_dir():
        raise UserInputError(f"the segments folder {folder} does not exist")
    paths = test_files(folder)
    tests = [load_test(p, settings.tz) for p in paths]
    if names:
        known = {t.segment for t in tests} | {t.name for t in tests}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UserInputError(
                f"no tests for {', '.join(unknown)} in {folder.name}/tests/ "
                f"(tests for: {', '.join(sorted({t.segment for t in tests if t.segment})) or 'none'})"
            )
        tests = [t for t in tests if t.segment in names or t.name in names]
    if not paths:
        raise UserInputError(f"no segment tests: add YAML files to {folder}/tests/")
    project = load_project(folder)
    for test in tests:
        _check_against_project(test, project)
    problems = [p for t in tests for p in t.problems]
    runnable = [t for t in tests if not t.problems]
    outcomes = []
    if runnable:
        with memory_warehouse(settings) as wh:  # one connection; each test replaces all rows
            outcomes = [run_test(wh, settings, project, t) for t in runnable]
    return Report(outcomes, problems, time.perf_counter() - started)
