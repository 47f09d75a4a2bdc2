"""Per-day aggregates: the sales lines and loyalty events reduced once per customer and local
day (sales: per transaction and day), for every line filter (`where`, `event`) the segments
use, and the features of any D in a range read from them.

A range of days (a backfill, `segflow backfill`) builds these once up to its last day; each
day's features are then sums over the days its windows cover, instead of a new scan of every
line with its text filters. The result is the one `sql.features_sql` defines, exactly:

- sums (revenue, items, events, points) of per-day sums are the sums;
- a last or first order or event is the newest or oldest day with one;
- orders are distinct transactions. A transaction's lines normally share one local day, so a
  transaction is one order on its day and the window's orders are a sum. When its lines fall
  on two or more local days (a receipt that crosses midnight, a correction dated later), the
  transaction is marked `spans` and counted distinct among those days that pass the window:
  once, as docs/segments.md defines it, however many of its days the window holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from segflow.segments.sql import (
    Context,
    Feature,
    filter_name,
    line_conditions,
    prepared_rows,
    pruning,
    when_all,
    window_conditions,
)

DAILY_SALES = "int_daily_sales"
DAILY_EVENTS = "int_daily_events"
# Where a build keeps the per-day aggregates between builds (dbt_project/macros/daily_aggregate.sql).
DAILY_SCHEMA = "segflow_daily"

_ORDER_METRICS = ("orders", "avg_order_value", "days_since_last_order", "days_since_first_order")


# Line filters are told apart and named by their SQL in one fixed context, so that a dbt model
# (whose literals are written for Jinja) and a direct query name the same filter alike.
_NAMING = Context(as_of="D", relation=lambda name: name, jinja=False)


def line_filters(features: list[Feature]) -> dict[str, str]:
    """Each distinct line filter (the row filter without its window; `filter_key`) -> the
    prefix of its columns in the per-day aggregates, named as `sql.filter_name` names it
    (unique among them). The builder and the reader call this with the same features, so
    they agree."""
    filters: dict[str, str] = {}
    for feature in sorted(features, key=lambda f: f.column):
        key = filter_key(feature)
        if key not in filters:
            filters[key] = filter_name(replace(feature, window=None), key, filters.values())
    return filters


def filter_key(feature: Feature) -> str:
    """What tells a feature's line filter apart, the same in every context."""
    return _condition(feature, _NAMING)


def _condition(feature: Feature, ctx: Context) -> str:
    return when_all(line_conditions(feature, "rows", ctx))


def _named_conditions(chosen: list[Feature], ctx: Context) -> dict[str, tuple[str, str]]:
    """Each line filter's key -> the prefix of its columns and its SQL in `ctx`."""
    sql_of = {filter_key(f): _condition(f, ctx) for f in chosen}
    return {key: (prefix, sql_of[key]) for key, prefix in line_filters(chosen).items()}


def _kept(conditions: list[str]) -> str:
    """Only the rows some line filter counts (none when no feature reads this source)."""
    return pruning(conditions) if conditions else "\n    where false"


