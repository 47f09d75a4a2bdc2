"""SQL for segments: one generator for the dbt models and for direct evaluation (preview).

Every meaning of docs/segments.md is written once, here. The same functions emit a dbt model
(relations as `ref()`, D as the `as_of` var) or a query run straight on the warehouse
(relations as tables, D as a literal), so a preview, a build and `members --as-of` agree.
The SQL is the dialect DuckDB and PostgreSQL share (checked by the tests on both engines);
where Spark SQL differs (date differences, the string type, regex matching), a dbt model calls
a dispatched macro of dbt_project/macros/dialect.sql and a direct query uses `Context.dialect`.

Values from YAML only ever appear as quoted literals; identifiers come from `fields.py`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from segflow.segments.conditions import metric_leaves
from segflow.segments.fields import (
    EVENT_COLUMNS,
    LOYALTY_METRICS,
    PROFILE_FIELDS,
    SALES_COLUMNS,
    ZERO_WHEN_NOTHING,
    FieldType,
)
from segflow.segments.model import (
    AllOf,
    AnyOf,
    AttributeLeaf,
    Comparison,
    MetricLeaf,
    NotOf,
    ProfileLeaf,
    SegmentDefinition,
    SegmentLeaf,
    Window,
    decimal_text,
    normalise_value,
)
from segflow.segments.values import Duration, RelativeDate

POPULATION = "dim_population"
ATTRIBUTES = "int_segment_attribute_values"
SALES_FEATURES = "int_segment_sales_features"
EVENT_FEATURES = "int_segment_event_features"
FLAGS = "int_segment_flags"

PROFILE_COLUMNS = [
    f
    for f in PROFILE_FIELDS
    if f not in ("age", "days_since_signup", "days_until_birthday", "birth_month")
]


def days_between_sql(dialect: str, later: str, earlier: str) -> str:
    """Whole days from the date `earlier` to the date `later`, in direct SQL of `dialect`."""
    if dialect == "spark":  # DuckDB's spelling, which the Spark adapter translates
        return f"date_diff('day', {earlier}, {later})"
    return f"{later} - {earlier}"


@dataclass(frozen=True)
class Context:
    """Where generated SQL reads from, and how D is written."""

    as_of: str  # a SQL expression of type date
    relation: Callable[[str], str]  # a model's name -> the SQL that names it
    jinja: bool  # the SQL is a dbt model template: no literal may open a Jinja tag
    dialect: str = "default"  # direct SQL: "default" (DuckDB, PostgreSQL) or "spark"
    # The flags read the features from the population's own rows (a history range's days,
    # `range_totals.range_population_sql`) instead of joining the features models.
    features_on_population: bool = False

    def rel(self, name: str) -> str:
        return self.relation(name)

    # -- where the engines' SQL differs: a dbt macro in a model, else the dialect's form --
    def days_between(self, later: str, earlier: str) -> str:
        """Whole days from the date `earlier` to the date `later` (an integer)."""
        if self.jinja:
            return f"{{{{ days_between({_jinja_expr(later)}, {_jinja_expr(earlier)}) }}}}"
        return days_between_sql(self.dialect, later, earlier)

    @property
    def text_type(self) -> str:
        """The type name for text in a cast (Spark has no `varchar` without a length)."""
        if self.jinja:
            return "{{ text_type() }}"
        return "string" if self.dialect == "spark" else "varchar"

    @property
    def regex_match(self) -> str:
        """The infix operator `text <op> 'pattern'`: true when the pattern matches."""
        if self.jinja:
            return "{{ regex_match() }}"
        return "rlike" if self.dialect == "spark" else "~"


AS_OF_JINJA = "{{ as_of_date() }}"


def _jinja_expr(sql: str) -> str:
    """SQL text as a Jinja expression (a macro's argument), D's `{{ as_of_date() }}` as the
    macro call it is. Text literals never hold `{` here (see `text_literal`)."""

    def string(part: str) -> str:
        return '"' + part.replace("\\", "\\\\").replace('"', '\\"') + '"'

    pieces: list[str] = []
    for i, part in enumerate(sql.split(AS_OF_JINJA)):
        if i:
            pieces.append("as_of_date()")
        if part:
            pieces.append(string(part))
    return " ~ ".join(pieces) or '""'


def dbt_context() -> Context:
    return Context(as_of=AS_OF_JINJA, relation=lambda n: f"{{{{ ref('{n}') }}}}", jinja=True)


def direct_context(as_of: date, relations: dict[str, str], dialect: str = "default") -> Context:
    return Context(
        as_of=date_literal(as_of), relation=lambda n: relations[n], jinja=False, dialect=dialect
    )


# -- literals --------------------------------------------------------------------------------


def text_literal(text: str, ctx: Context) -> str:
    quoted = "'" + text.replace("'", "''") + "'"
    if "\\" in text:
        # Spark reads a backslash in a literal as an escape; chr(92) means one everywhere.
        quoted = quoted.replace("\\", "' || chr(92) || '")
        quoted = "(" + quoted + ")"
    if ctx.jinja and "{" in quoted:
        # Split after every `{` so that no `{{`, `{%` or `{#` reaches dbt's Jinja.
        return "(" + quoted.replace("{", "{' || '") + ")"
    return quoted


def date_literal(day: date) -> str:
    return f"cast('{day.isoformat()}' as date)"


def shift_date(anchor: str, amount: int, unit: str) -> str:
    """Calendar arithmetic from a date: months keep the day, clamped to the month's end.

    Days are added as a whole number, not as an interval: DuckDB (2.0) holds
    `interval '90 day'` and `interval '3 month'` equal and computes two aggregates of one
    query that differ only there as one (`last: 90d` read as `last: 3m`)."""
    if amount == 0:
        return anchor
    if unit == "w":
        amount, unit = amount * 7, "d"
    if unit == "d":
        return f"cast({anchor} {'-' if amount < 0 else '+'} {abs(amount)} as date)"
    word = {"m": "month", "y": "year"}[unit]
    return f"cast({anchor} + interval '{amount} {word}' as date)"


def value_literal(value: Any, ctx: Context) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, RelativeDate):
        return shift_date(ctx.as_of, value.amount, value.unit)
    if isinstance(value, date):
        return date_literal(value)
    return text_literal(str(value), ctx)


# -- comparisons -----------------------------------------------------------------------------


def compare(
    expr: str, field_type: FieldType, op: str, value: Any, ctx: Context, prepared: bool = False
) -> str:
    """A comparison that is true or false, never null: a missing value makes it false.

    `prepared`: a text `expr` is already trimmed and lower-case (see `prepared_rows`)."""
    if op == "is":
        return f"({expr} is {'null' if value == 'missing' else 'not null'})"
    return f"coalesce({_raw_compare(expr, field_type, op, value, ctx, prepared)}, false)"


def _raw_compare(
    expr: str, field_type: FieldType, op: str, value: Any, ctx: Context, prepared: bool = False
) -> str:
    text = field_type is FieldType.TEXT
    if text and op not in ("gt", "gte", "lt", "lte", "between"):
        left = expr if prepared else f"lower(trim({expr}))"

        def lit(v: Any) -> str:
            return f"lower(trim({text_literal(str(v), ctx)}))"
    elif text:  # ordered comparison of text (attributes): compare values that are numbers
        left = (
            f"(case when trim({expr}) {ctx.regex_match} '^-?[0-9]+([.][0-9]+)?$' "
            f"then cast(trim({expr}) as decimal(38, 10)) end)"
        )
        lit = lambda v: value_literal(v, ctx)  # noqa: E731
    else:
        left = expr
        lit = lambda v: value_literal(v, ctx)  # noqa: E731
    if op in ("eq", "ne", "gt", "gte", "lt", "lte"):
        symbol = {"eq": "=", "ne": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
        return f"({left} {symbol} {lit(value)})"
    if op == "between":
        return f"({left} between {lit(value[0])} and {lit(value[1])})"
    if op in ("in", "not_in"):
        items = ", ".join(lit(v) for v in value)
        return f"({left} {'not in' if op == 'not_in' else 'in'} ({items}))"
    if op == "contains":
        return f"(position({lit(value)} in {left}) > 0)"
    if op == "starts_with":  # Spark's function is startswith: this form is shared
        prefix = lit(value)
        return f"(substr({left}, 1, length({prefix})) = {prefix})"
    raise ValueError(f"unknown comparison {op}")


# -- population and attributes at D ------------------------------------------------------------


def _part(part: str, expr: str) -> str:
    return f"cast(extract({part} from {expr}) as integer)"


def _leap(year: str) -> str:
    return f"(mod({year}, 4) = 0 and (mod({year}, 100) <> 0 or mod({year}, 400) = 0))"


def _birthday_in(year: str) -> str:
    """The birthday in a year; 29 February falls on 28 February in other years."""
    month, day = _part("month", "birth_date"), _part("day", "birth_date")
    return (
        f"make_date({year}, {month}, case when {month} = 2 and {day} = 29 "
        f"and not {_leap(year)} then 28 else {day} end)"
    )


# The columns of `population_sql`, in order.
POPULATION_COLUMNS = (
    "customer_id",
    "as_of",
    *PROFILE_COLUMNS[1:],
    "age",
    "days_since_signup",
    "days_until_birthday",
    "birth_month",
)


def population_sql(ctx: Context, carry: Sequence[str] = ()) -> str:
    """Customers in the population at D with their profile at D and the derived fields
    (POPULATION_COLUMNS), and the versions' columns `carry`."""
    d = ctx.as_of
    columns = ",\n        ".join(PROFILE_COLUMNS[1:])
    carried = "".join(f",\n        {c}" for c in carry)
    year = _part("year", "as_of")
    return f"""with versions_at_as_of as (

    select
        versions.*,
        {d} as as_of
    from {ctx.rel("int_customer_versions")} as versions
    where (versions.valid_from is null or versions.valid_from <= {d})
        and (versions.valid_to is null or {d} < versions.valid_to)

),

population as (

    select
        *,
        {_birthday_in(year)} as birthday_this_year,
        {_birthday_in(year + " + 1")} as birthday_next_year
    from versions_at_as_of
    where signup_date <= as_of
        and status not in ('blocked', 'fraud')
        and not is_erased

)

select
        customer_id,
        as_of,
        {columns},
        {year} - {_part("year", "birth_date")}
            - case when birthday_this_year > as_of then 1 else 0 end as age,
        {ctx.days_between("as_of", "signup_date")} as days_since_signup,
        case
            when birthday_this_year >= as_of then {ctx.days_between("birthday_this_year", "as_of")}
            else {ctx.days_between("birthday_next_year", "as_of")}
        end as days_until_birthday,
        {_part("month", "birth_date")} as birth_month{carried}
from population"""


def attribute_values_sql(ctx: Context) -> str:
    """Each customer's custom attribute values at D: per (attribute, value), the newest row on
    or before D decides whether the value is present."""
    return f"""with changes as (

    select
        customer_id,
        attribute,
        value,
        is_deleted,
        row_number() over (
            partition by customer_id, attribute, lower(value)
            order by updated_at desc, source_file desc
        ) as newest_first
    from {ctx.rel("stg_customer_attributes")}
    where updated_on <= {ctx.as_of}

)

select
    customer_id,
    attribute,
    value
from changes
where newest_first = 1
    and not is_deleted"""


# -- features ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feature:
    """One distinct (metric, where, window, event): a column of a features model."""

    metric: str
    where: tuple[tuple[str, str, Any], ...]  # (column, op, normalised value)
    window: Window | None
    events: tuple[str, ...]
    key: str

    @property
    def column(self) -> str:
        """The features model's column: what it counts, over which lines (`revenue_last_12m`,
        `orders_brand_nordlicht_last_14d_cde495`), with a short hash where the words alone
        could name two features (values beyond lower-case letters and digits, or long names)."""
        # Words alone name one feature only without a where-filter and with one plain event:
        # values and event lists could run into each other's words (`a_b` and `a`, `b`).
        plain = not self.where and len(self.events) <= 1 and _plain(list(self.events))
        return _name(self.metric, self.filter_words, self.key, plain)

    @property
    def filter_words(self) -> list[str]:
        """The row filter in words: events, where, window."""
        words = [_slug(e) for e in self.events]
        for column, op, value in self.where:
            words += [column, *_OP_WORDS[op], *_value_words(value)]
        if self.window is not None:
            w = self.window
            if w.last is not None:
                words += ["last", _slug(str(w.last))]
            if w.from_ is not None:
                words += ["from", *_value_words(w.from_)]
            if w.to is not None:
                words += ["to", *_value_words(w.to)]
        return [w for w in words if w]

    @property
    def is_loyalty(self) -> bool:
        return self.metric in LOYALTY_METRICS


# Comparison operators in column names (`eq` needs no word: `brand_nordlicht`).
_OP_WORDS: dict[str, tuple[str, ...]] = {
    "eq": (),
    "ne": ("not",),
    "gt": ("over",),
    "gte": ("at_least",),
    "lt": ("under",),
    "lte": ("at_most",),
    "between": ("between",),
    "in": ("in",),
    "not_in": ("not_in",),
    "contains": ("containing",),
    "starts_with": ("starting",),
    "is": ("is",),
}
_MAX_NAME = 54  # PostgreSQL cuts identifiers at 63 bytes: room for suffixes such as _amount


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _value_words(value: Any) -> list[str]:
    if isinstance(value, tuple | list):
        return [w for v in value for w in (_value_words(v) or ["and"])][:6]
    text = str(_jsonable(value))
    return [_slug(text.replace("-", "minus_", 1) if text.startswith("-") else text)]


def _plain(values: list[str]) -> bool:
    """Whether words made of these values tell every value apart: lower-case letters and
    digits, words separated by one underscore (else `Nordlicht` and `nordlicht`, or `a-b` and
    `a b`, would share a name)."""
    return all(re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", v) for v in values)


def _name(head: str, words: list[str], key: str, plain: bool = True) -> str:
    name = "_".join([head, *words])
    if len(name) > _MAX_NAME or not plain:
        name = f"{name[: _MAX_NAME - 7].rstrip('_')}_{key[:6]}"
    return name


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal | RelativeDate | Duration):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def feature_of(leaf: MetricLeaf) -> Feature:
    columns = EVENT_COLUMNS if leaf.is_loyalty else SALES_COLUMNS
    where = tuple(
        (column, cmp.op, normalise_value(cmp.op, cmp.value, column, columns[column]))
        for column, cmp in sorted((leaf.where or {}).items())
    )
    window = leaf.window
    events = tuple(sorted({e.strip().lower() for e in leaf.event or []}))
    spec = {
        "metric": leaf.metric,
        "where": _jsonable(where),
        "window": None
        if window is None
        else {
            "last": _jsonable(window.last),
            "from": _jsonable(window.from_),
            "to": _jsonable(window.to),
        },
        "event": list(events),
    }
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]
    return Feature(leaf.metric, where, window, events, key)


