"""Great Expectations suites over the warehouse (README, "Data quality").

The suites, their data assets and validation definitions are a GX 1.x file context committed
in `expectations/`: what is expected lives there, in GX's own format. This module reads each
suite's data from the warehouse with one SQL query (the same on DuckDB and PostgreSQL) and
validates it with GX's pandas engine: GX's SQL engine does not support DuckDB (see
docs/stack.md), and one engine for both warehouses keeps one meaning.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from segflow.history.record import EVENTS, HISTORY_DAYS, MEMBERSHIP_HISTORY, ensure_history_tables
from segflow.publication.publish import model_relations
from segflow.settings import Settings
from segflow.validated_deliveries import Scope, definition_digest, record, scope_for_build
from segflow.warehouse import Warehouse

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"
SAMPLE_ROWS = 5


@dataclass(frozen=True)
class Dataset:
    """What one suite validates: a query over the models, keyed for sample rows."""

    suite: str
    asset: tuple[str, ...]  # the Dagster asset the check belongs to
    sql: str  # `{model}` placeholders: the build's or the published relation
    keys: tuple[str, ...]
    gates_publication: bool = True  # checks the build before it is published (blocking)
    # A history feed: a build's check reads the rows of the deliveries its published build
    # had not validated (segflow/validated_deliveries.py), `{scope}` in `sql`.
    feed: str | None = None
    key: str = ""  # the staged row's id (qualified as in `sql`), as in raw
    source_file: str = "source_file"  # the column naming a row's delivery
    # A column whose expectation compares the night with all history (the currency): one
    # validated row per value is read again.
    one_per: str | None = None


_KNOWN_ARTICLE = "case when p.product_id is null then 1 else 0 end"

DATASETS = (
    Dataset(
        "customers",
        ("staging", "stg_customers"),
        "select customer_id, updated_at, email, birth_date, signup_date from {stg_customers}",
        ("customer_id", "updated_at"),
    ),
    Dataset(
        "customer_attributes",
        ("staging", "stg_customer_attributes"),
        "select customer_id, attribute, value, updated_at from {stg_customer_attributes}",
        ("customer_id", "attribute", "updated_at"),
    ),
    Dataset(
        "products",
        ("staging", "stg_products"),
        "select product_id, product_name from {stg_products}",
        ("product_id",),
    ),
    Dataset(
        "transactions",
        ("staging", "stg_transactions"),
        "select t.transaction_id, t.line_id, t.product_id, t.occurred_on, t.amount, "
        f"t.currency, {_KNOWN_ARTICLE} as unknown_article, t.source_file\n"
        "from {stg_transactions} as t\n"
        "left join {stg_products} as p on p.product_id = t.product_id\n"
        "where {scope}",
        ("transaction_id", "line_id"),
        feed="transactions",
        key="t.transaction_id",
        source_file="t.source_file",
        one_per="currency",  # "one currency per project" compares the night with history
    ),
    Dataset(
        "events",
        ("staging", "stg_events"),
        "select event_id, customer_id, occurred_on, event_type, source_file from {stg_events}\n"
        "where {scope}",
        ("event_id",),
        feed="events",
        key="event_id",
    ),
    Dataset(
        "segment_membership",
        ("segment_membership",),
        """select m.segment, m.customer_id, m.tier,
    p.customer_id is not null as in_population,
    e.customer_id is not null as is_erased
from {segment_membership} as m
left join {dim_population} as p on p.customer_id = m.customer_id
left join (
    select distinct customer_id from {int_customer_versions} where is_erased
) as e on e.customer_id = m.customer_id""",
        ("segment", "customer_id"),
    ),
    Dataset(
        "segment_stats",
        ("segment_stats",),
        # The size the day before, from the recorded history of the same definition.
        """with counted as (
    select segment, count(*) as members_counted from {segment_membership} group by segment
),
before as (
    select h.segment, count(*) as members_before
    from {segment_membership_history} as h
    join {segment_stats} as s
        on s.segment = h.segment and h.valid_from <= s.as_of - 1 and h.valid_to >= s.as_of - 1
    group by h.segment
),
recorded as (
    select d.segment
    from {segment_history_days} as d
    join {segment_stats} as s on s.segment = d.segment and d.day = s.as_of - 1
    join {segment_catalog} as c
        on c.segment = d.segment and c.definition_hash = d.definition_hash
)
select s.segment, s.as_of, s.members, coalesce(c.members_counted, 0) as members_counted,
    coalesce(b.members_before, 0) as members_before,
    case when r.segment is not null and coalesce(b.members_before, 0) >= {min_members}
        then abs(s.members - coalesce(b.members_before, 0)) * 1.0 / b.members_before
    end as size_change
