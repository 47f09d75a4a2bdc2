"""Evaluating segments straight on the warehouse, without dbt: preview, members at D, explain.

The queries are built from the same SQL functions as the dbt models (`sql.py`), with D as a
literal and the models that depend on D inlined as CTEs, so the answers are the build's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from segflow.errors import UserInputError
from segflow.evaluation.recorded import recorded_members
from segflow.evaluation.relations import (
    BASE_RELATIONS,
    KeptDaily,
    kept_daily,
    require_built,
    with_clause,
)
from segflow.segments.conditions import iter_conditions
from segflow.segments.model import AllOf, AnyOf, MetricLeaf, NotOf, SegmentLeaf
from segflow.segments.project import SegmentProject
from segflow.segments.sql import (
    POPULATION,
    SALES_FEATURES,
    STATS_FEATURES,
    condition_sql,
    describe_feature,
    feature_of,
    leaf_value_sql,
    text_literal,
)
from segflow.warehouse import Warehouse


@dataclass
class Preview:
    name: str
    as_of: date
    members: int
    population: int
    revenue: Decimal
    tiers: list[tuple[str, int]]
    static_outside: list[str]

    @property
    def share(self) -> float:
        return self.members / self.population if self.population else 0.0


def preview(wh: Warehouse, project: SegmentProject, name: str, as_of: date) -> Preview:
    require_built(wh)
    kept = kept_daily(wh, project)
    ctx, _, ctes = with_clause(project, [name], as_of, dialect=wh.dialect, kept=kept)
    tiered = project.definition(name).kind == "tiered"
    # One statement: members and their revenue up to D by tier, and the population (the tiers
    # were a second evaluation of the segment).
    rows = wh.query(
        f"""{ctes}
select
    {"m.tier" if tiered else f"cast(null as {ctx.text_type})"} as tier,
    count(*) as members,
    coalesce(sum(r.revenue), 0) as revenue,
    (select count(*) from population) as population
from seg__{name} as m
left join ({_revenue_sql(wh, kept, name, as_of)}) as r
    on r.customer_id = m.customer_id
group by 1"""
    )
    population = rows[0][3] if rows else wh.scalar(f"{ctes}\nselect count(*) from population")
    revenue = sum((Decimal(r[2]) for r in rows), Decimal(0))
    tiers: list[tuple[str, int]] = []
    if tiered:
        counts = {r[0]: r[1] for r in rows}
        tiers = [(t.name, counts.get(t.name, 0)) for t in project.definition(name).tiers or []]
    outside: list[str] = []
    if project.definition(name).kind == "static":
        population_ids = f"{ctes}\nselect customer_id from population"
        outside = _listed_outside(wh, project.segments[name].static_members, population_ids)
    members = sum(r[1] for r in rows)
    return Preview(name, as_of, members, population, revenue, tiers, outside)


def _revenue_sql(wh: Warehouse, kept: KeptDaily | None, name: str, as_of: date) -> str:
    """Each member's revenue up to D (customer_id, revenue): the published build's sales
    features when that build is D's (they hold every customer's revenue up to D, the column
    segment_stats reads), else summed from the lines (a scan of every line)."""
    column = STATS_FEATURES[1].column
    if (
        kept is not None
        and kept.as_of == as_of
        and column in wh.columns("intermediate", SALES_FEATURES)
    ):
        return f"select customer_id, {column} as revenue from intermediate.{SALES_FEATURES}"
    return f"""select lines.customer_id, sum(lines.amount) as revenue
    from {BASE_RELATIONS["int_sales_lines"]} as lines
    where lines.occurred_on <= cast('{as_of.isoformat()}' as date)
        and lines.customer_id in (select customer_id from seg__{name})
    group by lines.customer_id"""


def built_as_of(wh: Warehouse, project: SegmentProject, name: str) -> date | None:
    """The date seg_<name> was built for, if it was built from today's definition."""
    schema = wh.output_schema
    if not wh.table_exists(schema, f"seg_{name}") or not wh.table_exists(schema, "segment_catalog"):
        return None
    built_hash = wh.scalar(
        f"select definition_hash from {schema}.segment_catalog where segment = ?", (name,)
    )
    if built_hash != project.definition_hash(name):
        return None
    # An empty segment has no row to tell its date: it was built with the population.
    return wh.scalar(f"select max(as_of) from {schema}.seg_{name}") or wh.scalar(
        f"select max(as_of) from {schema}.{POPULATION}"
    )


