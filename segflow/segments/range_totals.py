"""A range of days' features from the totals before it: each day's totals are those of the
day before the range (`RangeBase`, summed once per range) plus what changed since.

Evaluating a day from the per-day aggregates groups every customer's days again (a hash
aggregate into a million groups at a million customers, for each day of a backfill). Sums
and counts are invertible, so for a day D of a range whose base day is B:

    total(D) = total(B) + rows after B that D's window holds
                        - rows up to B that B's window held and D's does not
                        + rows up to B that D's window holds and B's did not

Those changes are a few days' rows (the range's days, and the days a window leaves behind),
grouped into few customers, then joined to the base: no aggregate over all of history per
day. A lifetime last or first day is the later or earlier of the base's and the range's.

What this leaves to `daily.features_from_daily_sql` (whole, per day): a source with a
windowed last or first order or event (a maximum leaves no trace to subtract).

A range reads those changes from the aggregates' rows any of its days can read
(`range_rows_sql`, once per range) rather than from every row of history once per day: every
window bound is D shifted by a fixed step (or a fixed date), so it moves one way as D grows,
and a row that enters or leaves a window between the base's day and a day of the range has a
bound that differs between the base's day and the range's last day.

A customer the original would leave out (no day in any window) gets totals of 0 here instead
of none: the same segments, since counts and sums are read as 0 when nothing happened
(`fields.ZERO_WHEN_NOTHING`), an average of no order is missing either way, and a last or
first day stays missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from segflow.segments.daily import (
    DAILY_EVENTS,
    DAILY_SALES,
    filter_key,
    in_window,
    line_filters,
    of_source,
    sales_features_from_totals,
)
from segflow.segments.sql import Context, Feature, window_conditions


@dataclass(frozen=True)
class RangeBase:
    """The per-customer totals as of `day` (a SQL date), the day before a range's first day,
    in `relations` by source (DAILY_SALES, DAILY_EVENTS): filled by `range_base_sql`. With
    `rows` (by source, filled by `range_rows_sql`), each day's changes are read from those
    rows instead of the per-day aggregates whole."""

    day: str
    relations: dict[str, str]
    rows: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Total:
    column: str
    kind: str  # "sum", "max" or "min"
    value: str  # on a per-day row `d`: the summed value, or the condition for a max/min day


def has_range_totals(features: list[Feature], loyalty: bool) -> bool:
    """Whether a range reads this source's features from a base and each day's changes."""
    chosen = of_source(features, loyalty)
    return bool(chosen) and not any(
        f.window is not None and f.metric.startswith("days_since") for f in chosen
    )


def range_base_sql(
    features: list[Feature], loyalty: bool, ctx: Context, prefixes: dict[str, str] | None = None
) -> str:
    """The totals of one source's features per customer as of D (`ctx`: the day before the
    range), over the per-day aggregates."""
    chosen = of_source(features, loyalty)
    prefixes = prefixes if prefixes is not None else line_filters(chosen)
    columns = "".join(
        f",\n        {_aggregate(t, in_window(f, ctx))} as {t.column}"
        for f, t in _totals(chosen, loyalty, prefixes)
    )
    return f"""select
        d.customer_id{columns}
    from {ctx.rel(_source(loyalty))} as d
    where d.occurred_on <= {ctx.as_of}
    group by d.customer_id"""


def range_rows_sql(features: list[Feature], loyalty: bool, ctx: Context, base_day: str) -> str:
    """The per-day aggregates' rows of one source that a day of the range up to D (`ctx`: the
    range's last day) reads, for `range_features_sql` and the spanning orders: the range's
    days, the rows where a window bound moved since `base_day`, every spanning transaction's."""
    chosen = of_source(features, loyalty)
    before = replace(ctx, as_of=base_day)
    moved = sorted(
        {
            f"({then}) <> ({now})"
            for feature in chosen
            for then, now in zip(
                window_conditions(feature, "d.occurred_on", before),
                window_conditions(feature, "d.occurred_on", ctx),
                strict=True,
            )
            if then != now  # a fixed date's bound never moves
        }
    )
    kept = [f"(d.occurred_on > {base_day} and d.occurred_on <= {ctx.as_of})"]
    if moved:
        kept.append(f"(d.occurred_on <= {base_day} and ({' or '.join(moved)}))")
    if not loyalty:
        kept.append(f"(d.spans and d.occurred_on <= {ctx.as_of})")
    where = "\n        or ".join(kept)
    return f"""select *
    from {ctx.rel(_source(loyalty))} as d
    where {where}"""