from {segment_stats} as s
left join counted as c on c.segment = s.segment
left join before as b on b.segment = s.segment
left join recorded as r on r.segment = s.segment""",
        ("segment",),
    ),
    Dataset(
        "erased_customers",
        (MEMBERSHIP_HISTORY,),
        # After publication: every published output, the history included.
        """select e.customer_id,
    e.customer_id in (select customer_id from {dim_population}) as in_population,
    e.customer_id in (select customer_id from {segment_membership}) as in_segments,
    e.customer_id in (
        select customer_id from {stg_customers}
        where email is not null or first_name is not null or last_name is not null
            or birth_date is not null
    ) as has_personal_data,
    e.customer_id in (select customer_id from {segment_events}) as in_events,
    e.customer_id in (
        select customer_id from {segment_membership_history}
    ) as in_membership_history
from (select distinct customer_id from {int_customer_versions} where is_erased) as e""",
        ("customer_id",),
        gates_publication=False,
    ),
)
DATASETS_BY_SUITE = {d.suite: d for d in DATASETS}


@dataclass(frozen=True)
class ExpectationOutcome:
    description: str
    expectation: str  # GX type, e.g. expect_column_values_to_be_unique
    column: str
    success: bool
    critical: bool  # GX severity "critical": stops publication; "warning" does not
    observed: Any
    unexpected: int | None
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return "critical" if self.critical else "warning"

    def result_text(self) -> str:
        if self.success:
            return "met"
        if self.unexpected is not None:
            return f"{self.unexpected} unexpected row(s)"
        return f"observed {self.observed}"


@dataclass(frozen=True)
class SuiteOutcome:
    suite: str
    rows: int
    expectations: list[ExpectationOutcome]
    scope: str = "every row"  # which rows: a build's check of a feed reads its night's

    @property
    def failed(self) -> list[ExpectationOutcome]:
        return [e for e in self.expectations if not e.success]

    @property
    def passed(self) -> bool:
        """No critical expectation failed (warnings may have)."""
        return not any(e.critical for e in self.failed)

    def summary(self) -> str:
        if not self.failed:
            return f"{self.suite}: all {len(self.expectations)} expectations met ({self.rows} rows)"
        return f"{self.suite}: " + "; ".join(
            f"{e.description} ({e.result_text()})" for e in self.failed
        )


def parameters(settings: Settings) -> dict[str, Any]:
    """Values of the suites' `$PARAMETER`s, from the settings."""
    return {
        "latest_date": (settings.today() + dt.timedelta(days=1)).isoformat(),
        "max_size_change": settings.max_size_change,
        "max_unknown_article_share": settings.max_unknown_article_share,
    }


def relations(wh: Warehouse, settings: Settings, slot: str | None) -> dict[str, str]:
    """`{model}` -> relation: in the build's slot, or the published names; history tables."""
    from segflow.dbt import manifest_path

    published = model_relations(manifest_path(settings.dbt_project_dir), wh.output_schema)
    names = {n: f"{slot}.{n}" if slot else f"{schema}.{n}" for n, schema in published.items()}
    for table in (EVENTS, MEMBERSHIP_HISTORY, HISTORY_DAYS):
        names[table] = f"{wh.output_schema}.{table}"
    return names


def dataset_sql(
    dataset: Dataset, names: dict[str, str], settings: Settings, scope: Scope | None = None
) -> str:
    rows = scope.condition(dataset.key, dataset.source_file) if scope else "1 = 1"
    return dataset.sql.format_map(
        {**names, "min_members": int(settings.size_change_min_members), "scope": rows}
    )


def suite_file(suite: str) -> Path:
    return EXPECTATIONS_DIR / "expectations" / f"{suite}.json"


# The macros the staging views' values come from (dbt_project/macros/): cleaning and dates.
STAGING_MACROS = ("lines.sql", "local_date.sql", "text.sql")


def suite_digest(dataset: Dataset, settings: Settings) -> str:
    """What a feed check's record is valid for: the suite, its query, the staging macros and
    the time zone (segflow/validated_deliveries.py)."""
    macros = settings.dbt_project_dir / "macros"
    return definition_digest(
        suite_file(dataset.suite).read_bytes(),
        dataset.sql,
        settings.timezone,
        *((macros / m).read_bytes() if (macros / m).exists() else b"" for m in STAGING_MACROS),
    )


