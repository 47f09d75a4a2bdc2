"""A range of days' features from the totals before it: each day's totals are those of the
day before the range (`RangeBase`, summed once per range) plus what changed since.

Evaluating a day from the per-day aggregates groups every customer's days again (a hash
aggregate into a million groups at a million customers, for each day of a backfill). Sums
and counts are invertible, so for a day D of a range whose base day is B:

    total(D) = total(B) + rows after B that D's window holds
                        - rows up to B that B's window held and D's does not
                        + rows up to B that D's window holds and B's did not

Those changes are the rows of the range's days up to D and of the days a window leaves
behind, grouped by customer (those with such rows: at 1M customers, most of them once a range
runs for weeks), then joined to the base: no aggregate over all of history per day. A
lifetime last or first day is the later or earlier of the base's and the range's.

What this leaves to `daily.features_from_daily_sql` (whole, per day): a source with a
windowed last or first order or event (a maximum leaves no trace to subtract).

A range reads those changes from the aggregates' rows any of its days can read
(`range_rows_sql`, once per range) rather than from every row of history once per day: every
window bound is D shifted by a fixed step (or a fixed date), so it moves one way as D grows,
and a row that enters or leaves a window between the base's day and a day of the range has a
bound that differs between the base's day and the range's last day.

A day's features then still meet the whole population twice (a join of every customer's
totals to every customer, per source). Where every source with features reads a base, a range
joins the customers' versions to both bases once (`range_people_sql`), and each day reads its
population from that with its changes joined and its features computed on the same row
(`range_population_sql`); the flags read them from the population.

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
    sales_finals,
    totals_select,
)
from segflow.segments.sql import (
    POPULATION_COLUMNS,
    Context,
    Feature,
    population_sql,
    window_conditions,
)


@dataclass(frozen=True)
class RangeBase:
    """The per-customer totals as of `day` (a SQL date), the day before a range's first day,
    in `relations` by source (DAILY_SALES, DAILY_EVENTS): filled by `range_base_sql`. With
    `rows` (by source, filled by `range_rows_sql`), each day's changes are read from those
    rows instead of the per-day aggregates whole. With `people` (filled by
    `range_people_sql`), the days' population carries their features
    (`range_population_sql`)."""

    day: str
    relations: dict[str, str]
    rows: dict[str, str] = field(default_factory=dict)
    people: str | None = None


Prefixes = tuple[dict[str, str] | None, dict[str, str] | None]  # sales', events' (line_filters)


def _prefixes(features: list[Feature], prefixes: Prefixes) -> tuple[dict[str, str], dict[str, str]]:
    """Each source's line filter prefixes, those of its own features where none are given."""
    sales = _source_prefixes(features, False, prefixes[0])
    events = _source_prefixes(features, True, prefixes[1])
    return sales, events


def _source_prefixes(
    features: list[Feature], loyalty: bool, given: dict[str, str] | None
) -> dict[str, str]:
    return given if given is not None else line_filters(of_source(features, loyalty))


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
    prefixes = _source_prefixes(features, loyalty, prefixes)
    totals, changes = _changes_sql(chosen, loyalty, ctx, base, prefixes)
    combined = "".join(f",\n        {_combined(t, 'b')} as {t.column}" for _, t in totals)
    totals_sql = f"""select
        coalesce(b.customer_id, x.customer_id) as customer_id{combined}
    from {base.relations[_source(loyalty)]} as b
    full outer join (
        {changes}
    ) as x
        on x.customer_id = b.customer_id"""
    if loyalty:
        return _event_features_sql(chosen, ctx, totals_sql)
    rows = base.rows.get(DAILY_SALES, ctx.rel(DAILY_SALES))
    return sales_features_from_totals(chosen, ctx, prefixes, totals_sql, spanning_rows=rows)


def _changes_sql(
    chosen: list[Feature], loyalty: bool, ctx: Context, base: RangeBase, prefixes: dict[str, str]
) -> tuple[list[tuple[Feature, _Total]], str]:
    """The totals of one source's features, and the query of their changes per customer from
    the base's day to D (columns named as the totals)."""
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
    change_columns = "".join(f",\n            {c}" for c in changes)
    return (
        totals,
        f"""select
            d.customer_id{change_columns}
        from {rows} as d
        where {where}
        group by d.customer_id""",
    )


def _base_columns(
    features: list[Feature], resolved: tuple[dict[str, str], dict[str, str]]
) -> list[str]:
    """The columns of both sources' bases (`range_base_sql`), as `range_people_sql` adds them."""
    return [
        total.column
        for loyalty, chosen_prefixes in ((False, resolved[0]), (True, resolved[1]))
        for _, total in _totals(of_source(features, loyalty), loyalty, chosen_prefixes)
    ]