def daily_sales_sql(
    features: list[Feature],
    ctx: Context,
    source: str = "int_sales_lines",
    rows: str | None = None,
) -> str:
    """Sales lines up to D (the range's last day; or those the condition `rows` keeps) per
    customer, local day and transaction: per line filter its amount, quantity and whether the
    transaction has an order line (quantity > 0) passing the filter on that day; `spans` when
    the transaction's lines fall on more than one of the days read."""
    chosen = [f for f in features if not f.is_loyalty]
    filters = _named_conditions(chosen, ctx)
    metrics: dict[str, set[str]] = {}
    for feature in chosen:
        metrics.setdefault(filter_key(feature), set()).add(feature.metric)
    columns = []
    for key, (prefix, condition) in filters.items():
        used = metrics[key]
        if used & {"revenue", "avg_order_value"}:
            # Back to the lines' own type, so that summing days gives the type (and, on
            # Spark, the division's scale) summing lines gives.
            columns.append(
                f"cast(sum(case when {condition} then rows.amount end) as decimal(18, 4)) "
                f"as {prefix}_amount"
            )
        if "items" in used:
            columns.append(
                f"sum(case when {condition} then rows.quantity end) as {prefix}_quantity"
            )
        if used & set(_ORDER_METRICS):
            columns.append(
                f"max(case when {condition} and rows.quantity > 0 then 1 else 0 end) "
                f"as {prefix}_order"
            )
    keep = ["customer_id", "transaction_id", "occurred_on", "quantity", "amount"]
    selected = "".join(f",\n        {c}" for c in columns)
    return f"""with prepared as (

    {prepared_rows(chosen, source, keep, ctx, rows=rows)}

),

per_transaction as (

    select
        rows.customer_id,
        rows.occurred_on,
        rows.transaction_id{selected}
    from prepared as rows{_kept([condition for _, condition in filters.values()])}
    group by rows.customer_id, rows.occurred_on, rows.transaction_id

),

spanning as (

    select customer_id, transaction_id
    from per_transaction
    group by customer_id, transaction_id
    having count(*) > 1

)

select
    per_transaction.*,
    spanning.transaction_id is not null as spans
from per_transaction
left join spanning
    on spanning.customer_id = per_transaction.customer_id
    and spanning.transaction_id = per_transaction.transaction_id"""


def daily_events_sql(
    features: list[Feature],
    ctx: Context,
    source: str = "int_events",
    rows: str | None = None,
) -> str:
    """Loyalty events up to D (the range's last day; or those the condition `rows` keeps) per
    customer and local day: per line filter the number of events and their points."""
    chosen = [f for f in features if f.is_loyalty]
    filters = _named_conditions(chosen, ctx)
    columns = []
    for prefix, condition in filters.values():
        columns.append(f"count(case when {condition} then 1 end) as {prefix}_events")
        columns.append(f"sum(case when {condition} then rows.points end) as {prefix}_points")
    keep = ["customer_id", "occurred_on", "points"]
    selected = "".join(f",\n    {c}" for c in columns)
    return f"""with prepared as (

    {prepared_rows(chosen, source, keep, ctx, rows=rows)}

)

select
    rows.customer_id,
    rows.occurred_on{selected}
from prepared as rows{_kept([condition for _, condition in filters.values()])}
group by rows.customer_id, rows.occurred_on"""


def in_window(feature: Feature, ctx: Context) -> str:
    """The feature's window on a per-day row `d`, and never a day after D."""
    return when_all(
        [f"d.occurred_on <= {ctx.as_of}", *window_conditions(feature, "d.occurred_on", ctx)]
    )


def _day_pruning(features: list[Feature], ctx: Context) -> str:
    windows = {when_all(window_conditions(f, "d.occurred_on", ctx)) for f in features}
    keep = f"d.occurred_on <= {ctx.as_of}"
    if not windows or "true" in windows:
        return f"\n    where {keep}"
    return f"\n    where {keep}\n        and (" + "\n            or ".join(sorted(windows)) + ")"


def features_from_daily_sql(
    features: list[Feature],
    loyalty: bool,
    ctx: Context,
    prefixes: dict[str, str] | None = None,
) -> str:
    """The features of one source as of D from the per-day aggregates (`DAILY_SALES`,
    `DAILY_EVENTS`, built up to D or later): the columns `sql.features_sql` gives.

    `prefixes`: the aggregates' columns by line filter, when they were built for more
    features than these (`line_filters` of the features they were built for)."""
    chosen = of_source(features, loyalty)
    prefixes = prefixes if prefixes is not None else line_filters(chosen)
    if loyalty:
        return _event_features_sql(chosen, ctx, prefixes)
    return _sales_features_sql(chosen, ctx, prefixes)