def describe_feature(feature: Feature) -> str:
    parts = [feature.metric]
    if feature.events:
        parts.append("event " + "/".join(feature.events))
    for column, op, value in feature.where:
        parts.append(f"{column} {op} {_jsonable(value)}")
    if feature.window is not None:
        w = feature.window
        parts.append(
            f"last {w.last}"
            if w.last
            else f"from {_jsonable(w.from_) or '…'} to {_jsonable(w.to) or 'D'}"
        )
    return ", ".join(parts)


def _row_filter(feature: Feature, alias: str, date_column: str, ctx: Context) -> list[str]:
    """The row filter (where, event, window) over rows prepared by `prepared_rows`."""
    return line_conditions(feature, alias, ctx) + window_conditions(
        feature, f"{alias}.{date_column}", ctx
    )


def line_conditions(feature: Feature, alias: str, ctx: Context) -> list[str]:
    """The part of the row filter that does not depend on D: where and event."""
    columns = EVENT_COLUMNS if feature.is_loyalty else SALES_COLUMNS
    conditions = [
        compare(f"{alias}.{column}", columns[column], op, value, ctx, prepared=True)
        for column, op, value in feature.where
    ]
    if feature.events:
        types = ", ".join(f"lower(trim({text_literal(e, ctx)}))" for e in feature.events)
        conditions.append(f"coalesce({alias}.event_type in ({types}), false)")
    return conditions


