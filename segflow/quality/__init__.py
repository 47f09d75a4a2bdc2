"""Great Expectations suites over the warehouse (README, "Data quality").

The suites, their data assets and validation definitions are a GX 1.x file context committed
in `expectations/`: what is expected lives there, in GX's own format. Each suite's data is one
SQL query over the warehouse (datasets.py), validated with GX's pandas engine (runner.py). A
build's blocking check reads what its published build's check had not passed on: the new
deliveries of a feed (deliveries.py), the changed rows of a model (changed_rows.py); each
passing check records what it covered (records.py).
"""

from __future__ import annotations

from typing import Any

from segflow.history.record import ensure_history_tables
from segflow.publication.publish import Build
from segflow.quality.changed_rows import changed_rows_sql, columns_of, repeats_validated_keys
from segflow.quality.datasets import (
    DATASETS,
    DATASETS_BY_SUITE,
    Dataset,
    dataset_sql,
    reads_part,
    relations,
    suite_digest,
)
from segflow.quality.deliveries import Scope, scope_for_build
from segflow.quality.records import published_record, record
from segflow.quality.runner import ExpectationOutcome, SuiteOutcome, load_context, run_suite
from segflow.settings import Settings
from segflow.warehouse import Warehouse

__all__ = [
    "DATASETS",
    "DATASETS_BY_SUITE",
    "Dataset",
    "ExpectationOutcome",
    "SuiteOutcome",
    "load_context",
    "suite_digest",
    "validate",
]


def validate(
    wh: Warehouse,
    settings: Settings,
    suite: str,
    slot: str | None = None,
    run_id: str | None = None,
) -> SuiteOutcome:
    """Run one suite on the build in `slot` (or the published tables). With the build's
    `run_id` (its blocking check), it reads what the published build's check had not passed
    on, and, when it passes, records what it covered for the next build."""
    dataset = DATASETS_BY_SUITE[suite]
    ensure_history_tables(wh)
    names = relations(wh, settings, slot)
    if run_id and reads_part(dataset):  # a build's check
        if dataset.feed:
            return _validate_deliveries(wh, settings, dataset, names, run_id)
        if dataset.changes_only and slot:  # (the published rows are the ones compared with)
            return _validate_changes(wh, settings, dataset, names, slot, run_id)
    frame = _frame(wh, dataset_sql(dataset, names, settings))
    return run_suite(dataset, settings, frame, "every row")


def _validate_deliveries(
    wh: Warehouse, settings: Settings, dataset: Dataset, names: dict[str, str], run_id: str
) -> SuiteOutcome:
    """A feed's rows: those of the deliveries the published build had not validated."""
    assert dataset.feed
    digest = suite_digest(dataset, settings)
    key = dataset.key.rpartition(".")[2]
    scope = scope_for_build(wh, dataset.feed, key, dataset.one_per, dataset.suite, digest)
    frame = _frame(wh, dataset_sql(dataset, names, settings, scope))
    if dataset.one_per and not scope.whole and not _witnessed(frame, dataset, key, scope):
        scope = Scope(scope.current)  # a value validated before is not shown: read all
        frame = _frame(wh, dataset_sql(dataset, names, settings, scope))
    outcome = run_suite(dataset, settings, frame, scope.describe())
    if outcome.passed:
        values = set(scope.values_before)  # none when every row was read
        if dataset.one_per:
            values |= {str(v) for v in frame[dataset.one_per].dropna().unique()}
        record(wh, run_id, dataset.suite, digest, scope.current, sorted(values), scope.since_run)
    return outcome


def _validate_changes(
    wh: Warehouse,
    settings: Settings,
    dataset: Dataset,
    names: dict[str, str],
    slot: str,
    run_id: str,
) -> SuiteOutcome:
    """A model's rows, against the published build's if its check passed on them."""
    digest = suite_digest(dataset, settings)
    recorded = published_record(wh, dataset.suite, digest)
    baseline = recorded.build if recorded and recorded.build.slot != slot else None
    outcome = validate_changes(wh, settings, dataset, names, baseline)
    if outcome.passed:
        keep = recorded.build.run_id if recorded else None
        record(wh, run_id, dataset.suite, digest, {}, [], keep)
    return outcome


def validate_changes(
    wh: Warehouse,
    settings: Settings,
    dataset: Dataset,
    names: dict[str, str],
    baseline: Build | None,
) -> SuiteOutcome:
    """Run a model's suite on the rows that differ from `baseline`'s, with every row of their
    keys; every row without one. `baseline`'s check must have passed under the same digest
    (as the published build's record says): its rows are taken as validated."""
    sql = built = dataset_sql(dataset, names, settings)
    scope = "every row"
    if baseline is not None:
        validated = dataset_sql(dataset, relations(wh, settings, baseline.slot), settings)
        if repeats_validated_keys(wh, built, validated, dataset.keys):
            scope = "every row (a key repeats)"
        else:
            sql = changed_rows_sql(built, validated, dataset.keys, columns_of(wh, built))
            scope = (
                f"the rows that differ from those the check of run {baseline.run_id} passed "
                "on, with every row of their keys"
            )
    return run_suite(dataset, settings, _frame(wh, sql), scope)


def _witnessed(frame: Any, dataset: Dataset, key: str, scope: Scope) -> bool:
    """Whether the witnesses read show every value of `one_per` validated before (a line
    corrected in a later delivery may stage another value than raw's oldest row says)."""
    assert dataset.one_per
    shown = frame.loc[frame[key].isin(scope.witnesses), dataset.one_per].dropna()
    return set(scope.values_before) <= {str(v) for v in shown.unique()}


def _frame(wh: Warehouse, sql: str) -> Any:
    import pandas as pd

    columns, rows = wh.query_with_names(sql)
    # Both drivers give exact Decimals; a column of only NULLs comes back as objects.
    return pd.DataFrame.from_records(rows, columns=columns)
