"""Benchmark: one segment's own query (preview, `members --as-of`) against the analyst's query.

    .venv/bin/python benchmarks/preview.py            # 100,000 customers, ~2M sales lines
    .venv/bin/python benchmarks/preview.py --full     # 1M customers, 20M sales lines, 5M events

Generates scaled data straight into the intermediate tables of a DuckDB warehouse
(benchmarks/segments.py's generator), writes five segments of different shapes (a brand over
90 days, revenue over 365 days, lifetime orders without a campaign code, app opens over 30
days, lapsed 180 days) into a temporary project, then measures side by side, interleaved in
every round (medians of --repeat rounds):

- segflow over the lines: the segment's own query over the sales lines and events
  (population, features and flags inlined as CTEs, D a literal), counted: what preview and
  `members --as-of` run when the build's per-day aggregates lack one of its filters;
- segflow over the kept aggregates: the same query with the features summed from the per-day
  aggregates a build keeps (built here once, for the five segments' filters, as a first
  build would): what they run otherwise;
- by hand: the query a competent analyst would write: one plain filtered aggregate over the
  sales lines (or events) joined to the population, returning the member count;
- `preview`: the whole `segflow preview` evaluation (members, share of the population, the
  members' revenue), through the library function the command calls (it reads the kept
  aggregates);
- floor: one aggregate scan of the sales lines (orders, revenue per customer).

The member counts of segflow and by hand (and `preview`) must be the same for every segment:
if not, both are printed and the script exits with status 1.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.segments import D, generate_data  # noqa: E402
from segflow.evaluation.queries import preview  # noqa: E402
from segflow.evaluation.relations import KeptDaily, kept_daily, with_clause  # noqa: E402
from segflow.segments.compile import (  # noqa: E402
    all_features,
    build_daily_models,
    macros_digest,
)
from segflow.segments.daily import DAILY_SCHEMA, daily_models  # noqa: E402
from segflow.segments.project import SegmentProject, load_project  # noqa: E402
from segflow.segments.sql import direct_context  # noqa: E402
from segflow.settings import load_settings  # noqa: E402
from segflow.warehouse import Warehouse, open_warehouse, tables  # noqa: E402

DAY = f"date '{D}'"

# The population at D as docs/segments.md defines it (and population_sql builds it): the
# customer's version valid at D, signed up by D, not blocked or fraud, not erased.
POPULATION = f"""population as (
    select customer_id
    from intermediate.int_customer_versions
    where (valid_from is null or valid_from <= {DAY})
        and (valid_to is null or {DAY} < valid_to)
        and signup_date <= {DAY}
        and status not in ('blocked', 'fraud')
        and not is_erased
)"""


def by_hand(source: str, where: str, having: str) -> str:
    """One filtered aggregate over `source` joined to the population: the member count."""
    return f"""with {POPULATION}
select count(*) from (
    select rows.customer_id
    from {source} as rows
    join population as p on p.customer_id = rows.customer_id
    where rows.occurred_on <= {DAY} and {where}
    group by rows.customer_id
    having {having}
) as members"""


LINES = "intermediate.int_sales_lines"
EVENTS = "intermediate.int_events"


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    segment: str  # the segment's YAML
    analyst: str  # the analyst's query: one number, the members


CASES = [
    Case(
        "nordlicht_90d",
        "orders of Nordlicht, last 90 days ≥ 1",
        "rules:\n  metric: orders\n  where: {brand: Nordlicht}\n  window: {last: 90d}\n  gte: 1\n",
        by_hand(
            LINES,
            f"rows.brand = 'Nordlicht' and rows.quantity > 0 and rows.occurred_on > {DAY} - 90",
            "count(distinct rows.transaction_id) >= 1",
        ),
    ),
    Case(
        "revenue_365d",
        "revenue, last 365 days ≥ 1000",
        "rules:\n  metric: revenue\n  window: {last: 365d}\n  gte: 1000\n",
        by_hand(LINES, f"rows.occurred_on > {DAY} - 365", "sum(rows.amount) >= 1000"),
    ),
    Case(
        "orders_no_campaign",
        "≥ 2 orders without a campaign code",
        "rules:\n  metric: orders\n  where: {campaign_code: {is: missing}}\n  gte: 2\n",
        by_hand(
            LINES,
            "rows.campaign_code is null and rows.quantity > 0",
            "count(distinct rows.transaction_id) >= 2",
        ),
    ),
    Case(
        "app_open_30d",
        "app opened in the last 30 days",
        "rules:\n  metric: events\n  event: app_open\n  window: {last: 30d}\n  gte: 1\n",
        by_hand(
            EVENTS,
            f"rows.event_type = 'app_open' and rows.occurred_on > {DAY} - 30",
            "count(*) >= 1",
        ),
    ),
    Case(
        "lapsed_180d",
        "last order ≥ 180 days ago",
        "rules:\n  metric: days_since_last_order\n  gte: 180\n",
        by_hand(LINES, "rows.quantity > 0", f"max(rows.occurred_on) <= {DAY} - 180"),
    ),
]

FLOOR = f"""select count(*), sum(orders), sum(revenue) from (
    select customer_id, count(distinct transaction_id) as orders, sum(amount) as revenue
    from {LINES}
    where occurred_on <= {DAY}
    group by customer_id
) as per_customer"""


def segflow_sql(project: SegmentProject, name: str, kept: KeptDaily | None = None) -> str:
    """The segment's own query, as preview and `members --as-of` run it, counted."""
    _, _, ctes = with_clause(project, [name], D, dialect="duckdb", kept=kept)
    return f"{ctes}\nselect count(*) from seg__{name}"


