"""Benchmark: the first build and a nightly build through dbt, with the per-day aggregates kept.

    .venv/bin/python benchmarks/nightly.py            # 100,000 customers, ~2M sales lines
    .venv/bin/python benchmarks/nightly.py --full     # 1M customers, ~20M sales lines

Generates raw feeds (two years, a delivery file per day, as ingestion leaves them) straight
into the raw tables of a DuckDB warehouse, and 100 segments (benchmarks/segments.py's mix),
then measures in one run:

- floor: one aggregate scan of the sales lines (orders, revenue per customer), as in
  benchmarks/segments.py;
- the first build: `dbt run` of every model as of D into a slot, the per-day aggregates
  built whole;
- a nightly build: one more day of deliveries (a day's lines and events), `dbt run` as of
  D + 1 into the other slot: the aggregates re-do that day;
- one query per segment as a competent analyst writes it by hand (benchmarks/analyst.py: a
  plain filtered aggregate per segment over the nightly build's lines, joined to its
  population), each one's member count checked against segflow's `seg_<name>`;
- per model, dbt's own execution time (run_results.json in the slot's target folder) of both
  builds, with one dbt thread by default so that a model's time is its own (builds run two
  threads, where models compete for the two cores).

Targets (issue 15): the nightly build <= 1.5x the floor and >= 10x faster than one query per
segment. dbt's tests are not run (they are the same work on either night).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.analyst import analyst_queries  # noqa: E402
from benchmarks.memory import PeakRss  # noqa: E402
from benchmarks.segments import (  # noqa: E402
    BRANDS,
    PLAIN_LINES,
    floor_sql,
    generate_segments,
    plain_lines_statements,
)
from segflow.bi.sources import ensure_bi_sources  # noqa: E402
from segflow.dbt import dbt_executable, slot_target  # noqa: E402
from segflow.segments.compile import compile_project  # noqa: E402
from segflow.segments.project import load_project  # noqa: E402
from segflow.settings import Settings, load_settings  # noqa: E402
from segflow.warehouse import open_warehouse, tables  # noqa: E402

D = date(2026, 11, 22)
DAYS = 730
ENV = {"SEGFLOW_TARGET": "duckdb", "SEGFLOW_TIMEZONE": "Europe/Berlin"}


def workspace(root: Path, target: str = "duckdb") -> Path:
    """A copy of the dbt project in `root`, and this process's environment pointing segflow
    and dbt at `root` (warehouse file, segments, landing folder) on `target`; returns the
    dbt project's folder."""
    project_dir = root / "dbt_project"
    shutil.copytree(
        ROOT / "dbt_project",
        project_dir,
        ignore=shutil.ignore_patterns("target", "logs", "segments"),
    )
    os.environ.update(
        ENV,
        SEGFLOW_TARGET=target,
        SEGFLOW_DUCKDB_PATH=str(root / "warehouse.duckdb"),
        SEGFLOW_SEGMENTS=str(root / "segments"),
        SEGFLOW_DBT_PROJECT=str(project_dir),
        SEGFLOW_LANDING=str(root / "landing"),
    )
    return project_dir


def generate_raw(con: duckdb.DuckDBPyConnection, customers: int, lines: int) -> None:
    """Raw rows as ingestion loads them: lineage columns, a transactions and an events file
    per day, and the file log."""
    con.execute(f"""
        insert into raw.customers by name
        select
            'C' || lpad(i::varchar, 7, '0') as customer_id,
            case when hash(i, 'e') % 10 = 0 then null else 'c' || i || '@example.com' end as email,
            (['f', 'm', 'x', null])[1 + (hash(i, 'g') % 4)::int] as gender,
            date '1950-01-01' + (hash(i, 'b') % 20000)::int as birth_date,
            date '2021-01-01' + (hash(i, 's') % 1400)::int as signup_date,
            (['de', 'nl', 'en'])[1 + (hash(i, 'l') % 3)::int] as language,
            'DE' as country,
            hash(i, 'a') % 2 = 0 as app_user,
            hash(i, 'o') % 3 > 0 as email_opt_in,
            false as push_opt_in,
            hash(i, 'w') % 100 = 0 as is_employee,
            case when hash(i, 'x') % 200 = 0 then 'blocked' else 'active' end as status,
            timestamptz '2021-01-01 00:00:00+00' as updated_at,
            'customers/2021-01-01.csv' as _file,
            date '2021-01-01' as _delivery_date,
            i as _row_number
        from range({customers}) t(i)
    """)
    brands = ", ".join(f"'{b}'" for b in BRANDS)
    con.execute(f"""
        insert into raw.products by name
        select
            'P' || i as product_id,
            ([{brands}])[1 + (hash(i, 'b') % 10)::int] as brand,
            (['Women', 'Men', 'Kids', 'Home'])[1 + (hash(i, 'dep') % 4)::int] as department,
            timestamptz '2021-01-01 00:00:00+00' as updated_at,
            'products/2021-01-01.csv' as _file,
            date '2021-01-01' as _delivery_date,
            i as _row_number
        from range(5000) t(i)
    """)
    con.execute(
        f"insert into raw.customer_attributes by name select 'C' || lpad((i % {customers})"
        "::varchar, 7, '0') as customer_id, 'diet' as attribute, (['vegan', 'vegetarian', "
        "'pescatarian'])[1 + (hash(i, 'v') % 3)::int] as value, timestamptz '2024-01-01 "
        "00:00:00+00' as updated_at, 'customer_attributes/2024-01-01.csv' as _file, "
        f"date '2024-01-01' as _delivery_date, i as _row_number from range({customers // 10}) t(i)"
    )
    add_days(con, customers, lines, first=D - timedelta(days=DAYS - 1), days=DAYS)