def members(
    wh: Warehouse, project: SegmentProject, name: str, as_of: date | None
) -> tuple[date, list[tuple[str, str | None]]]:
    """Members of the latest build, or of D: read from the build when it is D's, else from
    the membership history when D was recorded, else evaluated."""
    built = built_as_of(wh, project, name)
    tiered = project.definition(name).kind == "tiered"
    tier = "tier" if tiered else "cast(null as varchar)"
    if as_of is None:
        if built is None:
            raise UserInputError(
                f"segment {name!r} is not built with its current definition: "
                "run `segflow build`, or pass --as-of D"
            )
        as_of = built
    if as_of != built:
        recorded = recorded_members(wh, project, name, as_of)
        if recorded is not None:  # the day was built or backfilled: no re-evaluation
            return as_of, recorded
        return as_of, evaluate_members(wh, project, name, as_of)
    rows = wh.query(
        f"select customer_id, {tier} from {wh.output_schema}.seg_{name} order by customer_id"
    )
    return as_of, [(r[0], r[1]) for r in rows]


def evaluate_members(
    wh: Warehouse, project: SegmentProject, name: str, as_of: date
) -> list[tuple[str, str | None]]:
    """Members at D evaluated on the spot, whatever was built."""
    require_built(wh)
    tier = "tier" if project.definition(name).kind == "tiered" else "cast(null as varchar)"
    _, _, ctes = with_clause(
        project, [name], as_of, dialect=wh.dialect, kept=kept_daily(wh, project)
    )
    rows = wh.query(f"{ctes}\nselect customer_id, {tier} from seg__{name} order by customer_id")
    return [(r[0], r[1]) for r in rows]


# -- explain -------------------------------------------------------------------------------


@dataclass
class ExplainLine:
    depth: int
    text: str
    held: bool | None  # None: not evaluated (e.g. a header)
    value: Any = None
    show_value: bool = False


def describe_leaf(leaf: Any) -> str:
    if isinstance(leaf, SegmentLeaf):
        return f"segment {leaf.segment}"
    if isinstance(leaf, MetricLeaf):
        subject = "metric " + describe_feature(feature_of(leaf))
    elif hasattr(leaf, "profile"):
        subject = f"profile {leaf.profile}"
    else:
        subject = f"attribute {leaf.attribute}"
    value = leaf.value
    shown = "[" + ", ".join(str(v) for v in value) + "]" if isinstance(value, list) else value
    return f"{subject} {leaf.op} {shown}"


def explain(
    wh: Warehouse, project: SegmentProject, name: str, customer_id: str, as_of: date
) -> tuple[str, list[ExplainLine]]:
    """Leaf by leaf, what held for one customer at D; returns a headline and the lines."""
    require_built(wh)
    definition = project.definition(name)
    ctx, segments, ctes = with_clause(
        project, [name], as_of, dialect=wh.dialect, kept=kept_daily(wh, project)
    )
    conditions: list[tuple[str, Any, tuple]] = []
    if definition.rules is not None:
        conditions.append(("rules", definition.rules, ("rules",)))
    for i, tier in enumerate(definition.tiers or []):
        conditions.append((f"tier {tier.name}", tier.when, ("tiers", i)))
    if definition.exclude is not None:
        conditions.append(
            ("exclude (leaves the customer out when it holds)", definition.exclude, ("exclude",))
        )
    nodes = [
        (label, node) for label, cond, path in conditions for node, _ in iter_conditions(cond, path)
    ]
    leaves = [n for _, n in nodes if not isinstance(n, AllOf | AnyOf | NotOf)]
    selects = []
    for i, leaf in enumerate(leaves):
        selects.append(f"{condition_sql(leaf, ctx, segments)} as held_{i}")
        if not isinstance(leaf, SegmentLeaf):
            selects.append(f"{leaf_value_sql(leaf, ctx)} as value_{i}")
    joins = (
        "left join sales_features as s on s.customer_id = p.customer_id\n"
        "left join event_features as e on e.customer_id = p.customer_id"
    )
    extra = (
        f", (select tier from seg__{name} where customer_id = p.customer_id) as member_tier"
        if definition.kind == "tiered"
        else ""
    )
    row = wh.query(
        f"{ctes}\nselect p.customer_id, (select count(*) from seg__{name} as m where "
        f"m.customer_id = p.customer_id) as is_member{extra}"
        + "".join(f",\n    {s}" for s in selects)
        + f"\nfrom population as p\n{joins}\nwhere p.customer_id = {text_literal(customer_id, ctx)}"
    )
    if not row:
        return f"{customer_id} is not in the population on {as_of}: " + _why_outside(
            wh, customer_id, as_of
        ), []
    result = dict(
        zip(
            [
                "customer_id",
                "is_member",
                *(["member_tier"] if extra else []),
                *[s.rsplit(" as ", 1)[1] for s in selects],
            ],
            row[0],
            strict=True,
        )
    )
    values: dict[int, tuple[bool, Any]] = {}
    for i, leaf in enumerate(leaves):
        values[id(leaf)] = (bool(result[f"held_{i}"]), result.get(f"value_{i}"))
    lines: list[ExplainLine] = []
    for label, condition, _ in conditions:
        lines.append(ExplainLine(0, label + ":", None))
        _explain_node(condition, 1, values, lines)
    member = bool(result["is_member"])
    member_tier = result.get("member_tier")
    headline = (
        f"{customer_id} is {'a member' if member else 'not a member'} of {name} on "
        f"{as_of}" + (f" (tier {member_tier})" if member_tier else "")
    )
    return headline, lines