def keep_aggregates(con: duckdb.DuckDBPyConnection, project: SegmentProject, wh: Warehouse) -> None:
    """The per-day aggregates a first build of this project keeps (segflow_daily), with the
    state that tells direct queries they hold the project's filters, and the record of a
    published build that made them."""
    retained = {
        "int_sales_lines_retained": "intermediate.int_sales_lines",
        "int_events_retained": "intermediate.int_events",
    }
    features = all_features(project)
    con.execute(f"create schema if not exists {DAILY_SCHEMA}")
    ctx = direct_context(D, retained)
    compiled = build_daily_models(features, macros_digest(wh.settings.dbt_project_dir))
    for model, built in zip(daily_models(features, ctx, rows="true"), compiled, strict=True):
        # in customer order, as a whole build writes them (dbt_project/macros/daily_aggregate.sql)
        con.execute(
            f"create or replace table {DAILY_SCHEMA}.{model.name} as "
            f"select * from ({model.select}) as whole order by customer_id"
        )
        con.execute(
            f"create or replace table {DAILY_SCHEMA}.{model.name}__state as select "
            f"'{built.definition_hash} {wh.settings.timezone}' as definition, "
            "'benchmark' as build_run, cast(0 as bigint) as unordered"
        )
    wh.ensure_tables(tables.PUBLICATION)
    out = wh.output_schema
    wh.execute(
        f"insert into {out}.{tables.BUILDS.name} values "
        "('segflow_a', 'benchmark', ?, now(), now())",
        (D,),
    )
    wh.execute(
        f"insert into {out}.{tables.PUBLISHED.name} values "
        "('intermediate', 'int_customer_versions', 'segflow_a')"
    )