def window_conditions(feature: Feature, day: str, ctx: Context) -> list[str]:
    """The window's part of the row filter, on the date expression `day`."""
    window = feature.window
    conditions: list[str] = []
    if window is not None:
        if window.last is not None:
            start = shift_date(ctx.as_of, -window.last.amount, window.last.unit)
            conditions.append(f"{day} > {start}")
        if window.from_ is not None:
            conditions.append(f"{day} >= {value_literal(window.from_, ctx)}")
        if window.to is not None:
            conditions.append(f"{day} <= {value_literal(window.to, ctx)}")
    return conditions


def prepared_rows(
    features: list[Feature], source: str, keep: list[str], ctx: Context, rows: str | None = None
) -> str:
    """The source's rows up to D (or those `rows`, a condition on them, keeps) with the
    columns the features (all of one source) filter on, text trimmed and lower-cased once per
    row rather than once per feature."""
    columns = EVENT_COLUMNS if any(f.is_loyalty for f in features) else SALES_COLUMNS
    used = sorted(
        {c for f in features for c, _, _ in f.where}
        | ({"event_type"} if any(f.events for f in features) else set())
    )
    prepared = [
        f"lower(trim(rows.{c})) as {c}" if columns[c] is FieldType.TEXT else f"rows.{c}"
        for c in used
        if c not in keep
    ]
    selected = ",\n        ".join([f"rows.{c}" for c in keep] + prepared)
    return f"""select
        {selected}
    from {ctx.rel(source)} as rows
    where {rows or f"rows.occurred_on <= {ctx.as_of}"}"""