def _explain_node(node: Any, depth: int, values: dict, lines: list[ExplainLine]) -> bool:
    if isinstance(node, AllOf | AnyOf):
        children = node.all if isinstance(node, AllOf) else node.any
        index = len(lines)
        lines.append(ExplainLine(depth, "all of" if isinstance(node, AllOf) else "any of", None))
        results = [_explain_node(c, depth + 1, values, lines) for c in children]
        held = all(results) if isinstance(node, AllOf) else any(results)
        lines[index].held = held
        return held
    if isinstance(node, NotOf):
        index = len(lines)
        lines.append(ExplainLine(depth, "not", None))
        held = not _explain_node(node.not_, depth + 1, values, lines)
        lines[index].held = held
        return held
    held, value = values[id(node)]
    lines.append(
        ExplainLine(depth, describe_leaf(node), held, value, not isinstance(node, SegmentLeaf))
    )
    return held


def _why_outside(wh: Warehouse, customer_id: str, as_of: date) -> str:
    rows = wh.query(
        "select signup_date, status, is_erased from intermediate.int_customer_versions "
        "where customer_id = ? and (valid_from is null or valid_from <= ?) "
        "and (valid_to is null or ? < valid_to)",
        (customer_id, as_of, as_of),
    )
    if not rows:
        return "no such customer in the customers feed"
    signup, status, erased = rows[0]
    if erased:
        return "the customer was erased"
    if signup > as_of:
        return f"signed up later, on {signup}"
    return f"status {status!r} on that day"


def _listed_outside(wh: Warehouse, listed: tuple[str, ...], population_sql: str) -> list[str]:
    """The listed ids that are not in the population (unknown or erased), sorted."""
    if not listed:
        return []
    # Plain SQL string literals (quotes doubled): a direct query, never seen by dbt's Jinja.
    values = ", ".join("('" + member.replace("'", "''") + "')" for member in listed)
    rows = wh.query(
        f"select listed.customer_id from (values {values}) as listed(customer_id) "
        f"where listed.customer_id not in ({population_sql}) order by 1"
    )
    return [r[0] for r in rows]


def static_outside(wh: Warehouse, project: SegmentProject) -> list[tuple[str, list[str]]]:
    """Static segments whose listed members are partly outside the published population,
    with those ids."""
    if not wh.table_exists(wh.output_schema, "dim_population"):
        return []
    population = f"select customer_id from {wh.output_schema}.dim_population"
    out = []
    for name in project.segments:
        listed = project.segments[name].static_members
        if project.definition(name).kind != "static" or not listed:
            continue
        outside = _listed_outside(wh, listed, population)
        if outside:
            out.append((name, outside))
    return out


def outside_warning(name: str, outside: list[str]) -> str:
    """The warning about listed members outside the population, naming the first ten."""
    shown = ", ".join(outside[:10]) + (
        f" and {len(outside) - 10} more" if len(outside) > 10 else ""
    )
    return (
        f"warning: {name}: {len(outside)} listed member{'s are' if len(outside) != 1 else ' is'} "
        f"not in the population (unknown or erased) and left out: {shown}"
    )


STATS_COLUMNS = (
    "segment",
    "as_of",
    "members",
    "population",
    "share",
    "orders",
    "revenue",
    "avg_order_value",
    "rest_orders",
    "rest_revenue",
    "rest_avg_order_value",
)


def read_stats(
    wh: Warehouse, project: SegmentProject, names: list[str]
) -> tuple[tuple[str, ...], list[tuple], list[str]]:
    """Rows of segment_stats (all segments, or the named ones, in that order), and the
    segments whose current definition is not the one built (new or changed since)."""
    if not wh.table_exists(wh.output_schema, "segment_stats"):
        raise UserInputError("no segment_stats yet: run `segflow build` first")
    rows = wh.query(
        f"select {', '.join(STATS_COLUMNS)} from {wh.output_schema}.segment_stats order by segment"
    )
    built = dict(
        wh.query(f"select segment, definition_hash from {wh.output_schema}.segment_catalog")
    )
    stale = [
        n
        for n in (names or list(project.segments))
        if n in project.segments and built.get(n) != project.definition_hash(n)
    ]
    if names:
        if stale:  # as `members` does: these stats are not of the definition in the file
            raise UserInputError(
                f"{', '.join(repr(n) for n in stale)} "
                f"{'is' if len(stale) == 1 else 'are'} not built with the current definition: "
                "run `segflow build` (or `segflow preview NAME` for a quick count)"
            )
        by_name = {r[0]: r for r in rows}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise UserInputError(f"no stats for {', '.join(unknown)}: unknown or not built")
        rows = [by_name[n] for n in names]
    return STATS_COLUMNS, rows, stale
