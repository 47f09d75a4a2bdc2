"""Benchmark: segflow's segment build against the floor and against one query per segment.

    .venv/bin/python benchmarks/segments.py            # 100,000 customers, ~2M sales lines
    .venv/bin/python benchmarks/segments.py --full     # 1M customers, ~20M sales lines

Generates scaled data straight into the intermediate tables of a DuckDB warehouse, generates
100 segments, then measures side by side in one run:

- floor: one aggregate scan of the sales lines (orders, revenue per customer);
- segflow: the SQL of the generated models (population, features, flags, seg_* views,
  membership), in dependency order, as dbt runs it; and the same with seg_* as tables;
- one query per segment: each segment evaluated by its own query over the lines;
- segflow via dbt: the same models through `dbt run` (wall time, start-up included).

Targets (issue 3): segflow <= 1.5x the floor, and >= 10x faster than one query per segment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from segflow.dbt import dbt_executable  # noqa: E402
from segflow.segments.compile import segment_specs  # noqa: E402
from segflow.segments.project import load_project  # noqa: E402
from segflow.segments.sql import (  # noqa: E402
    ATTRIBUTES,
    EVENT_FEATURES,
    FLAGS,
    POPULATION,
    SALES_FEATURES,
    attribute_values_sql,
    direct_context,
    features_sql,
    flags_sql,
    membership_sql,
    population_sql,
    segment_features,
    segment_sql,
)

D = date(2026, 11, 22)


def floor_sql(lines: str, day: date = D) -> str:
    """The floor every benchmark compares with: one aggregate scan of the sales lines
    `lines` up to `day`, orders and revenue per customer."""
    return f"""select customer_id, count(distinct transaction_id) as orders, sum(amount) as revenue
    from {lines} where occurred_on <= cast('{day}' as date)
    group by customer_id"""


# The build's sales lines as a plain table: a build's int_sales_lines is a view of the
# versions segflow keeps (DuckDB, PostgreSQL), and the honest floor scans a table that holds
# the lines and nothing else. Copied before the floor is timed.
PLAIN_LINES = "bench_plain.sales_lines"


def plain_lines_statements(lines: str) -> list[str]:
    """Copy the sales lines `lines` (a build's int_sales_lines) into PLAIN_LINES."""
    return [
        f"create schema if not exists {PLAIN_LINES.split('.')[0]}",
        f"drop table if exists {PLAIN_LINES}",
        f"create table {PLAIN_LINES} as select * from {lines}",
    ]


BRANDS = [
    "Nordlicht",
    "Urban Fox",
    "Kite & Co",
    "Alma Verde",
    "Blue Harbor",
    "Petit Ours",
    "Stride",
    "Luma Home",
    "Kiko Milano",
    "Sol",
]
# The sales metrics of the generated segments and their thresholds (benchmarks/analyst.py
# writes the same segments by hand).
METRICS = [
    ("orders", [1, 2, 5]),
    ("revenue", [100, 500, 1000]),
    ("items", [3, 10]),
    ("avg_order_value", [50, 80]),
    ("days_since_last_order", [30, 180]),
]
WINDOWS = [None, "{last: 30d}", "{last: 90d}", "{last: 365d}", "{last: 3m}", "{last: 1y}"]


def generate_data(con: duckdb.DuckDBPyConnection, customers: int, lines: int) -> None:
    con.execute("create schema if not exists intermediate; create schema if not exists staging")
    con.execute(f"""
        create or replace table intermediate.int_customer_versions as
        select
            'C' || lpad(i::varchar, 7, '0') as customer_id,
            1 as version_number,
            null::date as valid_from,
            null::date as valid_to,
            timestamptz '2020-01-01 00:00:00+00' as updated_at,
            case when hash(i, 'e') % 10 = 0 then null else 'c' || i || '@example.com' end as email,
            null::varchar as first_name,
            null::varchar as last_name,
            (['f', 'm', 'x', null])[1 + (hash(i, 'g') % 4)::int] as gender,
            date '1950-01-01' + (hash(i, 'b') % 20000)::int as birth_date,
            date '2021-01-01' + (hash(i, 's') % 2100)::int as signup_date,
            null::varchar as signup_store,
            (['de', 'nl', 'en'])[1 + (hash(i, 'l') % 3)::int] as language,
            'DE' as country,
            null::varchar as postal_code,
            hash(i, 'a') % 2 = 0 as app_user,
            null::varchar as login_method,
            hash(i, 'o') % 3 > 0 as email_opt_in,
            false as push_opt_in,
            hash(i, 'w') % 100 = 0 as is_employee,
            case when hash(i, 'x') % 200 = 0 then 'blocked' else 'active' end as status,
            false as is_erased
        from range({customers}) t(i)
    """)
    brands = ", ".join(f"'{b}'" for b in BRANDS)
    con.execute(f"""
        create or replace table intermediate.int_sales_lines as
        with raw as (
            select j, j // 3 as tx, hash(j // 3, 'c') % {customers} as c
            from range({lines}) t(j)
        )
        select
            'T' || tx as transaction_id,
            (j % 3)::varchar as line_id,
            'C' || lpad(c::varchar, 7, '0') as customer_id,
            date '{D}' - (hash(tx, 'd') % 730)::int as occurred_on,
            'S' || (hash(tx, 's') % 12) as store_id,
            (['store', 'online', 'app'])[1 + (hash(tx, 'ch') % 3)::int] as channel,
            'P' || (hash(j, 'p') % 5000) as product_id,
            case when hash(j, 'r') % 100 < 8 then -1 else 1 end as quantity,
            (case when hash(j, 'r') % 100 < 8 then -1 else 1 end)
                * ((hash(j, 'a') % 20000) / 100.0)::decimal(18, 4) as amount,
            'EUR' as currency,
            case when hash(tx, 'k') % 5 = 0 then 'SALE' end as campaign_code,
            ([{brands}])[1 + (hash(j, 'b') % 10)::int] as brand,
            null::varchar as collection,
            (['Women', 'Men', 'Kids', 'Home'])[1 + (hash(j, 'dep') % 4)::int] as department,
            null::varchar as category,
            null::varchar as target_group,
            null::varchar as color,
            null::varchar as season,
            false as is_unknown_product
        from raw
    """)
    con.execute(f"""
        create or replace table intermediate.int_events as
        select
            'E' || j as event_id,
            'C' || lpad((hash(j, 'c') % {customers})::varchar, 7, '0') as customer_id,
            date '{D}' - (hash(j, 'd') % 730)::int as occurred_on,
            (['app_open', 'points_earned', 'reward_redeemed', 'check_in'])[
                1 + (hash(j, 't') % 4)::int] as event_type,
            case when hash(j, 't') % 4 = 1 then (hash(j, 'p') % 300)::int
                 when hash(j, 't') % 4 = 2 then -100 end as points,
            null::varchar as reward, null::varchar as challenge, null::varchar as account,
            'app' as channel
        from range({lines // 4}) t(j)
    """)
    con.execute(f"""
        create or replace table staging.stg_customer_attributes as
        select
            'C' || lpad((i % {customers})::varchar, 7, '0') as customer_id,
            'diet' as attribute,
            (['vegan', 'vegetarian', 'pescatarian'])[1 + (hash(i, 'v') % 3)::int] as value,
            timestamptz '2024-01-01 00:00:00+00' as updated_at,
            date '2024-01-01' as updated_on,
            false as is_deleted,
            'bench' as source_file
        from range({customers // 10}) t(i)
    """)


def generate_segments(folder: Path, count: int) -> None:
    """A realistic mix: sales metrics with brands and windows, loyalty, profile, attributes."""
    folder.mkdir(parents=True, exist_ok=True)
    metrics = METRICS
    made = 0
    i = 0
    while made < count:
        i += 1
        kind = i % 10
        if kind < 6:
            metric, thresholds = metrics[i % len(metrics)]
            window = WINDOWS[(i // 3) % len(WINDOWS)]
            brand = BRANDS[i % len(BRANDS)]
            where = f"\n  where: {{brand: {brand!r}}}" if i % 3 else ""
            if i % 7 == 0:
                where = "\n  where: {campaign_code: {is: missing}}"
            window_line = f"\n  window: {window}" if window and "days_since" not in metric else ""
            text = (
                f"rules:\n  metric: {metric}{where}{window_line}\n"
                f"  gte: {thresholds[i % len(thresholds)]}\n"
            )
        elif kind == 6:
            text = (
                f"rules:\n  metric: events\n  event: app_open\n  window: {{last: {10 + i}d}}\n"
                "  gte: 1\n"
            )
        elif kind == 7:
            text = f"rules:\n  metric: points\n  gt: {100 + i * 5}\n"
        elif kind == 8:
            text = (
                f"rules:\n  all:\n    - {{profile: gender, eq: f}}\n"
                f"    - {{profile: age, between: [{20 + i % 30}, {35 + i % 30}]}}\n"
                f"    - {{attribute: diet, eq: vegan}}\n"
                if i % 20 == 8
                else f"rules:\n  all:\n    - {{profile: gender, eq: f}}\n"
                f"    - {{profile: age, between: [{20 + i % 30}, {35 + i % 30}]}}\n"
            )
        else:
            text = (
                "kind: tiered\ntiers:\n"
                f"  - {{name: gold, when: {{metric: revenue, window: {{last: 365d}}, gte: {1000 + i}}}}}\n"
                f"  - {{name: silver, when: {{metric: revenue, window: {{last: 365d}}, gte: {500 + i}}}}}\n"
            )
        (folder / f"s{made:03d}.yml").write_text(text)
        made += 1


def timed(
    con: duckdb.DuckDBPyConnection,
    statements: list[str],
    stages: dict[str, list[float]] | None = None,
) -> float:
    """Seconds for the statements; with `stages`, this run's total per stage is appended."""
    start = time.perf_counter()
    totals: dict[str, float] = {}
    for sql in statements:
        begin = time.perf_counter()
        con.execute(sql)
        totals[_stage(sql)] = totals.get(_stage(sql), 0.0) + time.perf_counter() - begin
    if stages is not None:
        for stage, seconds in totals.items():
            stages.setdefault(stage, []).append(seconds)
    return time.perf_counter() - start


def _stage(sql: str) -> str:
    target = sql.split(" as ", 1)[0].split()[-1]
    if target.startswith(("out.seg_", "out.t_seg_")):
        return "seg_<name> (100)"
    return {
        "out.sales_features": "sales features",
        "out.event_features": "event features",
        "out.flags": "flags (all segments)",
        "out.dim_population": "population",
    }.get(target, "attributes, membership view")


def same_metrics_one_pass(project) -> list[str]:
    """What one would write by hand to get every metric in one pass: a distinct count per
    orders metric, a filtered sum per sum metric (the same row filters as segflow's)."""
    from segflow.segments.sql import _row_filter, when_all

    ctx = direct_context(D, {"int_sales_lines": "intermediate.int_sales_lines"})
    features = sorted(
        {
            f
            for n in project.segments
            for f in segment_features(project.definition(n))
            if not f.is_loyalty
        },
        key=lambda f: f.column,
    )
    columns = []
    for f in features:
        w = when_all(_row_filter(f, "lines", "occurred_on", ctx)).replace("lines.", "")
        w = w.replace("brand =", "lower(trim(brand)) =").replace(
            "campaign_code is", "campaign_code is"
        )
        orders = f"count(distinct case when {w} and quantity > 0 then transaction_id end)"
        revenue = f"sum(case when {w} then amount end)"
        columns.append(
            {
                "orders": orders,
                "revenue": revenue,
                "items": f"sum(case when {w} then quantity end)",
                "avg_order_value": f"{revenue} / nullif({orders}, 0)",
                "days_since_last_order": f"max(case when {w} and quantity > 0 then occurred_on end)",
                "days_since_first_order": f"min(case when {w} and quantity > 0 then occurred_on end)",
            }[f.metric]
            + f" as {f.column}"
        )
    return [
        f"""create or replace table out.one_pass as
        select customer_id, {", ".join(columns)}
        from intermediate.int_sales_lines where occurred_on <= date '{D}'
        group by customer_id"""
    ]


def model_sql(project, relations: dict[str, str], dialect: str = "duckdb") -> list[tuple[str, str]]:
    """(model, SQL) of the generated models for every segment, in dependency order, as dbt
    runs them; `segment_membership` last (a view)."""
    ctx = direct_context(D, relations, dialect)
    names = project.ordered()
    specs = segment_specs(project, names)
    features = [f for spec in specs for f in segment_features(spec.definition)]
    tiered = [(n, project.definition(n).kind == "tiered") for n in sorted(names)]
    return [
        (POPULATION, population_sql(ctx)),
        (ATTRIBUTES, attribute_values_sql(ctx)),
        (SALES_FEATURES, features_sql(features, False, ctx)),
        (EVENT_FEATURES, features_sql(features, True, ctx)),
        (FLAGS, flags_sql(specs, ctx)),
        *[(f"seg_{n}", segment_sql(n, project.definition(n).kind == "tiered", ctx)) for n in names],
        ("segment_membership", membership_sql(tiered, ctx)),
    ]


def segflow_statements(project, relations: dict[str, str], seg_tables: bool = False) -> list[str]:
    """The models as dbt materialises them: `seg_<name>` views of the flags (the default of
    dbt_project.yml), or with `seg_tables` tables, as `+materialized: table` makes them."""

    def kind(name: str) -> str:
        if name == "segment_membership" or (name.startswith("seg_") and not seg_tables):
            return "view"
        return "table"

    return [
        f"create or replace {kind(name)} {relations[name]} as {sql}"
        for name, sql in model_sql(project, relations)
    ]


def naive_statements(project) -> list[str]:
    from segflow.evaluation.relations import with_clause

    out = []
    for name in project.ordered():
        _, _, ctes = with_clause(project, [name], D)
        out.append(f"create or replace table out.naive_{name} as {ctes}\nselect * from seg__{name}")
    return out


def run_dbt(workdir: Path, warehouse: Path, segments: Path) -> float:
    from segflow.segments.compile import compile_project

    project_dir = workdir / "dbt_project"
    shutil.copytree(
        ROOT / "dbt_project",
        project_dir,
        ignore=shutil.ignore_patterns("target", "logs", "segments"),
    )
    env = {
        **os.environ,
        "SEGFLOW_SEGMENTS": str(segments),
        "SEGFLOW_DBT_PROJECT": str(project_dir),
        "SEGFLOW_DUCKDB_PATH": str(warehouse),
        "SEGFLOW_TARGET": "duckdb",
    }
    os.environ.update(env)
    compile_project(load_project(segments), segments, project_dir)
    args = [
        dbt_executable(),
        "run",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--select",
        "path:models/segments",
        "--vars",
        f"{{as_of: {D}}}",
        "--quiet",
    ]
    start = time.perf_counter()
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-2000:])
        raise SystemExit("dbt run failed")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=2_000_000, help="sales lines")
    parser.add_argument("--segments", type=int, default=100)
    parser.add_argument("--full", action="store_true", help="1M customers, 20M sales lines")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the median counts")
    parser.add_argument("--no-dbt", action="store_true", help="skip the run through dbt")
    args = parser.parse_args()
    if args.full:
        args.customers, args.lines = 1_000_000, 20_000_000
    workdir = Path(tempfile.mkdtemp(prefix="segflow-bench-"))
    warehouse = workdir / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    print(
        f"data: {args.customers:,} customers, {args.lines:,} sales lines, "
        f"{args.lines // 4:,} events; {args.segments} segments; DuckDB {duckdb.__version__}"
    )
    start = time.perf_counter()
    generate_data(con, args.customers, args.lines)
    print(f"generated in {time.perf_counter() - start:.1f} s")
    segments = workdir / "segments"
    generate_segments(segments, args.segments)
    project = load_project(segments)
    project.raise_for_problems()
    con.execute("create schema if not exists out")
    relations = {
        "int_customer_versions": "intermediate.int_customer_versions",
        "int_sales_lines": "intermediate.int_sales_lines",
        "int_events": "intermediate.int_events",
        "stg_customer_attributes": "staging.stg_customer_attributes",
        POPULATION: "out.dim_population",
        ATTRIBUTES: "out.attribute_values",
        SALES_FEATURES: "out.sales_features",
        EVENT_FEATURES: "out.event_features",
        FLAGS: "out.flags",
        "segment_membership": "out.segment_membership",
        **{f"seg_{n}": f"out.seg_{n}" for n in project.segments},
    }
    floor_statements = [
        f"create or replace table out.floor as {floor_sql('intermediate.int_sales_lines')}"
    ]
    segflow_sql = segflow_statements(project, relations)
    # The same, with the segments' tables and their membership view under names of their own
    as_tables = {
        name: relation.replace("out.seg", "out.t_seg") for name, relation in relations.items()
    }
    tables_sql = segflow_statements(project, as_tables, seg_tables=True)
    naive_sql = naive_statements(project)
    one_pass_sql = same_metrics_one_pass(project)
    runs: dict[str, list[float]] = {
        "floor": [],
        "one_pass": [],
        "segflow": [],
        "tables": [],
        "naive": [],
    }
    stages: dict[str, list[float]] = {}
    for _ in range(args.repeat):  # interleaved, so machine noise hits all alike
        runs["floor"].append(timed(con, floor_statements))
        runs["one_pass"].append(timed(con, one_pass_sql))
        runs["segflow"].append(timed(con, segflow_sql, stages))
        runs["tables"].append(timed(con, tables_sql))
        runs["naive"].append(timed(con, naive_sql))
    members = con.execute("select count(*) from out.segment_membership").fetchone()[0]
    con.close()
    floor, one_pass, segflow, tables, naive = (
        statistics.median(runs[k]) for k in ("floor", "one_pass", "segflow", "tables", "naive")
    )
    width = 46
    print(f"\n{'':{width}}{'seconds':>9}{'vs floor':>10}")
    print(f"{'floor: one aggregate scan (orders, revenue)':{width}}{floor:9.2f}{1:10.2f}")
    print(
        f"{'one hand-written pass, the same sales metrics':{width}}{one_pass:9.2f}"
        f"{one_pass / floor:10.2f}"
    )
    print(f"{'segflow build (SQL of the models)':{width}}{segflow:9.2f}{segflow / floor:10.2f}")
    for stage, times in sorted(stages.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"{'  ' + stage:{width}}{statistics.median(times):9.2f}")
    print(f"{'segflow build, seg_<name> as tables':{width}}{tables:9.2f}{tables / floor:10.2f}")
    print(f"{'one query per segment':{width}}{naive:9.2f}{naive / floor:10.2f}")
    if not args.no_dbt:
        through_dbt = run_dbt(workdir, warehouse, segments)
        print(
            f"{'segflow build via dbt (wall, start-up included)':{width}}{through_dbt:9.2f}"
            f"{through_dbt / floor:10.2f}"
        )
    print(f"\nsegflow / floor: {segflow / floor:.2f} (target <= 1.5)")
    print(f"segflow / one hand-written pass of the same metrics: {segflow / one_pass:.2f}")
    print(f"one query per segment / segflow: {naive / segflow:.1f}x (target >= 10)")
    print(f"memberships built: {members:,}; median of {args.repeat} interleaved runs")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
