"""What direct queries read: the published models or a build's, with the models that depend
on D inlined as CTEs (the build's SQL, with D as a literal)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from segflow.errors import UserInputError
from segflow.segments.compile import (
    all_features,
    build_daily_models,
    macros_digest,
    segment_specs,
)
from segflow.segments.daily import (
    DAILY_EVENTS,
    DAILY_SALES,
    DAILY_SCHEMA,
    daily_events_sql,
    daily_prefixes,
    daily_sales_sql,
    features_from_daily_sql,
)
from segflow.segments.project import SegmentProject
from segflow.segments.range_totals import (
    RangeBase,
    has_range_population,
    has_range_totals,
    range_base_sql,
    range_features_sql,
    range_people_sql,
    range_population_sql,
    range_rows_sql,
)
from segflow.segments.sql import (
    ATTRIBUTES,
    EVENT_FEATURES,
    FLAGS,
    POPULATION,
    SALES_FEATURES,
    Context,
    Feature,
    Segments,
    SegmentSpec,
    attribute_values_sql,
    date_literal,
    direct_context,
    features_sql,
    flags_sql,
    population_sql,
    segment_features,
    segment_sql,
)
from segflow.warehouse import Warehouse, tables

BASE_RELATIONS = {
    "int_customer_versions": "intermediate.int_customer_versions",
    "int_sales_lines": "intermediate.int_sales_lines",
    "int_events": "intermediate.int_events",
    "stg_customer_attributes": "staging.stg_customer_attributes",
}


def base_relations(schema: str | None = None) -> dict[str, str]:
    """The models the evaluation starts from: the published ones, or all in one `schema`
    (a build not yet published, see segflow/publication/publish.py)."""
    if schema is None:
        return dict(BASE_RELATIONS)
    return {name: f"{schema}.{name}" for name in BASE_RELATIONS}


def require_built(wh: Warehouse, schema: str | None = None) -> None:
    if not wh.table_exists(schema or "intermediate", "int_customer_versions"):
        raise UserInputError("the warehouse has no built models yet: run `segflow build` first")


@dataclass(frozen=True)
class KeptDaily:
    """The per-day aggregates a build keeps (segflow_daily), when they hold every line filter
    the project's segments use: what a direct query reads instead of the lines."""

    relations: dict[str, str]  # DAILY_SALES, DAILY_EVENTS -> their tables
    prefixes: tuple[dict[str, str], dict[str, str]]  # their columns by line filter
    as_of: date  # D of the build they were last changed by (whose models are read)


def kept_daily(
    wh: Warehouse, project: SegmentProject, schema: str | None = None
) -> KeptDaily | None:
    """The kept aggregates if the build read here (the published one, or the one in `schema`)
    last changed them, for this project's line filters, macros and time zone: a build that
    was not published (a failed check, an older day) changed them too, and a definition with
    a filter they lack is read from the lines (one scan)."""
    features = all_features(project)
    build = _build_run(wh, schema)
    if build is None:
        return None
    run, as_of = build
    for model in build_daily_models(features, macros_digest(wh.settings.dbt_project_dir)):
        if not wh.table_exists(DAILY_SCHEMA, f"{model.name}__state"):
            return None
        stored = wh.query(f"select definition, build_run from {DAILY_SCHEMA}.{model.name}__state")
        if stored != [(f"{model.definition_hash} {wh.settings.timezone}", run)]:
            return None
    return KeptDaily(
        {name: f"{DAILY_SCHEMA}.{name}" for name in (DAILY_SALES, DAILY_EVENTS)},
        daily_prefixes(features),
        as_of,
    )


def _build_run(wh: Warehouse, schema: str | None) -> tuple[str, date] | None:
    """The run and D of the build whose models are read: the published build, or the newest
    build in the slot `schema`."""
    out = wh.output_schema
    if not wh.table_exists(out, tables.BUILDS.name):
        return None
    if schema is None:
        if not wh.table_exists(out, tables.PUBLISHED.name):
            return None
        slot = f"(select max(slot) from {out}.{tables.PUBLISHED.name})"
        condition = f"slot = {slot} and published_at is not null"
        order = "published_at"
    else:
        condition, order = f"slot = '{schema}'", "built_at"
    rows = wh.query(
        f"select run_id, as_of from {out}.{tables.BUILDS.name} where {condition} "
        f"order by {order} desc limit 1"
    )
    return (rows[0][0], rows[0][1]) if rows else None