def when_all(conditions: list[str]) -> str:
    return " and ".join(conditions) if conditions else "true"


def pruning(row_filters: list[str]) -> str:
    """A WHERE clause that keeps only the rows some feature counts, so that the grouping
    works on what the filters and windows leave (a brand over 90 days reads that brand's
    lines of 90 days), not on all of history. Nothing is lost: a row no feature counts adds
    nothing to any aggregate, and a customer left without rows reads as a customer without
    matching rows (null, or zero where docs/segments.md says so). A feature over every row
    keeps them all."""
    if not row_filters or "true" in row_filters:
        return ""
    return "\n    where " + "\n        or ".join(row_filters)


def _event_aggregate(feature: Feature, ctx: Context) -> str:
    when = when_all(_row_filter(feature, "events", "occurred_on", ctx))
    if feature.metric == "events":
        return f"count(case when {when} then 1 end)"
    if feature.metric == "points":
        return f"sum(case when {when} then events.points end)"
    last = f"max(case when {when} then events.occurred_on end)"
    return ctx.days_between(ctx.as_of, last)


def filter_name(feature: Feature, row_filter: str, taken: Collection[str] = ()) -> str:
    """A line filter's flag column: `in_last_365d`, `in_every_line` (the words of the filter,
    hashed where they could name two filters, or where another filter of the query, in
    `taken`, has those words already: `event: [a, b]` and `event: a_b`)."""
    values = [str(_jsonable(v)) for *_, v in feature.where]
    digest = hashlib.sha256(row_filter.encode()).hexdigest()
    words = feature.filter_words or ["every_line"]
    name = _name("in", words, digest, _plain(values))
    return name if name not in taken else _name("in", words, digest, plain=False)