def validate(
    wh: Warehouse,
    settings: Settings,
    suite: str,
    slot: str | None = None,
    run_id: str | None = None,
) -> SuiteOutcome:
    """Run one suite on the build in `slot` (or the published tables). With the build's
    `run_id` (its blocking check), a history feed's suite reads only the deliveries the
    published build had not validated, and, when it passes, records those it covered for
    the next build."""
    dataset = DATASETS_BY_SUITE[suite]
    ensure_history_tables(wh)
    names = relations(wh, settings, slot)
    if not (dataset.feed and run_id):
        frame = _frame(wh, dataset_sql(dataset, names, settings))
        return _run(dataset, settings, frame, "every row")
    digest = suite_digest(dataset, settings)
    key = dataset.key.rpartition(".")[2]
    scope = scope_for_build(wh, dataset.feed, key, dataset.one_per, suite, digest)
    frame = _frame(wh, dataset_sql(dataset, names, settings, scope))
    if dataset.one_per and not scope.whole and not _witnessed(frame, dataset, key, scope):
        scope = Scope(scope.current)  # a value validated before is not shown: read all
        frame = _frame(wh, dataset_sql(dataset, names, settings, scope))
    outcome = _run(dataset, settings, frame, scope.describe())
    if outcome.passed:
        values = set(scope.values_before)  # none when every row was read
        if dataset.one_per:
            values |= {str(v) for v in frame[dataset.one_per].dropna().unique()}
        record(wh, run_id, suite, digest, scope, sorted(values))
    return outcome


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


def _run(dataset: Dataset, settings: Settings, frame: Any, scope: str) -> SuiteOutcome:
    definition = _context().validation_definitions.get(dataset.suite)
    result = definition.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=parameters(settings),
        result_format={
            "result_format": "SUMMARY",
            "unexpected_index_column_names": list(dataset.keys),
            "partial_unexpected_count": SAMPLE_ROWS,
        },
    )
    outcomes = [_outcome(r, frame, dataset) for r in result.results]
    return SuiteOutcome(dataset.suite, len(frame), outcomes, scope)


@functools.cache
def _context():
    """The committed file context, loaded once per process (every suite of a run uses it)."""
    _keep_spark_connect_from_exiting()
    import great_expectations as gx

    return gx.get_context(mode="file", context_root_dir=str(EXPECTATIONS_DIR))


def _keep_spark_connect_from_exiting() -> None:
    """GX imports `pyspark.sql.connect` whenever pyspark is installed (the spark extra). That
    import calls `sys.exit(0)` ("Skipping doctests") when `__main__` has neither a spec nor a
    file, as under `python -c` or in a pytest-xdist worker, and Spark Connect's own packages
    are missing: the run would stop as if it had succeeded. segflow never uses Spark Connect
    (Spark is reached through its Thrift server), so in such a process, whether or not those
    packages are there, the import fails for the rest of the process as if Spark Connect were
    not installed, which GX handles (docs/stack.md)."""
    main = sys.modules.get("__main__")
    looks_like_doctest = (
        main is not None
        and getattr(main, "__spec__", None) is None
        and not hasattr(main, "__file__")
        and not hasattr(sys, "ps1")
    )
    if looks_like_doctest and "pyspark.sql.connect" not in sys.modules:
        sys.modules["pyspark.sql.connect"] = None  # type: ignore[assignment]  # import -> ImportError


def _outcome(result: Any, frame: Any, dataset: Dataset) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or ", ".join(
        kwargs.get("column_list") or [kwargs.get("column_A", ""), kwargs.get("column_B", "")]
    )
    details = result.result or {}
    if result.exception_info and result.exception_info.get("raised_exception"):
        observed: Any = "error: " + str(result.exception_info.get("exception_message"))
    else:
        observed = details.get("observed_value")
    samples = _samples(details, frame, dataset) if not result.success else []
    return ExpectationOutcome(
        description=config.description or config.type,
        expectation=config.type,
        column=column,
        success=bool(result.success),
        critical=str(getattr(config.severity, "value", config.severity)) == "critical",
        observed=_plain(observed),
        unexpected=details.get("unexpected_count"),
        samples=samples,
    )


def _samples(details: dict, frame: Any, dataset: Dataset) -> list[dict[str, Any]]:
    """Up to SAMPLE_ROWS offending rows, whole: from the unexpected keys, else the top rows
    of an aggregate expectation's column."""
    keys = details.get("partial_unexpected_index_list") or details.get("unexpected_index_list")
    if keys:
        wanted = [tuple(k[c] for c in dataset.keys) for k in keys[:SAMPLE_ROWS]]
        if len(dataset.keys) == 1:  # a plain index takes plain values
            wanted = [key[0] for key in wanted]
        index = frame.set_index(list(dataset.keys), drop=False)
        rows = []
        for key in dict.fromkeys(wanted):
            found = index.loc[[key]] if key in index.index else None
            if found is not None:
                rows += found.head(SAMPLE_ROWS).to_dict("records")
        return [{k: _plain(v) for k, v in row.items()} for row in rows[:SAMPLE_ROWS]]
    return []


def _plain(value: Any) -> Any:
    """JSON-friendly values for metadata: numbers, text, None."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)