def add_days(
    con: duckdb.DuckDBPyConnection, customers: int, lines: int, first: date, days: int
) -> None:
    """`days` days of deliveries from `first`: lines // DAYS sales lines a day (three to a
    transaction, 8 % returns), a quarter as many events; each day its own files."""
    per_day, events = lines // DAYS, lines // DAYS // 4
    offset = (first - D).days + DAYS - 1  # days before `first`: row numbers continue
    con.execute(f"""
        insert into raw.transactions by name
        with numbered as (
            select j, j // 3 as tx, hash(j // 3, 'c') % {customers} as c,
                date '{first}' + ((j - {offset * per_day}) // {per_day})::int as day
            from range({offset * per_day}, {(offset + days) * per_day}) t(j)
        )
        select
            'T' || tx as transaction_id,
            (j % 3)::varchar as line_id,
            'C' || lpad(c::varchar, 7, '0') as customer_id,
            (day + interval 9 hour + interval (hash(tx, 'm') % 600) minute)::timestamptz
                as occurred_at,
            'S' || (hash(tx, 's') % 12) as store_id,
            (['store', 'online', 'app'])[1 + (hash(tx, 'ch') % 3)::int] as channel,
            'P' || (hash(j, 'p') % 5000) as product_id,
            case when hash(j, 'r') % 100 < 8 then -1 else 1 end as quantity,
            (case when hash(j, 'r') % 100 < 8 then -1 else 1 end)
                * ((hash(j, 'a') % 20000) / 100.0)::decimal(18, 4) as amount,
            'EUR' as currency,
            case when hash(tx, 'k') % 5 = 0 then 'SALE' end as campaign_code,
            'transactions/' || day || '.csv' as _file,
            day as _delivery_date,
            j as _row_number
        from numbered
    """)
    con.execute(f"""
        insert into raw.events by name
        with numbered as (
            select j, date '{first}' + ((j - {offset * events}) // {events})::int as day
            from range({offset * events}, {(offset + days) * events}) t(j)
        )
        select
            'E' || j as event_id,
            'C' || lpad((hash(j, 'c') % {customers})::varchar, 7, '0') as customer_id,
            (day + interval 12 hour)::timestamptz as occurred_at,
            (['app_open', 'points_earned', 'reward_redeemed', 'check_in'])[
                1 + (hash(j, 't') % 4)::int] as event_type,
            case when hash(j, 't') % 4 = 1 then (hash(j, 'p') % 300)::int
                 when hash(j, 't') % 4 = 2 then -100 end as points,
            'app' as channel,
            'events/' || day || '.csv' as _file,
            day as _delivery_date,
            j as _row_number
        from numbered
    """)
    con.execute(f"""
        insert into raw.file_log
        select feed, feed || '/' || day || '.csv', 'bench-' || day, day, 'loaded', 0, 0, null,
            now()
        from (select unnest(['transactions', 'events']) as feed),
            (select date '{first}' + i::int as day from range({days}) t(i))
    """)


def dbt_run(
    project_dir: Path, slot: str, as_of: date, threads: int, run_id: str = "benchmark"
) -> tuple[float, dict[str, float], float]:
    """Seconds for `dbt run` into the slot (emptied first, as a build does) as the run
    `run_id` (what the per-day aggregates record as the build that changed them), dbt's own
    seconds per model, and dbt's peak RSS in GB (the whole build on DuckDB, which runs in
    dbt's process; the client's only on a server engine)."""
    with open_warehouse(load_settings(dotenv=False)) as wh:
        wh.drop_schema(slot)
    seconds, rss = _timed_dbt("run", project_dir, slot, as_of, threads, run_id)
    results = json.loads((project_dir / slot_target(slot) / "run_results.json").read_text())
    models = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results["results"]}
    return seconds, models, rss