def _sales_features_sql(chosen: list[Feature], ctx: Context) -> str:
    """Sales features over one scan of the lines up to D.

    Each distinct row filter (where + window) is computed once per line. Orders are the
    transactions with at least one order line (quantity > 0) passing the filter: a flag per
    transaction, summed per customer, instead of a distinct count per feature. Sums and
    dates aggregate straight per customer. Both groupings see every customer with lines.
    """
    filters: dict[str, str] = {}  # row filter SQL -> its column
    shown: dict[str, str] = {}  # row filter SQL -> as the model shows it, a line per condition
    filter_of: dict[Feature, str] = {}
    for feature in chosen:
        conditions = _row_filter(feature, "lines", "occurred_on", ctx)
        row_filter = when_all(conditions)
        if row_filter not in filters:
            filters[row_filter] = filter_name(feature, row_filter, filters.values())
            shown[row_filter] = (
                "(\n            " + "\n            and ".join(conditions) + "\n        )"
                if len(conditions) > 1
                else row_filter
            )
        filter_of[feature] = filters[row_filter]
    alias = filter_of.__getitem__

    orders = sorted({alias(f) for f in chosen if f.metric in ("orders", "avg_order_value")})
    totals: dict[str, str] = {}  # column -> aggregate over lines
    for feature in chosen:
        w = "lines." + alias(feature)
        if feature.metric in ("revenue", "avg_order_value"):
            totals[f"{alias(feature)}_amount"] = f"sum(case when {w} then lines.amount end)"
        elif feature.metric == "items":
            totals[f"{alias(feature)}_quantity"] = f"sum(case when {w} then lines.quantity end)"
        elif feature.metric in ("days_since_last_order", "days_since_first_order"):
            which = "max" if feature.metric == "days_since_last_order" else "min"
            totals[f"{alias(feature)}_{which}"] = (
                f"{which}(case when {w} and lines.quantity > 0 then lines.occurred_on end)"
            )
    d = ctx.as_of

    def final(feature: Feature) -> str:
        a = alias(feature)
        return {
            "orders": f"coalesce(o.{a}_orders, 0)",
            "revenue": f"t.{a}_amount",
            "items": f"t.{a}_quantity",
            "avg_order_value": f"cast(t.{a}_amount / nullif(o.{a}_orders, 0) as decimal(18, 4))",
            "days_since_last_order": ctx.days_between(d, f"t.{a}_max"),
            "days_since_first_order": ctx.days_between(d, f"t.{a}_min"),
        }[feature.metric]

    keep = ["customer_id", "transaction_id", "occurred_on", "quantity", "amount"]
    flag_columns = "".join(f",\n        {shown[sql]} as {a}" for sql, a in filters.items())
    total_columns = "".join(f",\n        {sql} as {c}" for c, sql in totals.items())
    order_flags = "".join(
        f",\n            max(case when lines.{a} and lines.quantity > 0 then 1 else 0 end) as {a}"
        for a in orders
    )
    order_sums = "".join(f",\n        sum(per_transaction.{a}) as {a}_orders" for a in orders)
    final_columns = "".join(f",\n    {final(f)} as {f.column}" for f in chosen)
    orders_cte = (
        f""",

orders as (

    select
        per_transaction.customer_id{order_sums}
    from (
        select
            lines.customer_id,
            lines.transaction_id{order_flags}
        from lines
        group by lines.customer_id, lines.transaction_id
    ) as per_transaction
    group by per_transaction.customer_id

)"""
        if orders
        else ""
    )
    orders_join = "\nleft join orders as o\n    on o.customer_id = t.customer_id" if orders else ""
    return f"""with prepared as (

    {prepared_rows(chosen, "int_sales_lines", keep, ctx)}

),

lines as (

    select
        lines.*{flag_columns}
    from prepared as lines{pruning(list(shown.values()))}

),

totals as (

    select
        lines.customer_id{total_columns}
    from lines
    group by lines.customer_id

){orders_cte}

select
    t.customer_id{final_columns}
from totals as t{orders_join}"""


