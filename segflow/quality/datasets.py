"""What each Great Expectations suite reads: one SQL query over the build's models (the same
on DuckDB and PostgreSQL), and the digest of what else decides its result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from segflow.history.record import EVENTS, HISTORY_DAYS, MEMBERSHIP_HISTORY
from segflow.publication.publish import model_relations
from segflow.quality.deliveries import Scope
from segflow.quality.records import definition_digest
from segflow.settings import Settings
from segflow.warehouse import Warehouse

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent.parent / "expectations"


@dataclass(frozen=True)
class Dataset:
    """What one suite validates: a query over the models, keyed for sample rows."""

    suite: str
    asset: tuple[str, ...]  # the Dagster asset the check belongs to
    sql: str  # `{model}` placeholders: the build's or the published relation
    keys: tuple[str, ...]
    gates_publication: bool = True  # checks the build before it is published (blocking)
    # A feed: a build's check reads the rows of the deliveries its published build had not
    # validated (deliveries.py), `{scope}` in `sql`.
    feed: str | None = None
    key: str = ""  # the id the staging view ranks deliveries by (qualified as in `sql`)
    source_file: str = "source_file"  # the column naming a row's delivery
    # A column whose expectation compares the night with all history (the currency): one
    # validated row per value is read again.
    one_per: str | None = None
    # A model: a build's check reads the rows that differ from those the published build's
    # check passed on, and every row of their keys (changed_rows.py).
    changes_only: bool = False
    # Expectations over the whole column that a build's check means to take over the rows it
    # reads (the night's unknown-article share; the currencies, with their witnesses).
    over_rows_read: tuple[str, ...] = ()


_KNOWN_ARTICLE = "case when p.product_id is null then 1 else 0 end"

DATASETS = (
    Dataset(
        "customers",
        ("staging", "stg_customers"),
        "select customer_id, updated_at, email, birth_date, signup_date from {stg_customers}\n"
        "where {scope}",
        ("customer_id", "updated_at"),
        feed="customers",
        key="customer_id",  # the staging view ranks deliveries by it (and erasure over it)
    ),
    Dataset(
        "customer_attributes",
        ("staging", "stg_customer_attributes"),
        "select customer_id, attribute, value, updated_at from {stg_customer_attributes}\n"
        "where {scope}",
        ("customer_id", "attribute", "updated_at"),
        feed="customer_attributes",
        key="customer_id",
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
        over_rows_read=(
            "expect_column_mean_to_be_between",
            "expect_column_unique_value_count_to_be_between",
        ),
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
        changes_only=True,
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
    """What a check's record is valid for: the suite, its query and keys, the time zone, and
    for a feed the staging views and the macros their values come from (records.py)."""
    project = settings.dbt_project_dir
    staging = sorted((project / "models" / "staging").glob("*.sql")) if dataset.feed else []
    macros = [project / "macros" / m for m in STAGING_MACROS] if dataset.feed else []
    return definition_digest(
        suite_file(dataset.suite).read_bytes(),
        dataset.sql,
        ",".join(dataset.keys),
        settings.timezone,
        *(path.read_bytes() if path.exists() else b"" for path in (*staging, *macros)),
    )


# What a check may read part of the rows for: expectations each row meets or fails alone, and
# uniqueness (checked where rows are new or changed; the rows kept were unique).
ROW_BY_ROW = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_be_in_type_list",
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
    }
)


def reads_part(dataset: Dataset) -> bool:
    """Whether a build's check may read only what changed: every expectation of the suite is
    row by row, without `mostly` (a share of all rows), or one the dataset takes over the rows
    read on purpose. Else (say, a row count added to the suite) it reads every row."""
    expectations = json.loads(suite_file(dataset.suite).read_text())["expectations"]
    return all(
        (e["type"] in ROW_BY_ROW and "mostly" not in e.get("kwargs", {}))
        or e["type"] in dataset.over_rows_read
        for e in expectations
    )