def has_range_population(features: list[Feature]) -> bool:
    """Whether a range's days read their features from `range_population_sql`: every source
    with features reads a base. (The totals and features share the versions' rows: their
    names begin with a metric's and the totals' end with its suffix, `_amount` and the like,
    which no profile or version column does.)"""
    sources = [loyalty for loyalty in (False, True) if of_source(features, loyalty)]
    return bool(sources) and all(has_range_totals(features, loyalty) for loyalty in sources)


def range_people_sql(
    features: list[Feature], prefixes: Prefixes, versions: str, base: RangeBase
) -> str:
    """The customers' versions with both bases' totals (one row per version, once per range):
    what `range_population_sql` reads as the versions."""
    resolved = _prefixes(features, prefixes)
    selected = []
    joins = ""
    for alias, loyalty in (("s", False), ("e", True)):
        chosen = of_source(features, loyalty)
        if not chosen:
            continue
        selected += [f"{alias}.{t.column}" for _, t in _totals(chosen, loyalty, resolved[loyalty])]
        joins += (
            f"\nleft join {base.relations[_source(loyalty)]} as {alias}\n"
            f"    on {alias}.customer_id = v.customer_id"
        )
    columns = "".join(f",\n    {c}" for c in selected)
    return f"select\n    v.*{columns}\nfrom {versions} as v{joins}"


def range_population_sql(
    features: list[Feature],
    ctx: Context,
    base: RangeBase,
    prefixes: Prefixes,
) -> str:
    """The population at D (a day of the range) with every feature as a column of its rows,
    from the versions joined to the bases once per range (`base.people`) and D's changes:
    the flags then read the features from the population (`Context.features_on_population`)
    instead of joining every customer's totals to every customer, twice, on every day."""
    assert base.people is not None, "range_people_sql fills base.people"
    people = base.people
    people_ctx = replace(
        ctx, relation=lambda n: people if n == "int_customer_versions" else ctx.rel(n)
    )
    resolved = _prefixes(features, prefixes)
    carried = _base_columns(features, resolved)
    combined, joins, finals = [], "", []
    spanning = None
    for alias, loyalty in (("xs", False), ("xe", True)):
        chosen = of_source(features, loyalty)
        if not chosen:
            continue
        totals, changes = _changes_sql(chosen, loyalty, ctx, base, resolved[loyalty])
        combined += [f"{_combined(t, 'p', alias)} as {t.column}" for _, t in totals]
        joins += (
            f"\n    left join (\n        {changes}\n    ) as {alias}\n"
            f"        on {alias}.customer_id = p.customer_id"
        )
        if loyalty:
            finals += _event_finals(chosen, ctx)
        else:
            rows = base.rows.get(DAILY_SALES, ctx.rel(DAILY_SALES))
            spanning, sales = sales_finals(chosen, ctx, resolved[loyalty], rows)
            finals += sales

    profile = "".join(f",\n        p.{c}" for c in POPULATION_COLUMNS[1:])
    totals_columns = "".join(f",\n        {c}" for c in combined)
    totals_sql = f"""with people_at_as_of as (
{population_sql(people_ctx, carried)}
)

    select
        p.customer_id{profile}{totals_columns}
    from people_at_as_of as p{joins}"""
    return totals_select(totals_sql, spanning, finals, POPULATION_COLUMNS[1:])


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


def _combined(total: _Total, base: str, changes: str = "x") -> str:
    """The base's total and the changes' (either may be missing), on rows `base` and `changes`."""
    b, x = f"{base}.{total.column}", f"{changes}.{total.column}"
    if total.kind == "sum":
        return f"coalesce({b}, 0) + coalesce({x}, 0)"
    beats = "<" if total.kind == "max" else ">"
    return f"case when {x} is null or {x} {beats} {b} then {b} else {x} end"


def _event_features_sql(chosen: list[Feature], ctx: Context, totals: str) -> str:
    return totals_select(totals, None, _event_finals(chosen, ctx))


def _event_finals(chosen: list[Feature], ctx: Context) -> list[tuple[str, str]]:
    """(SQL, column) per event feature over a row of totals `t`."""

    def final(feature: Feature) -> str:
        n = feature.column
        if feature.metric in ("events", "points"):
            return f"t.{n}_{feature.metric}"
        return ctx.days_between(ctx.as_of, f"t.{n}_max")

    return [(final(f), f.column) for f in chosen]