def with_clause(
    project: SegmentProject,
    names: list[str],
    as_of: date,
    schema: str | None = None,
    dialect: str = "duckdb",
    daily: dict[str, str] | None = None,
    kept: KeptDaily | None = None,
    base: RangeBase | None = None,
    members: bool = True,
) -> tuple[Context, Segments, str]:
    """CTEs for the population, features and flags of the given segments (and what they
    refer to), and `seg__<name>` for each of the given ones (with `members=False`, none:
    the caller reads the flags); read from the published models
    or from those in `schema`. With `daily` (the tables `daily_tables` fills, by relation
    name), the features are read from those per-day aggregates instead of the lines; with
    `kept`, from the aggregates builds keep; with `base` (`range_base_tables`, for a range of
    days that D is in), from its totals and D's changes since."""
    specs, features = _specs_and_features(project, names)
    kept_prefixes = kept.prefixes if kept is not None else (None, None)
    if kept is not None:
        daily = kept.relations
    relations = {
        **base_relations(schema),
        **(daily or {}),
        POPULATION: "population",
        ATTRIBUTES: "attribute_values",
        SALES_FEATURES: "sales_features",
        EVENT_FEATURES: "event_features",
        FLAGS: "flags",
    }
    ctx = direct_context(as_of, relations, dialect)
    if daily and base is not None and base.people is not None:
        # A range's day: the features on the population's rows (`range_people_select`).
        ctes = [
            ("population", range_population_sql(features, ctx, base, kept_prefixes)),
            ("attribute_values", attribute_values_sql(ctx)),
            ("flags", flags_sql(specs, replace(ctx, features_on_population=True))),
        ]
    else:
        ctes = _ctes(features, specs, ctx, daily, base, kept_prefixes)
    if members:
        ctes += [
            (f"seg__{n}", segment_sql(n, project.definition(n).kind == "tiered", ctx))
            for n in names
        ]
    text = "with " + ",\n".join(f"{cte} as (\n{body}\n)" for cte, body in ctes)
    return ctx, Segments(specs, ctx), text


def _ctes(
    features: list[Feature],
    specs: list[SegmentSpec],
    ctx: Context,
    daily: dict[str, str] | None,
    base: RangeBase | None,
    kept_prefixes: tuple[dict[str, str] | None, dict[str, str] | None],
) -> list[tuple[str, str]]:
    """`with_clause`'s CTEs but the members: population, features models, flags."""
    sales_prefixes, event_prefixes = kept_prefixes
    if daily:
        sales_features, event_features = (
            range_features_sql(features, loyalty, ctx, base, prefixes)
            if base is not None and has_range_totals(features, loyalty)
            else features_from_daily_sql(features, loyalty, ctx, prefixes)
            for loyalty, prefixes in ((False, sales_prefixes), (True, event_prefixes))
        )
    else:
        sales_features = features_sql(features, False, ctx)
        event_features = features_sql(features, True, ctx)
    return [
        ("population", population_sql(ctx)),
        ("attribute_values", attribute_values_sql(ctx)),
        ("sales_features", sales_features),
        ("event_features", event_features),
        ("flags", flags_sql(specs, ctx)),
    ]


def _specs_and_features(
    project: SegmentProject, names: list[str]
) -> tuple[list[SegmentSpec], list[Feature]]:
    """The segments and every segment they refer to, each once, and their metrics' features."""
    closure: list[str] = []
    for name in names:
        closure += [n for n in project.closure(name) if n not in closure]
    specs = segment_specs(project, closure)
    return specs, [f for spec in specs for f in segment_features(spec.definition)]


def daily_tables(
    project: SegmentProject,
    names: list[str],
    last: date,
    tables: dict[str, str],
    schema: str | None = None,
    dialect: str = "duckdb",
) -> list[tuple[str, str]]:
    """(table, select) pairs that fill the per-day aggregates the segments' features need,
    from the lines and events up to `last`; `tables` names them by relation (DAILY_SALES,
    DAILY_EVENTS)."""
    ctx = direct_context(last, base_relations(schema), dialect)
    _, features = _specs_and_features(project, names)
    return [
        (tables[DAILY_SALES], daily_sales_sql(features, ctx)),
        (tables[DAILY_EVENTS], daily_events_sql(features, ctx)),
    ]


def range_base_tables(
    project: SegmentProject,
    names: list[str],
    base: RangeBase,
    daily: dict[str, str],
    kept: KeptDaily | None = None,
    dialect: str = "duckdb",
    last: date | None = None,
) -> list[tuple[str, str]]:
    """(table, select) pairs that fill `base` (its tables, as of its day) from the per-day
    aggregates `daily` (by relation name) for the segments' features: the sources whose
    features a range reads from a base; and its `rows`, the rows the range's days up to
    `last` read (with `last`)."""
    ctx = Context(base.day, lambda name: daily[name], jinja=False, dialect=dialect)
    _, features = _specs_and_features(project, names)
    sales_prefixes, event_prefixes = kept.prefixes if kept is not None else (None, None)
    sources = [
        (name, loyalty, prefixes)
        for name, loyalty, prefixes in (
            (DAILY_SALES, False, sales_prefixes),
            (DAILY_EVENTS, True, event_prefixes),
        )
        if has_range_totals(features, loyalty)
    ]
    tables = [
        (base.relations[name], range_base_sql(features, loyalty, ctx, prefixes))
        for name, loyalty, prefixes in sources
    ]
    if base.rows:
        if last is None:
            raise ValueError("a base with rows needs the range's last day: its days read only them")
        until = replace(ctx, as_of=date_literal(last))
        tables += [
            (base.rows[name], range_rows_sql(features, loyalty, until, base.day))
            for name, loyalty, _ in sources
            if name in base.rows
        ]
    return tables


def range_people_select(
    project: SegmentProject,
    names: list[str],
    base: RangeBase,
    kept: KeptDaily | None = None,
    schema: str | None = None,
) -> str | None:
    """The select that fills a range's `base.people` (the versions with the base's totals,
    once per range), or None where the range's days read their features otherwise (a
    windowed last or first day, no feature at all)."""
    _, features = _specs_and_features(project, names)
    if not has_range_population(features):
        return None
    prefixes = kept.prefixes if kept is not None else (None, None)
    versions = base_relations(schema)["int_customer_versions"]
    return range_people_sql(features, prefixes, versions, base)