def _event_features_sql(chosen: list[Feature], ctx: Context, prefixes: dict[str, str]) -> str:
    columns = []
    for feature in chosen:
        p, w = prefixes[filter_key(feature)], in_window(feature, ctx)
        if feature.metric == "events":
            value = f"sum(case when {w} then d.{p}_events end)"
        elif feature.metric == "points":
            value = f"sum(case when {w} then d.{p}_points end)"
        else:
            last = f"max(case when {w} and d.{p}_events > 0 then d.occurred_on end)"
            value = ctx.days_between(ctx.as_of, last)
        columns.append(f",\n    {value} as {feature.column}")
    return f"""select
    d.customer_id{"".join(columns)}
from {ctx.rel(DAILY_EVENTS)} as d{_day_pruning(chosen, ctx)}
group by d.customer_id"""


def of_source(features: list[Feature], loyalty: bool) -> list[Feature]:
    """The features of one source (loyalty events, or sales), each once, in column order."""
    return sorted({f for f in features if f.is_loyalty == loyalty}, key=lambda f: f.column)


def _sales_features_sql(chosen: list[Feature], ctx: Context, prefixes: dict[str, str]) -> str:
    totals: dict[str, str] = {}  # column -> aggregate over the per-transaction days
    for feature in chosen:
        p, w = prefixes[filter_key(feature)], in_window(feature, ctx)
        name = feature.column
        if feature.metric in ("revenue", "avg_order_value"):
            totals[f"{name}_amount"] = f"sum(case when {w} then d.{p}_amount end)"
        if feature.metric == "items":
            totals[f"{name}_quantity"] = f"sum(case when {w} then d.{p}_quantity end)"
        if feature.metric in ("orders", "avg_order_value"):
            totals[f"{name}_orders"] = (
                f"sum(case when {w} and d.{p}_order = 1 and not d.spans then 1 else 0 end)"
            )
        if feature.metric in ("days_since_last_order", "days_since_first_order"):
            which = "max" if feature.metric == "days_since_last_order" else "min"
            totals[f"{name}_{which}"] = (
                f"{which}(case when {w} and d.{p}_order = 1 then d.occurred_on end)"
            )
    total_columns = "".join(f",\n        {sql} as {c}" for c, sql in totals.items())
    return sales_features_from_totals(
        chosen,
        ctx,
        prefixes,
        f"""select
        d.customer_id{total_columns}
    from {ctx.rel(DAILY_SALES)} as d{_day_pruning(chosen, ctx)}
    group by d.customer_id""",
    )


def sales_features_from_totals(
    chosen: list[Feature],
    ctx: Context,
    prefixes: dict[str, str],
    totals: str,
    spanning_rows: str | None = None,
) -> str:
    """The sales features as of D from `totals`, a query of per-customer totals: per feature
    (`Feature.column` as n) `n_amount`, `n_quantity`, `n_orders` (orders of transactions on
    one day), `n_max` or `n_min` (the last or first order's day), as its metric needs. Orders
    of transactions that span days (`spans`) are counted distinct here, from the per-day
    aggregates (or `spanning_rows`, a relation holding at least their spanning rows)."""
    return totals_select(totals, *sales_finals(chosen, ctx, prefixes, spanning_rows))


def totals_select(
    totals: str,
    spanning: str | None,
    finals: list[tuple[str, str]],
    carried: Sequence[str] = (),
) -> str:
    """Features from `totals`, a query of per-customer totals (rows `t`), and `spanning`, the
    spanning transactions' orders per customer (rows `sp`, or None): the customer, the
    `carried` columns of the totals, and each (SQL, column) of `finals`."""
    columns = "".join(f",\n    t.{c}" for c in carried)
    columns += "".join(f",\n    {sql} as {column}" for sql, column in finals)
    spanning_cte = f",\n\nspanning as (\n\n    {spanning}\n\n)" if spanning else ""
    spanning_join = (
        "\nleft join spanning as sp\n    on sp.customer_id = t.customer_id" if spanning else ""
    )
    return f"""with totals as (

    {totals}

){spanning_cte}

select
    t.customer_id{columns}
from totals as t{spanning_join}"""


