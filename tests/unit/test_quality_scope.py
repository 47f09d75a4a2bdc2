"""Which staged rows a build's feed suite reads, as SQL (the scope is built from a real
warehouse in tests/quality/test_publication.py)."""

from __future__ import annotations

import duckdb

from segflow.quality.deliveries import Scope

STAGED = """
create table staged as select * from (values
    ('T1', 'old.csv', 'EUR'), ('T2', 'old.csv', 'EUR'), ('T3', 'new.csv', 'USD'),
    ('T2', 'new.csv', 'EUR'), ('T4', 'it''s.csv', 'EUR')
) as t(transaction_id, source_file, currency)
"""


def _read(scope: Scope) -> list[tuple]:
    con = duckdb.connect()
    con.execute(STAGED)
    condition = scope.condition("t.transaction_id", "t.source_file")
    return sorted(con.execute(f"select * from staged as t where {condition}").fetchall())


def test_without_a_record_every_row_is_read():
    scope = Scope({"old.csv": "a", "new.csv": "b"})
    assert scope.whole and scope.describe() == "every row"
    assert len(_read(scope)) == 5


def test_the_rows_of_new_deliveries_and_the_witnesses_are_read():
    validated = {"old.csv": "a", "it's.csv": "c"}
    scope = Scope({**validated, "new.csv": "b"}, validated, "run-1", ["T2", "T3"], ["T1"])
    assert scope.describe().startswith("the rows of 1 delivery file(s) new")
    assert _read(scope) == [
        ("T1", "old.csv", "EUR"),  # the witness of EUR
        ("T2", "new.csv", "EUR"),  # not T2 of old.csv: the new delivery of the line is read
        ("T3", "new.csv", "USD"),
    ]


def test_too_many_keys_to_list_filter_by_file_alone():
    validated = {"old.csv": "a"}
    scope = Scope({**validated, "new.csv": "b", "it's.csv": "c"}, validated, "run-1", None, ["T1"])
    assert [r[0] for r in _read(scope)] == ["T1", "T2", "T3", "T4"]


def test_nothing_new_and_no_witness_reads_nothing():
    validated = {"old.csv": "a"}
    assert _read(Scope(validated, validated, "run-1", [], [])) == []


def test_a_currency_validated_before_that_no_witness_shows_means_reading_every_row():
    import pandas as pd

    from segflow.quality import DATASETS_BY_SUITE, _witnessed

    sales = DATASETS_BY_SUITE["transactions"]
    frame = pd.DataFrame(
        {"transaction_id": ["T1", "T3"], "currency": ["EUR", "USD"]}  # T3: the night's
    )
    scope = Scope({"a": "1"}, {"a": "1"}, "run-1", ["T3"], ["T1"], ["EUR"])
    assert _witnessed(frame, sales, "transaction_id", scope)
    # T1 was corrected to no currency in a later delivery: EUR is shown by no witness.
    corrected = frame.assign(currency=[None, "USD"])
    assert not _witnessed(corrected, sales, "transaction_id", scope)
    no_witness = Scope({"a": "1"}, {"a": "1"}, "run-1", ["T3"], [], ["EUR"])
    assert not _witnessed(frame, sales, "transaction_id", no_witness)


def test_a_check_reads_part_of_the_rows_only_for_expectations_each_row_meets_alone(
    tmp_path, monkeypatch
):
    import json

    from segflow.quality import DATASETS
    from segflow.quality.datasets import reads_part

    assert all(reads_part(d) for d in DATASETS if d.feed or d.changes_only)
    membership = next(d for d in DATASETS if d.changes_only)
    suite = tmp_path / "suite.json"
    monkeypatch.setattr("segflow.quality.datasets.suite_file", lambda _: suite)
    for added in (
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x", "mostly": 0.9}},
        {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "x"}},  # not here
    ):
        suite.write_text(json.dumps({"expectations": [added]}))
        assert not reads_part(membership)