def dbt_test(
    project_dir: Path, slot: str, as_of: date, threads: int
) -> tuple[float, dict[str, float], float]:
    """Seconds for `dbt test` of the slot's build: the data tests a build's `dbt build` runs
    beside the models (orchestration/assets/transform.py), each test's own seconds by what it
    tests (`<test>: <model>`, a segment's `seg_*`; summed), and dbt's peak RSS in GB."""
    seconds, rss = _timed_dbt("test", project_dir, slot, as_of, threads, "test")
    target = project_dir / slot_target(slot)
    results = json.loads((target / "run_results.json").read_text())["results"]
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    tests: dict[str, float] = {}
    for result in results:
        node = nodes[result["unique_id"]]
        # model.segflow.<model>, or a source's test: source.segflow.raw.<table>
        tested = node.get("attached_node") or node["depends_on"]["nodes"][0]
        model = ".".join(tested.split(".")[2:])
        kind = node["test_metadata"]["name"] if node.get("test_metadata") else node["name"]
        key = f"{kind}: {'seg_*' if model.startswith('seg_') else model}"
        tests[key] = tests.get(key, 0.0) + result["execution_time"]
    return seconds, tests, rss


def _timed_dbt(
    command: str, project_dir: Path, slot: str, as_of: date, threads: int, run_id: str
) -> tuple[float, float]:
    """Seconds and peak RSS in GB of one dbt command on the slot, as a build runs it."""
    settings = load_settings(dotenv=False)
    start = time.perf_counter()
    dbt = subprocess.Popen(
        [*_dbt(command, project_dir, slot), "--threads", str(threads), "--quiet"],
        env=_dbt_env(settings, slot, as_of, run_id),
        cwd=project_dir,
    )
    with PeakRss(dbt.pid) as peak:
        dbt.wait()
    seconds = time.perf_counter() - start
    if dbt.returncode != 0:
        raise SystemExit(f"dbt {command} of {slot} failed (exit {dbt.returncode})")
    return seconds, peak.gb


def dbt_parse(project_dir: Path, slot: str) -> None:
    """Leave in the slot's dbt target folder what its build two nights before would have
    left: the project parsed for the slot. A measured night then parses as every night but
    the first two does (only what changed), not as the slot's first build ever does."""
    subprocess.run(
        [*_dbt("parse", project_dir, slot), "--quiet"],
        env=_dbt_env(load_settings(dotenv=False), slot, None, "parse"),
        cwd=project_dir,
        check=True,
    )


def _dbt(command: str, project_dir: Path, slot: str) -> list[str]:
    """A dbt command as a build runs it: in the slot's own target folder (segflow/dbt.py)."""
    project = str(project_dir)
    folders = ["--project-dir", project, "--profiles-dir", project]
    return [dbt_executable(), command, *folders, "--target-path", str(slot_target(slot))]


def _dbt_env(settings: Settings, slot: str, as_of: date | None, run_id: str) -> dict[str, str]:
    day = {"SEGFLOW_AS_OF": as_of.isoformat()} if as_of else {}
    return {
        **os.environ,
        **settings.dbt_env(),
        **day,
        "SEGFLOW_BUILD_SCHEMA": slot,
        "SEGFLOW_BUILD_RUN": run_id,
    }


def analysts(count: int, slot: str, as_of: date, keep: Path | None = None) -> float:
    """Seconds for one hand-written query per segment over the build in `slot`; each one's
    member count must be segflow's."""
    relations = {
        "population": f"{slot}.dim_population",
        "lines": f"{slot}.int_sales_lines",
        "events": f"{slot}.int_events",
        "attributes": f"{slot}.stg_customer_attributes",
    }
    seconds = 0.0
    wrong = []
    with duckdb.connect(os.environ["SEGFLOW_DUCKDB_PATH"]) as con:
        for name, sql in analyst_queries(count, as_of, relations).items():
            start = time.perf_counter()
            row = con.execute(sql).fetchone()
            seconds += time.perf_counter() - start
            built = con.execute(f"select count(*) from {slot}.seg_{name}").fetchone()
            if row != built:
                wrong.append(f"{name}: by hand {row}, segflow {built}")
    if wrong:
        raise SystemExit(
            "member counts differ: " + "; ".join(wrong) + (f" (kept: {keep})" if keep else "")
        )
    return seconds