def sales_finals(
    chosen: list[Feature],
    ctx: Context,
    prefixes: dict[str, str],
    spanning_rows: str | None = None,
) -> tuple[str | None, list[tuple[str, str]]]:
    """For `sales_features_from_totals`: the query of the spanning transactions' distinct
    orders per customer (None when no feature counts orders), and (SQL, column) per feature
    over a row of totals `t` and of that query `sp`."""
    spanning: dict[str, str] = {}  # column -> distinct orders among spanning transactions
    for feature in chosen:
        if feature.metric in ("orders", "avg_order_value"):
            p, w = prefixes[filter_key(feature)], in_window(feature, ctx)
            spanning[f"{feature.column}_orders"] = (
                f"count(distinct case when {w} and d.{p}_order = 1 then d.transaction_id end)"
            )
    d = ctx.as_of

    def orders(name: str) -> str:
        return f"(t.{name}_orders + coalesce(sp.{name}_orders, 0))"

    def final(feature: Feature) -> str:
        n = feature.column
        return {
            "orders": orders(n),
            "revenue": f"t.{n}_amount",
            "items": f"t.{n}_quantity",
            "avg_order_value": f"cast(t.{n}_amount / nullif({orders(n)}, 0) as decimal(18, 4))",
            "days_since_last_order": ctx.days_between(d, f"t.{n}_max"),
            "days_since_first_order": ctx.days_between(d, f"t.{n}_min"),
        }[feature.metric]

    spanning_columns = "".join(f",\n        {sql} as {c}" for c, sql in spanning.items())
    query = f"""select
        d.customer_id{spanning_columns}
    from {spanning_rows or ctx.rel(DAILY_SALES)} as d
    where d.spans and d.occurred_on <= {d}
    group by d.customer_id"""
    return (query if spanning else None), [(final(f), f.column) for f in chosen]


@dataclass(frozen=True)
class DailyModel:
    """A per-day aggregate as the dbt model that a build keeps and brings up to date."""

    name: str  # DAILY_SALES or DAILY_EVENTS
    feed: str  # the raw feed whose deliveries change it
    key: str  # the feed's row key: a line moves between files by it
    source: str  # the model it reduces: lines or events of every customer not erased
    select: str  # its SQL over `source`, the rows read restricted by `rows`
    macros: str = ""  # a digest of the macros the SQL calls (dbt models only)

    @property
    def definition_hash(self) -> str:
        """What the stored table was built with: a change builds it whole again."""
        return hashlib.sha256((self.select + self.macros).encode()).hexdigest()[:16]


def daily_models(
    features: list[Feature], ctx: Context, rows: str | None = None, macros: str = ""
) -> list[DailyModel]:
    """The per-day aggregates of every line filter of `features`: sales, then events.
    `rows`: the condition on the source's rows (`rows`) that one build reads; `macros`: a
    digest of the dbt macros the SQL calls."""
    sales, events = "int_sales_lines_retained", "int_events_retained"
    return [
        DailyModel(
            DAILY_SALES,
            "transactions",
            "transaction_id",
            sales,
            daily_sales_sql(features, ctx, sales, rows),
            macros,
        ),
        DailyModel(
            DAILY_EVENTS,
            "events",
            "event_id",
            events,
            daily_events_sql(features, ctx, events, rows),
            macros,
        ),
    ]


def daily_prefixes(features: list[Feature]) -> tuple[dict[str, str], dict[str, str]]:
    """The columns of the kept per-day aggregates by line filter (sales, events), as the build
    named them for `features`, every feature of the project."""
    return (
        line_filters([f for f in features if not f.is_loyalty]),
        line_filters([f for f in features if f.is_loyalty]),
    )
