"""Which dbt data tests a build runs: each guarantee once, where it is cheapest to check.

A build (`dbt build`) runs every data test every night, so a test per segment, or one over a
view that deduplicates all of history, costs a night as much as the models do at 1M customers
(docs/performance.md). What each test guaranteed is still tested, once.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from segflow.feeds import FEEDS
from segflow.segments.compile import render
from segflow.segments.project import load_project
from segflow.settings import PROJECT_ROOT

STAGING = PROJECT_ROOT / "dbt_project" / "models" / "staging"


def _models(files: dict[str, str]) -> dict[str, dict]:
    models = {}
    for name, text in files.items():
        if name.endswith(".yml"):
            (model,) = yaml.safe_load(text)["models"]
            models[model["name"]] = model
    return models


def _column_tests(model: dict) -> dict[str, list]:
    return {c["name"]: c.get("data_tests", []) for c in model["columns"]}


def _generated() -> dict[str, dict]:
    project = load_project(PROJECT_ROOT / "segments")
    assert project.problems == []
    return _models(render(project, "segments"))


def test_a_segment_is_tested_through_the_flags_it_filters():
    models = _generated()
    segments = {n: m for n, m in models.items() if n.startswith("seg_")}
    assert len(segments) == 17
    for name, model in segments.items():
        assert "data_tests" not in model, name
        assert all(tests == [] for tests in _column_tests(model).values()), name
    assert any("tier" in _column_tests(m) for m in segments.values())  # still documented


def test_the_flags_test_once_what_every_segment_reads_from_them():
    # A segment's rows are the flags' rows where its m_<name> holds (sql.py's segment_sql):
    # unique, present, in the population and dated, as the flags' rows are.
    flags = _column_tests(_generated()["int_segment_flags"])
    relationship = {
        "relationships": {"arguments": {"to": "ref('dim_population')", "field": "customer_id"}}
    }
    assert flags["customer_id"] == ["unique", "not_null", relationship]
    assert flags["as_of"] == ["not_null"]


def test_membership_is_not_tested_again_as_a_key():
    # One union branch per segment, each naming its segment: (segment, customer_id) is unique
    # since each segment's customer_id is (the flags' key).
    membership = _generated()["segment_membership"]
    assert "data_tests" not in membership
    assert _column_tests(membership) == {"segment": ["not_null"], "customer_id": ["not_null"]}


def _yml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_big_feeds_required_fields_are_tested_on_the_rows_as_loaded():
    (raw,) = _yml(STAGING / "__sources.yml")["sources"]
    tables = {t["name"]: t for t in raw["tables"]}
    tested = {"transactions": ["transaction_id", "line_id", "occurred_at"]}
    tested["events"] = ["event_id", "customer_id", "event_type"]
    for feed, columns in tested.items():
        assert _column_tests(tables[feed]) == {c: ["not_null"] for c in columns}
        assert set(columns) <= set(FEEDS[feed].required)  # ingestion's own rule, checked
    for staging in ("stg_transactions", "stg_events"):
        (model,) = _yml(STAGING / f"{staging}.yml")["models"]
        assert "data_tests" not in model
        assert all("data_tests" not in c for c in model["columns"])