def floor(slot: str) -> float:
    """One aggregate scan of the build's lines, copied first into a plain table (untimed)."""
    with duckdb.connect(os.environ["SEGFLOW_DUCKDB_PATH"]) as con:
        for statement in plain_lines_statements(f"{slot}.int_sales_lines"):
            con.execute(statement)
        start = time.perf_counter()
        con.execute(f"create or replace temp table floor as {floor_sql(PLAIN_LINES, D)}")
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--segments", type=int, default=100)
    parser.add_argument("--full", action="store_true", help="1M customers, 20M lines")
    parser.add_argument("--keep", action="store_true", help="keep the warehouse and project")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="dbt threads (1: each model's time is its own; builds run 2)",
    )
    args = parser.parse_args()
    if args.full:
        args.customers, args.lines = 1_000_000, 20_000_000
    root = Path(tempfile.mkdtemp(prefix="segflow-nightly-"))
    try:
        project_dir = workspace(root)
        generate_segments(root / "segments", args.segments)
        project = load_project(root / "segments")
        compile_project(project, root / "segments", project_dir)
        with open_warehouse(load_settings(dotenv=False)) as wh:
            wh.ensure_tables(tables.INGESTION)
            ensure_bi_sources(wh)  # the BI views read the history tables
        started = time.perf_counter()
        with duckdb.connect(os.environ["SEGFLOW_DUCKDB_PATH"]) as con:
            generate_raw(con, args.customers, args.lines)
        print(
            f"{args.customers:,} customers, ~{args.lines:,} sales lines over {DAYS} days, "
            f"{args.segments} segments: generated in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        first, first_models, _ = dbt_run(project_dir, "segflow_a", D, args.threads)
        scan = floor("segflow_a")
        with duckdb.connect(os.environ["SEGFLOW_DUCKDB_PATH"]) as con:
            add_days(con, args.customers, args.lines, first=D + timedelta(days=1), days=1)
        dbt_parse(project_dir, "segflow_b")
        nightly, nightly_models, _ = dbt_run(
            project_dir, "segflow_b", D + timedelta(days=1), args.threads
        )
        scan_after = floor("segflow_b")
        floor_s = min(scan, scan_after)
        by_hand = analysts(
            args.segments, "segflow_b", D + timedelta(days=1), root if args.keep else None
        )
        report(floor_s, first, first_models, nightly, nightly_models)
        segments_s = sum(nightly_models.get(m, 0.0) for m in SEGMENT_MODELS)
        print(
            f"\none query per segment, by hand ({args.segments} queries, the same members): "
            f"{by_hand:.2f} s = {by_hand / floor_s:.1f}x the floor; the nightly segments' "
            f"models are {by_hand / segments_s:.1f}x faster, the whole nightly `dbt run` "
            f"{by_hand / nightly:.2f}x"
        )
    finally:
        if args.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


SEGMENT_MODELS = {
    "int_daily_sales",
    "int_daily_events",
    "int_segment_sales_features",
    "int_segment_event_features",
    "int_segment_flags",
    "dim_population",
    "int_segment_attribute_values",
}


def report(
    floor_s: float,
    first: float,
    first_models: dict[str, float],
    nightly: float,
    nightly_models: dict[str, float],
) -> None:
    segments = SEGMENT_MODELS

    def part(models: dict[str, float], names: set[str] | None) -> float:
        return sum(s for m, s in models.items() if (names is None or m in names))

    def row(label: str, first_s: float, nightly_s: float) -> None:
        print(
            f"| {label} | {first_s:.2f} | {first_s / floor_s:.2f} | {nightly_s:.2f} | "
            f"{nightly_s / floor_s:.2f} |"
        )

    print(f"\nfloor (one aggregate scan of the sales lines): {floor_s:.2f} s\n")
    print("| | first build s | x floor | nightly s | x floor |")
    print("|---|---:|---:|---:|---:|")
    row("`dbt run`, wall time", first, nightly)
    row("every model (dbt's own times)", part(first_models, None), part(nightly_models, None))
    row(
        "the segments' models (aggregates, features, flags, population)",
        part(first_models, segments),
        part(nightly_models, segments),
    )
    for name in sorted(segments) + ["int_sales_lines", "segment_stats", "int_events"]:
        row(f"  {name}", first_models.get(name, 0.0), nightly_models.get(name, 0.0))
    rest = sorted(
        ((s, m) for m, s in nightly_models.items() if m not in segments),
        reverse=True,
    )[:5]
    print(
        "\nslowest other models of the nightly build: "
        + ", ".join(f"{m} {s:.2f} s" for s, m in rest)
    )


if __name__ == "__main__":
    main()