def features_sql(features: Iterable[Feature], loyalty: bool, ctx: Context) -> str:
    """Every feature of one source in a single pass over its rows up to D."""
    chosen = sorted({f for f in features if f.is_loyalty == loyalty}, key=lambda f: f.column)
    if not loyalty:
        return _sales_features_sql(chosen, ctx)
    columns = "".join(f",\n    {_event_aggregate(f, ctx)} as {f.column}" for f in chosen)
    keep = ["customer_id", "occurred_on", "points"]
    row_filters = {when_all(_row_filter(f, "events", "occurred_on", ctx)) for f in chosen}
    return f"""with events as (

    {prepared_rows(chosen, "int_events", keep, ctx)}

)

select
    events.customer_id{columns}
from events{pruning(sorted(row_filters))}
group by events.customer_id"""


# -- conditions and segments -----------------------------------------------------------------


def leaf_value_sql(leaf: Any, ctx: Context) -> str:
    """The value a leaf compares, for one customer row of the population `p` (for explain)."""
    if isinstance(leaf, ProfileLeaf):
        return f"p.{leaf.profile}"
    if isinstance(leaf, MetricLeaf):
        feature = feature_of(leaf)
        alias = "p" if ctx.features_on_population else "e" if feature.is_loyalty else "s"
        column = f"{alias}.{feature.column}"
        return f"coalesce({column}, 0)" if leaf.metric in ZERO_WHEN_NOTHING else column
    if isinstance(leaf, AttributeLeaf):
        values = (
            "array_join(array_sort(collect_list(a.value)), ', ')"
            if ctx.dialect == "spark"
            else "string_agg(a.value, ', ' order by a.value)"
        )
        return (
            f"(select {values} from {ctx.rel(ATTRIBUTES)} "
            f"as a where a.customer_id = p.customer_id and a.attribute = "
            f"{text_literal(leaf.attribute, ctx)})"
        )
    raise TypeError(type(leaf))


def condition_sql(condition: Any, ctx: Context, refs: Segments) -> str:
    """A condition as SQL that is true or false for each row of the population `p`."""
    if isinstance(condition, AllOf):
        return "(" + " and ".join(condition_sql(c, ctx, refs) for c in condition.all) + ")"
    if isinstance(condition, AnyOf):
        return "(" + " or ".join(condition_sql(c, ctx, refs) for c in condition.any) + ")"
    if isinstance(condition, NotOf):
        return f"(not {condition_sql(condition.not_, ctx, refs)})"
    if isinstance(condition, SegmentLeaf):
        name, tier = condition.target
        if tier is None:
            return refs.member(name)
        return f"coalesce({refs.tier(name)} = {text_literal(tier, ctx)}, false)"
    if isinstance(condition, ProfileLeaf):
        field_type = PROFILE_FIELDS[condition.profile]
        return _leaf_compare(
            f"p.{condition.profile}", field_type, condition, condition.profile, ctx
        )
    if isinstance(condition, MetricLeaf):
        return _leaf_compare(
            leaf_value_sql(condition, ctx), FieldType.NUMBER, condition, condition.metric, ctx
        )
    if isinstance(condition, AttributeLeaf):
        return _attribute_sql(condition, ctx)
    raise TypeError(type(condition))


def _leaf_compare(
    expr: str, field_type: FieldType, leaf: Comparison, subject: str, ctx: Context
) -> str:
    value = normalise_value(leaf.op, leaf.value, subject, field_type)
    return compare(expr, field_type, leaf.op, value, ctx)