def timed(run: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def preview_members(wh: Warehouse, project: SegmentProject, name: str) -> int:
    """`segflow preview NAME --as-of D`'s evaluation (members, share, revenue); the members."""
    return preview(wh, project, name, D).members


def connect_duckdb(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A plain connection to the benchmark's DuckDB file, configured as segflow's own: DuckDB
    refuses a second connection to one file with a different configuration."""
    limit = load_settings(dotenv=False).duckdb_memory_limit
    return duckdb.connect(str(warehouse), config={"memory_limit": limit})


def open_duckdb(warehouse: Path) -> Warehouse:
    """segflow's warehouse object over the benchmark's DuckDB file."""
    settings = load_settings(dotenv=False).model_copy(
        update={"target": "duckdb", "duckdb_path": warehouse}
    )
    return open_warehouse(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=2_000_000, help="sales lines")
    parser.add_argument(
        "--full", action="store_true", help="1M customers, 20M sales lines, 5M events"
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median counts")
    args = parser.parse_args()
    if args.full:
        args.customers, args.lines = 1_000_000, 20_000_000
    workdir = Path(tempfile.mkdtemp(prefix="segflow-bench-preview-"))
    try:
        status = run(workdir, args.customers, args.lines, args.repeat)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    raise SystemExit(status)


def run(workdir: Path, customers: int, lines: int, repeat: int) -> int:
    warehouse = workdir / "warehouse.duckdb"
    con = connect_duckdb(warehouse)
    print(
        f"data: {customers:,} customers, {lines:,} sales lines, {lines // 4:,} events; "
        f"as of {D}; DuckDB {duckdb.__version__}"
    )
    start = time.perf_counter()
    generate_data(con, customers, lines)
    print(f"generated in {time.perf_counter() - start:.1f} s")
    segments = workdir / "segments"
    segments.mkdir()
    for case in CASES:
        (segments / f"{case.name}.yml").write_text(case.segment)
    project = load_project(segments)
    project.raise_for_problems()
    wh = open_duckdb(warehouse)  # the same database as `con`: one DuckDB instance
    start = time.perf_counter()
    keep_aggregates(con, project, wh)
    print(f"per-day aggregates built (a first build's) in {time.perf_counter() - start:.1f} s")
    kept = kept_daily(wh, project)
    assert kept is not None, "the kept aggregates do not match the project"
    queries = {case.name: segflow_sql(project, case.name) for case in CASES}
    from_kept = {case.name: segflow_sql(project, case.name, kept) for case in CASES}

    times: dict[tuple[str, str], list[float]] = {}
    counts: dict[tuple[str, str], int] = {}
    floor: list[float] = []
    try:
        for _ in range(repeat):  # interleaved, so machine noise hits all alike
            floor.append(timed(partial(count, con, FLOOR))[0])
            for case in CASES:
                runs: dict[str, Callable[[], int]] = {
                    "segflow": partial(count, con, queries[case.name]),
                    "kept": partial(count, con, from_kept[case.name]),
                    "by hand": partial(count, con, case.analyst),
                    "preview": partial(preview_members, wh, project, case.name),
                }
                for kind, call in runs.items():
                    seconds, members = timed(call)
                    times.setdefault((case.name, kind), []).append(seconds)
                    counts[(case.name, kind)] = members
    finally:
        wh.close()
        con.close()

    def median(name: str, kind: str) -> float:
        return statistics.median(times[(name, kind)])

    print(f"\nmedians of {repeat} interleaved rounds\n")
    print(
        "| segment | members | segflow over the lines | segflow over the kept aggregates "
        "| by hand | kept / by hand | `preview` |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    totals = {"segflow": 0.0, "kept": 0.0, "by hand": 0.0, "preview": 0.0}
    for case in CASES:
        row = {kind: median(case.name, kind) for kind in totals}
        for kind, seconds in row.items():
            totals[kind] += seconds
        print(
            f"| {case.label} | {counts[(case.name, 'segflow')]:,} | {row['segflow']:.2f} s "
            f"| {row['kept']:.2f} s | {row['by hand']:.2f} s "
            f"| {row['kept'] / row['by hand']:.2f}× | {row['preview']:.2f} s |"
        )
    print(
        f"| **all five** | | **{totals['segflow']:.2f} s** | **{totals['kept']:.2f} s** "
        f"| **{totals['by hand']:.2f} s** | **{totals['kept'] / totals['by hand']:.2f}×** "
        f"| **{totals['preview']:.2f} s** |"
    )
    print(
        f"\nfloor: one aggregate scan of the sales lines (orders, revenue per customer): "
        f"{statistics.median(floor):.2f} s"
    )

    wrong = [
        case
        for case in CASES
        if len({counts[(case.name, kind)] for kind in ("segflow", "kept", "by hand", "preview")})
        != 1
    ]
    for case in wrong:
        print(
            f"MEMBER COUNTS DIFFER for {case.name}: segflow {counts[(case.name, 'segflow')]:,}, "
            f"from the kept aggregates {counts[(case.name, 'kept')]:,}, "
            f"by hand {counts[(case.name, 'by hand')]:,}, "
            f"preview {counts[(case.name, 'preview')]:,}",
            file=sys.stderr,
        )
    if not wrong:
        print("same member counts: segflow (both ways), by hand and `preview`, every segment")
    return 1 if wrong else 0


if __name__ == "__main__":
    main()