def range_features_sql(
    features: list[Feature],
    loyalty: bool,
    ctx: Context,
    base: RangeBase,
    prefixes: dict[str, str] | None = None,
) -> str:
    """The features of one source as of D (a day of the range, after the base's day): the
    columns `sql.features_sql` gives, for the segments' use (see the module's docstring)."""
    chosen = of_source(features, loyalty)
    prefixes = prefixes if prefixes is not None else line_filters(chosen)
    before = replace(ctx, as_of=base.day)
    totals = _totals(chosen, loyalty, prefixes)
    changes, moved = [], set()
    for feature, total in totals:
        now, then = in_window(feature, ctx), in_window(feature, before)
        after = f"d.occurred_on > {base.day} and {now}"
        if total.kind != "sum":  # a lifetime feature's days after the base
            changes.append(f"{_aggregate(total, after)} as {total.column}")
            continue
        left = f"d.occurred_on <= {base.day} and {then} and not ({now})"
        came = f"d.occurred_on <= {base.day} and {now} and not ({then})"
        if feature.window is None:
            signed = f"case when {after} then {total.value} end"
        else:
            signed = (
                f"case when {after} then {total.value} when {left} then -({total.value}) "
                f"when {came} then {total.value} end"
            )
            moved.add(f"({then}) <> ({now})")
        changes.append(f"sum({signed}) as {total.column}")
    days = f"d.occurred_on > {base.day} and d.occurred_on <= {ctx.as_of}"
    where = " or ".join(
        [f"({days})", *(f"(d.occurred_on <= {base.day} and {m})" for m in sorted(moved))]
    )
    rows = base.rows.get(_source(loyalty), ctx.rel(_source(loyalty)))
    combined = "".join(f",\n        {_combined(t)} as {t.column}" for _, t in totals)
    change_columns = "".join(f",\n            {c}" for c in changes)
    totals_sql = f"""select
        coalesce(b.customer_id, x.customer_id) as customer_id{combined}
    from {base.relations[_source(loyalty)]} as b
    full outer join (
        select
            d.customer_id{change_columns}
        from {rows} as d
        where {where}
        group by d.customer_id
    ) as x
        on x.customer_id = b.customer_id"""
    if loyalty:
        return _event_features_sql(chosen, ctx, totals_sql)
    return sales_features_from_totals(chosen, ctx, prefixes, totals_sql, spanning_rows=rows)


def _source(loyalty: bool) -> str:
    return DAILY_EVENTS if loyalty else DAILY_SALES


def _totals(
    chosen: list[Feature], loyalty: bool, prefixes: dict[str, str]
) -> list[tuple[Feature, _Total]]:
    """The totals the features are computed from, named as `sales_features_from_totals` and
    `_event_features_sql` read them."""
    totals: list[tuple[Feature, _Total]] = []
    for feature in chosen:
        p, n = prefixes[filter_key(feature)], feature.column
        if loyalty:
            total = {
                "events": _Total(f"{n}_events", "sum", f"d.{p}_events"),
                "points": _Total(f"{n}_points", "sum", f"d.{p}_points"),
            }.get(feature.metric, _Total(f"{n}_max", "max", f"d.{p}_events > 0"))
            totals.append((feature, total))
            continue
        if feature.metric in ("revenue", "avg_order_value"):
            totals.append((feature, _Total(f"{n}_amount", "sum", f"d.{p}_amount")))
        if feature.metric == "items":
            totals.append((feature, _Total(f"{n}_quantity", "sum", f"d.{p}_quantity")))
        if feature.metric in ("orders", "avg_order_value"):
            one_day = f"case when d.{p}_order = 1 and not d.spans then 1 else 0 end"
            totals.append((feature, _Total(f"{n}_orders", "sum", one_day)))
        if feature.metric in ("days_since_last_order", "days_since_first_order"):
            which = "max" if feature.metric == "days_since_last_order" else "min"
            totals.append((feature, _Total(f"{n}_{which}", which, f"d.{p}_order = 1")))
    return totals


def _aggregate(total: _Total, condition: str) -> str:
    if total.kind == "sum":
        return f"sum(case when {condition} then {total.value} end)"
    return f"{total.kind}(case when {condition} and {total.value} then d.occurred_on end)"


def _combined(total: _Total) -> str:
    """The base's total and the changes' (either may be missing)."""
    b, x = f"b.{total.column}", f"x.{total.column}"
    if total.kind == "sum":
        return f"coalesce({b}, 0) + coalesce({x}, 0)"
    beats = "<" if total.kind == "max" else ">"
    return f"case when {x} is null or {x} {beats} {b} then {b} else {x} end"


def _event_features_sql(chosen: list[Feature], ctx: Context, totals: str) -> str:
    def final(feature: Feature) -> str:
        n = feature.column
        if feature.metric in ("events", "points"):
            return f"t.{n}_{feature.metric}"
        return ctx.days_between(ctx.as_of, f"t.{n}_max")

    columns = "".join(f",\n    {final(f)} as {f.column}" for f in chosen)
    return f"""with totals as (

    {totals}

)

select
    t.customer_id{columns}
from totals as t"""