def _attribute_sql(leaf: AttributeLeaf, ctx: Context) -> str:
    """Any value matches; `ne`/`not_in` hold when there are values and none matches."""
    values = (
        f"select 1 from {ctx.rel(ATTRIBUTES)} as a where a.customer_id = p.customer_id "
        f"and a.attribute = {text_literal(leaf.attribute, ctx)}"
    )
    op = leaf.op
    if op == "is":
        return f"({'not ' if leaf.value == 'missing' else ''}exists ({values}))"
    value = normalise_value(op, leaf.value, leaf.attribute, FieldType.TEXT, ordered_ok=True)
    if op in ("ne", "not_in"):
        positive = "eq" if op == "ne" else "in"
        match = compare("a.value", FieldType.TEXT, positive, value, ctx)
        return f"(exists ({values}) and not exists ({values} and {match}))"
    return f"(exists ({values} and {compare('a.value', FieldType.TEXT, op, value, ctx)}))"


def segment_features(definition: SegmentDefinition) -> list[Feature]:
    return [feature_of(leaf) for leaf in metric_leaves(definition)]


def _joins(features: list[Feature], ctx: Context) -> str:
    joins = ""
    if ctx.features_on_population:
        return joins
    if any(not f.is_loyalty for f in features):
        joins += f"\nleft join {ctx.rel(SALES_FEATURES)} as s\n    on s.customer_id = p.customer_id"
    if any(f.is_loyalty for f in features):
        joins += f"\nleft join {ctx.rel(EVENT_FEATURES)} as e\n    on e.customer_id = p.customer_id"
    return joins


@dataclass(frozen=True)
class SegmentSpec:
    name: str
    definition: SegmentDefinition
    static_members: tuple[str, ...] = ()


class Segments:
    """Membership of segments as expressions over one population row `p`.

    A reference to another segment inlines that segment's expression (references form no
    cycle), so every segment of a project is evaluated in one pass over the population.
    """

    def __init__(self, specs: Iterable[SegmentSpec], ctx: Context):
        self.specs = {spec.name: spec for spec in specs}
        self.ctx = ctx
        self._member: dict[str, str] = {}
        self._tier: dict[str, str] = {}

    def _excluded(self, spec: SegmentSpec) -> str | None:
        exclude = spec.definition.exclude
        return None if exclude is None else condition_sql(exclude, self.ctx, self)

    def tier(self, name: str) -> str:
        """The tier of a tiered segment: the first tier whose condition holds, else null."""
        if name not in self._tier:
            spec, ctx = self.specs[name], self.ctx
            excluded = self._excluded(spec)
            cases = [f"when {excluded} then null"] if excluded else []
            cases += [
                f"when {condition_sql(t.when, ctx, self)} then {text_literal(t.name, ctx)}"
                for t in spec.definition.tiers or []
            ]
            self._tier[name] = "(case\n        " + "\n        ".join(cases) + "\n    end)"
        return self._tier[name]

    def member(self, name: str) -> str:
        """True when the population row is a member (population ∧ rules ∧ ¬exclude)."""
        if name not in self._member:
            spec, ctx = self.specs[name], self.ctx
            kind = spec.definition.kind
            if kind == "tiered":
                self._member[name] = f"({self.tier(name)} is not null)"
                return self._member[name]
            if kind == "static":
                listed = ", ".join(text_literal(m, ctx) for m in spec.static_members)
                rule = f"p.customer_id in ({listed})" if listed else "false"
            else:
                rule = condition_sql(spec.definition.rules, ctx, self)
            excluded = self._excluded(spec)
            self._member[name] = f"({rule} and not {excluded})" if excluded else f"({rule})"
        return self._member[name]


def flags_sql(specs: list[SegmentSpec], ctx: Context) -> str:
    """One row per customer in the population at D, one membership column per segment
    (`m_<name>`, and `t_<name>` for a tiered segment's tier): all segments in one pass."""
    segments = Segments(specs, ctx)
    features = [f for spec in specs for f in segment_features(spec.definition)]
    columns = ["p.customer_id", "p.as_of"]
    for spec in specs:
        columns.append(f"{segments.member(spec.name)} as m_{spec.name}")
        if spec.definition.kind == "tiered":
            columns.append(f"{segments.tier(spec.name)} as t_{spec.name}")
    body = ",\n    ".join(columns)
    return f"select\n    {body}\nfrom {ctx.rel(POPULATION)} as p{_joins(features, ctx)}"


def segment_sql(name: str, tiered: bool, ctx: Context) -> str:
    """The members of one segment at D, read from the flags of all segments."""
    tier = f"\n    t_{name} as tier," if tiered else ""
    return f"select\n    customer_id,{tier}\n    as_of\nfrom {ctx.rel(FLAGS)}\nwhere m_{name}"


