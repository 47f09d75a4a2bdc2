"""Validation of segment files: the messages users see for common mistakes are pinned here."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from segflow.segments.compile import render
from segflow.segments.project import load_project


def problems(tmp_path: Path, files: dict[str, str]) -> list[str]:
    folder = tmp_path / "segments"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    return [str(p).replace(str(folder) + "/", "") for p in load_project(folder).problems]


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "rules:\n  metric: orders\n  gtee: 3\n",
            "x.yml:3 rules.gtee: unknown key 'gtee' (did you mean 'gte'?)",
        ),
        (
            "rules:\n  all:\n    - metric: orders\n      gt: ten\n",
            "x.yml:4 rules.all[0].gt: expected a number, got 'ten'",
        ),
        (
            "rules:\n  profile: gender\n  gt: 5\n",
            "x.yml:3 rules.gt: gt needs a number or a date; gender is text",
        ),
        (
            "rules:\n  profile: age\n  between: [50, 40]\n",
            "x.yml:3 rules.between: needs a <= b, got [50, 40]",
        ),
        ("rules:\n  profile: gender\n  in: []\n", "x.yml:3 rules.in: expected a non-empty list"),
        ("rules:\n  profile: email\n  contains: 5\n", "x.yml:3 rules.contains: expected text"),
        (
            "rules:\n  metric: orders\n  gt: 1\n  lt: 5\n",
            "x.yml:1 rules: needs exactly one comparison (eq, ne, gt, gte, lt, lte, between, in, "
            "not_in, contains, starts_with, is); found gt, lt",
        ),
        ("rules:\n  all: []\n", "x.yml:2 rules.all: must not be empty"),
        (
            "rules:\n  profil: gender\n  eq: f\n",
            "x.yml:1 rules: a condition needs exactly one of all, any, not (combinators) or profile, "
            "attribute, metric, segment (leaves)",
        ),
        ("rules:\n  profile: shoe_size\n  eq: 42\n", "x.yml:2 rules.profile: expected one of"),
        (
            "rules:\n  metric: orders\n  event: app_open\n  gte: 1\n",
            "x.yml:3 rules.event: event applies to loyalty metrics (events, points, "
            "days_since_last_event), not orders",
        ),
        (
            "rules:\n  metric: orders\n  where: {colour: red}\n  gte: 1\n",
            "x.yml:3 rules.where.colour: sales lines have no column 'colour'",
        ),
        (
            "rules:\n  metric: revenue\n  where: {brand: {gt: 5}}\n  gte: 1\n",
            "x.yml:3 rules.where.brand.gt: gt needs a number or a date; brand is text",
        ),
        (
            "rules:\n  metric: orders\n  window: {last: 14}\n  gte: 1\n",
            "x.yml:3 rules.window.last: expected a length such as 14d, 4w, 3m or 1y, got the number 14",
        ),
        (
            "rules:\n  metric: orders\n  window: {from: 2026-02-01, to: 2026-01-01}\n  gte: 1\n",
            "x.yml:3 rules.window.to: to (2026-01-01) is before from (2026-02-01)",
        ),
        (
            "rules:\n  profile: signup_date\n  gte: -30x\n",
            "x.yml:3 rules.gte: expected a date (YYYY-MM-DD, or relative to D such as -30d, -4w, -3m, "
            "-1y, today), got '-30x'",
        ),
        ("title: x\n", "x.yml:1 rules: a dynamic segment needs rules"),
        (
            "kind: static\nrules: {profile: gender, eq: f}\n",
            "x.yml:2 rules: rules does not belong to a static segment",
        ),
        (
            "kind: tiered\ntiers:\n  - {name: a, when: {metric: orders, gte: 1}}\n"
            "  - {name: a, when: {metric: orders, gte: 2}}\n",
            "x.yml:4 tiers[1].name: tier 'a' appears twice",
        ),
        (
            "name: y\nrules: {metric: orders, gte: 1}\n",
            "x.yml:1 name: must equal the file name 'x' (renaming a file makes a new segment)",
        ),
        ("hot: yes\nrules: {metric: orders, gte: 1}\n", "x.yml:1 hot: expected true or false"),
        (
            "rules: {metric: orders, gte: 1}\nrules: {metric: orders, gte: 2}\n",
            "x.yml:2: YAML: found duplicate key",
        ),
        ("rules:\n  metric: orders\n gte: 1\n", "x.yml:3: YAML:"),
        (
            "trigger: {events: [enter, leave]}\nrules: {metric: orders, gte: 1}\n",
            "x.yml:1 trigger.events[1]: expected one of 'enter' or 'exit', got 'leave'",
        ),
    ],
)
def test_common_mistakes(tmp_path, text, expected):
    found = problems(tmp_path, {"x.yml": text})
    assert found and found[0].startswith(expected), found


def test_yaml_12_keeps_yes_and_on_as_strings(tmp_path):
    assert problems(tmp_path, {"x.yml": "rules: {profile: country, in: [no, on, yes]}\n"}) == []


def test_unknown_segment_and_tier_references(tmp_path):
    found = problems(
        tmp_path,
        {
            "a.yml": "rules: {segment: nope}\n",
            "b.yml": "rules: {segment: t.platinum}\n",
            "c.yml": "rules: {segment: a.gold}\n",
            "t.yml": "kind: tiered\ntiers: [{name: gold, when: {metric: orders, gte: 1}}]\n",
        },
    )
    assert found == [
        "a.yml:1 rules.segment: unknown segment 'nope'",
        "b.yml:1 rules.segment: segment 't' has no tier 'platinum'",
        "c.yml:1 rules.segment: segment 'a' is not tiered: it has no tier 'gold'",
    ]


def test_a_cycle_is_named(tmp_path):
    found = problems(
        tmp_path,
        {
            "a.yml": "rules: {segment: b}\n",
            "b.yml": "rules:\n  any:\n    - {metric: orders, gte: 1}\n    - {segment: c}\n",
            "c.yml": "rules: {segment: a}\n",
        },
    )
    # Every file on the cycle says so, so that validating any one of them finds it.
    assert found == [
        "a.yml:1 rules.segment: a cycle of references: a -> b -> c -> a",
        "b.yml:4 rules.any[1].segment: a cycle of references: b -> c -> a -> b",
        "c.yml:1 rules.segment: a cycle of references: c -> a -> b -> c",
    ]


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "rules:\n  metric: orders\n  gte: 1\n  window: {from: 2025-02-30, to: 2025-03-31}\n",
            "x.yml:4 rules.window.from: expected a date (YYYY-MM-DD, or relative to D such as "
            "-30d, -4w, -3m, -1y, today), got '2025-02-30', which is no day of the calendar "
            "(February 2025 has 28 days)",
        ),
        (
            "rules:\n  profile: signup_date\n  gte: 2025-13-01\n",
            "x.yml:3 rules.gte: expected a date (YYYY-MM-DD, or relative to D such as -30d, "
            "-4w, -3m, -1y, today), got '2025-13-01', which is no day of the calendar "
            "(there is no month 13)",
        ),
        (
            "rules:\n  profile: birth_date\n  lt: 2023-02-29\n",
            "x.yml:3 rules.lt: expected a date (YYYY-MM-DD, or relative to D such as -30d, "
            "-4w, -3m, -1y, today), got '2023-02-29', which is no day of the calendar "
            "(February 2023 has 28 days)",
        ),
    ],
)
def test_an_impossible_calendar_date_is_a_problem_with_its_line(tmp_path, text, expected):
    assert problems(tmp_path, {"x.yml": text}) == [expected]


def test_static_member_file_must_have_customer_id(tmp_path):
    (tmp_path / "segments" / "lists").mkdir(parents=True)
    (tmp_path / "segments" / "lists" / "staff.csv").write_text("id\nC1\n")
    found = problems(tmp_path, {"staff.yml": "kind: static\nmembers_file: lists/staff.csv\n"})
    assert found == [
        "staff.yml:2 members_file: cannot read the member list lists/staff.csv: "
        "it has no column customer_id"
    ]


def test_values_never_become_sql_or_jinja(tmp_path):
    evil = "x'); drop table raw.customers; -- {{ run_query('drop table raw.events') }} {% set x %}"
    folder = tmp_path / "segments"
    folder.mkdir()
    (folder / "evil.yml").write_text(
        "rules:\n  any:\n"
        f"    - {{profile: email, eq: {evil!r}}}\n"
        f"    - {{attribute: diet, in: [{evil!r}]}}\n"
        f"    - {{metric: orders, where: {{brand: {evil!r}}}, gte: 1}}\n"
    )
    project = load_project(folder)
    assert project.problems == []
    files = render(project, "segments")
    sql = files["int_segment_flags.sql"]
    for text in (sql, files["int_segment_sales_features.sql"], files["seg_evil.sql"]):
        body = text.split("\n", 1)[1]  # after the generated-file header
        allowed = ("{{ ref(", "{{ as_of_date() }}", "{{ config(")
        assert body.count("{{") == sum(body.count(a) for a in allowed)
        assert "{%" not in body and "{#" not in body
    # the quote is doubled, every `{` ends a literal piece: text stays text
    assert "lower(trim(('x''); drop table raw.customers; -- {' || '{' || ' run_query(''drop" in sql


@pytest.mark.parametrize(
    "text,expected",
    [
        (  # a comparison on a segment reference
            "rules:\n  segment: vip\n  gt: 3\n",
            "x.yml:3 rules.gt: 'gt' does not apply to a segment reference: `segment: vip` "
            "holds for that segment's members; compare a metric, profile or attribute instead",
        ),
        (  # a comparison indented one level too little
            "rules:\n  metric: orders\ngte: 3\n",
            "x.yml:3 gte: 'gte' is indented one level too little: it belongs to rules (line 1)",
        ),
        (  # a where column beside where instead of under it
            "rules:\n  metric: orders\n  gte: 1\n  where:\n  brand: Stride\n",
            "x.yml:5 rules.brand: 'brand' is a column of where: indent it under where (line 4)",
        ),
        (  # window beside all instead of in its last condition
            "rules:\n  all:\n  - metric: orders\n    gte: 1\n  window:\n    last: 30d\n",
            "x.yml:5 rules.window: 'window' is indented one level too little: it belongs to the "
            "last condition of all (line 3)",
        ),
        (  # where inside window
            "rules:\n  metric: orders\n  gte: 1\n  window:\n    last: 30d\n    where: {brand: X}\n",
            "x.yml:6 rules.window.where: 'where' is indented one level too far: it belongs "
            "beside window, not inside it",
        ),
        (  # a tab
            "rules:\n\tmetric: orders\n",
            "x.yml:2: YAML: a tab character (column 1): YAML indents with spaces only, replace "
            "it with spaces",
        ),
    ],
)
def test_a_key_in_the_wrong_place_says_where_it_belongs(tmp_path, text, expected):
    found = problems(tmp_path, {"x.yml": text, "vip.yml": "rules: {metric: orders, gte: 1}\n"})
    assert expected in found
    assert not any("did you mean" in p for p in found)