def membership_sql(segments: list[tuple[str, bool]], ctx: Context) -> str:
    """segment × member for every segment (name, is_tiered)."""
    text = ctx.text_type
    if not segments:
        return (
            f"select cast(null as {text}) as segment, cast(null as {text}) as tier, "
            f"cast(null as {text}) as customer_id, cast(null as date) as as_of\nwhere false"
        )
    parts = [
        f"select\n    {text_literal(name, ctx)} as segment,\n"
        f"    {'cast(tier as ' if tiered else 'cast(null as '}{text}) as tier,\n"
        f"    customer_id,\n    as_of\nfrom {ctx.rel('seg_' + name)}"
        for name, tiered in segments
    ]
    return "\n\nunion all\n\n".join(parts)


# segment_stats reads each customer's orders and revenue up to D from the sales features
# (summed from the per-day aggregates) rather than scanning every line again, so the features
# model always has these two, whichever metrics the segments use (`compile.all_features`).
STATS_FEATURES = tuple(feature_of(MetricLeaf(metric=m, gte=0)) for m in ("orders", "revenue"))


def stats_sql(segments: list[str], ctx: Context) -> str:
    """Per segment at D: members, share of the population, the members' orders, revenue and
    average order value over their whole history up to D, and the same for the rest of the
    population. One pass over the flags of all segments, joined to the sales features."""
    orders, revenue = (f.column for f in STATS_FEATURES)
    columns = [
        "count(*) as population",
        f"sum(t.{orders}) as orders",
        f"sum(t.{revenue}) as revenue",
    ]
    for name in segments:
        member = f"f.m_{name}"
        columns += [
            f"count(case when {member} then 1 end) as {name}__members",
            f"sum(case when {member} then t.{orders} end) as {name}__orders",
            f"sum(case when {member} then t.{revenue} end) as {name}__revenue",
        ]
    body = ",\n        ".join(columns)

    def aov(revenue: str, orders: str) -> str:
        return f"cast(({revenue}) / nullif({orders}, 0) as decimal(18, 4))"

    rows = []
    for name in segments:
        members = f"{name}__members"
        orders, revenue = f"coalesce({name}__orders, 0)", f"coalesce({name}__revenue, 0)"
        rest_orders = f"(coalesce(orders, 0) - {orders})"
        rest_revenue = f"(coalesce(revenue, 0) - {revenue})"
        rows.append(f"""select
    {text_literal(name, ctx)} as segment,
    {ctx.as_of} as as_of,
    {members} as members,
    population,
    cast({members} as decimal(18, 6)) / nullif(population, 0) as share,
    {orders} as orders,
    {revenue} as revenue,
    {aov(revenue, orders)} as avg_order_value,
    {rest_orders} as rest_orders,
    {rest_revenue} as rest_revenue,
    {aov(rest_revenue, rest_orders)} as rest_avg_order_value
from totals""")
    if not rows:
        rows.append(
            f"select cast(null as {ctx.text_type}) as segment, cast(null as date) as as_of, "
            "0 as members, 0 as population, 0.0 as share, 0 as orders, 0.0 as revenue, "
            "0.0 as avg_order_value, 0 as rest_orders, 0.0 as rest_revenue, "
            "0.0 as rest_avg_order_value from totals where false"
        )
    union = "\n\nunion all\n\n".join(rows)
    return f"""with totals as (

    select
        {body}
    from {ctx.rel(FLAGS)} as f
    left join {ctx.rel(SALES_FEATURES)} as t
        on t.customer_id = f.customer_id

)

{union}"""


def catalog_sql(rows: list[dict[str, Any]], ctx: Context) -> str:
    columns = (
        "segment",
        "title",
        "description",
        "owner",
        "tags",
        "kind",
        "hot",
        "trigger",
        "definition_hash",
    )
    if not rows:
        nulls = ", ".join(
            f"cast(null as {'boolean' if c == 'hot' else ctx.text_type}) as {c}" for c in columns
        )
        return f"select {nulls}\nwhere false"

    def lit(value: Any) -> str:
        if value is None:
            return f"cast(null as {ctx.text_type})"
        if isinstance(value, bool):
            return "true" if value else "false"
        return f"cast({text_literal(str(value), ctx)} as {ctx.text_type})"

    selects = [
        "select\n" + ",\n".join(f"    {lit(row[c])} as {c}" for c in columns) for row in rows
    ]
    return "\n\nunion all\n\n".join(selects)
