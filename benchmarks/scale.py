"""Benchmark: scale's whole table in one run, on DuckDB and on PostgreSQL side by side.

    .venv/bin/python benchmarks/scale.py            # DuckDB and PostgreSQL, 100,000 customers
    .venv/bin/python benchmarks/scale.py --full     # DuckDB at 1M customers, PostgreSQL at 100,000
    .venv/bin/python benchmarks/scale.py --engines duckdb --customers 20000

For each engine: two years of raw deliveries (benchmarks/nightly.py's generator: a file a day
per feed, as ingestion leaves them; 20 sales lines and 5 events per customer), 100 generated
segments (benchmarks/segments.py's mix) of which the first 10 are hot, then in this order,
each step but the builds in a process of its own so that each peak RSS is its own:

1. the first build: `dbt run` of every model as of D into a slot, published;
2. the floor: one aggregate scan of the sales lines (orders, revenue per customer), after each
   build (the faster counts), over a plain copy of the build's lines made beforehand (a slot's
   `int_sales_lines` is a view of the versions segflow keeps); the analyst reads it too;
3. a nightly build after one more day of deliveries: `dbt run` as of D + 1 into the other
   slot, published; that slot's dbt target folder first gets the parse its build two nights
   before would have left (untimed), so dbt parses as on every night but the first two;
   then that night's data tests, `dbt test` of the slot (a build runs `dbt build`: both);
4. one query per segment as a competent analyst writes it by hand (benchmarks/analyst.py: a
   plain filtered aggregate per segment), each one's member count checked against segflow's;
5. `preview` of five of the project's segments (their filters are in the kept per-day
   aggregates) and of a new segment with a filter no segment used (read from the lines),
   each one's members checked against the build or a hand-written query;
6. the nightly backfill of the 10 hot segments as a night runs it after the publication
   (`backfill_hot_segments`: the SEGFLOW_HOT_BACKFILL_DAYS days before D + 1, default 365, a
   month per transaction);
7. DuckDB only: ingestion of one transactions delivery with as many lines as the history,
   against DuckDB's own typed `read_csv` of the same file (benchmarks/ingestion.py).

dbt runs with two threads, as a build does. The targets (issue 15) are printed beside the
measurements. PostgreSQL needs a server (PGHOST/PGPORT/PGUSER); a database
`segflow_bench_scale` is made and dropped. Its peak RSS is dbt's and the client's: the
server's own memory is not counted.
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
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import ingestion  # noqa: E402
from benchmarks.analyst import analyst_queries  # noqa: E402
from benchmarks.engines import postgres_database  # noqa: E402
from benchmarks.memory import PeakRss  # noqa: E402
from benchmarks.nightly import (  # noqa: E402
    SEGMENT_MODELS,
    D,
    add_days,
    dbt_parse,
    dbt_run,
    dbt_test,
    generate_raw,
    workspace,
)
from benchmarks.segments import (  # noqa: E402
    PLAIN_LINES,
    floor_sql,
    generate_segments,
    plain_lines_statements,
)
from segflow.bi.sources import ensure_bi_sources  # noqa: E402
from segflow.dbt import slot_target  # noqa: E402
from segflow.evaluation.queries import preview  # noqa: E402
from segflow.evaluation.relations import kept_daily  # noqa: E402
from segflow.history.backfill import backfill_hot_segments  # noqa: E402
from segflow.history.record import hot_segments  # noqa: E402
from segflow.publication.publish import Build, model_relations, publish, record_build  # noqa: E402
from segflow.segments.compile import compile_project  # noqa: E402
from segflow.segments.project import load_project  # noqa: E402
from segflow.settings import load_settings  # noqa: E402
from segflow.warehouse import Warehouse, open_warehouse, tables  # noqa: E402

NIGHT = D + timedelta(days=1)
SEGMENTS = 100
HOT = 10
PREVIEWED = ["s000", "s002", "s005", "s006", "s008"]  # sales, lifetime, events, points, tiered
NEW_SEGMENT = (
    "new_home_60d",
    "rules:\n  metric: revenue\n  where: {department: Home}\n  window: {last: 60d}\n  gte: 100\n",
    "department = 'Home' and occurred_on > {day} - 60",
    "sum(amount) >= 100",
)
PG_DATABASE = "segflow_bench_scale"
RAW = ("customers", "products", "customer_attributes", "transactions", "events", "file_log")


@dataclass
class Step:
    seconds: float
    rss_gb: float
    detail: dict = field(default_factory=dict)


# -- steps run in a process of their own ----------------------------------------------------


def _plain(wh: Warehouse, slot: str, workdir: Path) -> dict:
    """The build's sales lines as a plain table, which the floor and the analyst read: a
    slot's int_sales_lines is a view of the versions segflow keeps, and the honest floor is
    a scan of a table that holds the lines and nothing else."""
    started = time.perf_counter()
    for statement in plain_lines_statements(f"{slot}.int_sales_lines"):
        wh.execute(statement)
    return {"seconds": time.perf_counter() - started}


def _floor(wh: Warehouse, slot: str, workdir: Path) -> dict:
    """One aggregate scan of the plain lines; the same through the slot's view beside it."""
    started = time.perf_counter()
    wh.execute(f"create temporary table floor as {floor_sql(PLAIN_LINES, D)}")
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    wh.execute(f"create temporary table floor_view as {floor_sql(f'{slot}.int_sales_lines', D)}")
    return {"seconds": seconds, "through the view": time.perf_counter() - started}


def _analyst(wh: Warehouse, slot: str, workdir: Path) -> dict:
    relations = {
        "population": f"{slot}.dim_population",
        "lines": PLAIN_LINES,
        "events": f"{slot}.int_events",
        "attributes": f"{slot}.stg_customer_attributes",
    }
    seconds, wrong = 0.0, []
    for name, sql in analyst_queries(SEGMENTS, NIGHT, relations).items():
        started = time.perf_counter()
        by_hand = wh.scalar(sql)
        seconds += time.perf_counter() - started
        built = wh.scalar(f"select count(*) from {slot}.seg_{name}")
        if by_hand != built:
            wrong.append(f"{name}: by hand {by_hand}, segflow {built}")
    if wrong:
        raise SystemExit("member counts differ: " + "; ".join(wrong))
    return {"seconds": seconds, "queries": SEGMENTS}


def _preview(wh: Warehouse, slot: str, workdir: Path) -> dict:
    project = load_project(wh.settings.segments_dir)
    if kept_daily(wh, project) is None:
        raise SystemExit("the published build's per-day aggregates are not what preview reads")
    kept: dict[str, float] = {}
    for name in PREVIEWED:
        started = time.perf_counter()
        members = preview(wh, project, name, NIGHT).members
        kept[name] = time.perf_counter() - started
        built = wh.scalar(f"select count(distinct customer_id) from {slot}.seg_{name}")
        if members != built:
            raise SystemExit(f"preview {name}: {members} members, the build {built}")
    folder = workdir / "segments_with_new"
    shutil.copytree(wh.settings.segments_dir, folder)
    name, yaml, where, having = NEW_SEGMENT
    (folder / f"{name}.yml").write_text(yaml)
    changed = load_project(folder)
    changed.raise_for_problems()
    assert kept_daily(wh, changed) is None, "a new filter must be read from the lines"
    started = time.perf_counter()
    members = preview(wh, changed, name, NIGHT).members
    new_seconds = time.perf_counter() - started
    day = f"cast('{NIGHT}' as date)"
    by_hand = wh.scalar(
        f"select count(*) from {slot}.dim_population where customer_id in ("
        f"select customer_id from {slot}.int_sales_lines where occurred_on <= {day} and "
        f"{where.format(day=day)} group by customer_id having {having})"
    )
    if members != by_hand:
        raise SystemExit(f"preview {name}: {members} members, by hand {by_hand}")
    return {"seconds": max(kept.values()), "kept": kept, "new": new_seconds}


def _backfill(wh: Warehouse, slot: str, workdir: Path) -> dict:
    settings = wh.settings
    project = load_project(settings.segments_dir)
    from_kept = kept_daily(wh, project) is not None
    started = time.perf_counter()
    ranges = backfill_hot_segments(wh, project, NIGHT, settings)
    seconds = time.perf_counter() - started
    days = {r.first + timedelta(days=i) for r in ranges for i in range((r.last - r.first).days + 1)}
    intervals = wh.scalar(
        f"select count(*) from {wh.output_schema}.{tables.MEMBERSHIP_HISTORY.name}"
    )
    return {
        "seconds": seconds,
        "days": len(days),
        "segments": len(hot_segments(project)),
        "intervals": intervals,
        "from_kept": from_kept,
    }


STEPS = {
    "plain": _plain,
    "floor": _floor,
    "analyst": _analyst,
    "preview": _preview,
    "backfill": _backfill,
}


def run_step(name: str, slot: str, workdir: Path) -> Step:
    """One step in a fresh process (settings from this process's environment)."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--step", name, slot, str(workdir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    with PeakRss(child.pid) as peak:
        output = child.stdout.read()
        returncode = child.wait()
    if returncode != 0:
        raise SystemExit(f"step {name} failed: {output.strip()}")
    result = json.loads(output.strip().splitlines()[-1])
    return Step(result.pop("seconds"), peak.gb, result)


def step_main(name: str, slot: str, workdir: Path) -> None:
    with open_warehouse(load_settings(dotenv=False)) as wh:
        result = STEPS[name](wh, slot, workdir)
    print(json.dumps(result, default=str))


# -- the run of one engine ------------------------------------------------------------------


def publish_build(project_dir: Path, slot: str, run_id: str, as_of: date) -> None:
    """Publish the slot's build as a night does once its checks passed."""
    with open_warehouse(load_settings(dotenv=False)) as wh:
        record_build(wh, slot, run_id, as_of)
        manifest = project_dir / slot_target(slot) / "manifest.json"  # the build's own
        relations = model_relations(manifest, wh.output_schema)
        with wh.transaction():
            publish(wh, Build(slot, run_id, as_of), relations)


def copy_raw(scratch: Path, since: dict[str, int]) -> dict[str, int]:
    """Copy the raw rows of the scratch DuckDB file that are not in PostgreSQL yet (rows past
    `since`, per table) with COPY; returns the row counts now."""
    import psycopg

    counts = {}
    conninfo = load_settings(dotenv=False).postgres.conninfo()
    with duckdb.connect(str(scratch)) as con, psycopg.connect(**conninfo) as pg:  # type: ignore[arg-type]
        for name in RAW:
            row = con.execute(f"select count(*) from raw.{name}").fetchone()
            assert row is not None
            counts[name] = row[0]
            if counts[name] == since.get(name, 0):
                continue
            columns = [c[0] for c in con.execute(f"describe raw.{name}").fetchall()]
            csv = scratch.with_suffix(f".{name}.csv")
            con.execute(
                f"copy (select * from raw.{name} where rowid >= {since.get(name, 0)}) "
                f"to '{csv}' (header)"
            )
            names = ", ".join(f'"{c}"' for c in columns)
            with (
                pg.cursor() as cur,
                cur.copy(f"copy raw.{name} ({names}) from stdin (format csv, header true)") as copy,
                csv.open("rb") as f,
            ):
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
            csv.unlink()
    return counts


def run_engine(
    engine: str, customers: int, workdir: Path, threads: int, skip: set[str]
) -> dict[str, Step]:
    lines = customers * 20
    project_dir = workspace(workdir, engine)
    if engine == "postgres":
        os.environ["PGDATABASE"] = PG_DATABASE
        postgres_database(create=True, database=PG_DATABASE)
    generate_segments(workdir / "segments", SEGMENTS)
    for path in sorted((workdir / "segments").glob("s*.yml"))[:HOT]:
        path.write_text(path.read_text() + "hot: true\n")
    compile_project(load_project(workdir / "segments"), workdir / "segments", project_dir)
    with open_warehouse(load_settings(dotenv=False)) as wh:
        wh.ensure_tables(tables.INGESTION)
        ensure_bi_sources(wh)
    started = time.perf_counter()
    scratch = (
        workdir / "warehouse.duckdb" if engine == "duckdb" else workdir / "generated.duckdb"
    )  # not raw.duckdb: its catalog would be `raw`
    if engine != "duckdb":  # the raw tables' shapes, in a DuckDB file to generate into
        settings = load_settings(dotenv=False).model_copy(
            update={"target": "duckdb", "duckdb_path": scratch}
        )
        with open_warehouse(settings) as wh:
            wh.ensure_tables(tables.INGESTION)
    with duckdb.connect(str(scratch)) as con:
        generate_raw(con, customers, lines)
    copied = copy_raw(scratch, {}) if engine != "duckdb" else {}
    print(
        f"{engine}: {customers:,} customers, ~{lines:,} sales lines, {SEGMENTS} segments "
        f"({HOT} hot): generated in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    steps: dict[str, Step] = {}
    seconds, models, rss = dbt_run(project_dir, "segflow_a", D, threads, run_id="first")
    steps["first"] = Step(seconds, rss, {"segments": _segments_part(models), "models": models})
    publish_build(project_dir, "segflow_a", "first", D)
    run_step("plain", "segflow_a", workdir)
    floors = [run_step("floor", "segflow_a", workdir)]
    print(f"{engine}: first build {seconds:.1f} s", flush=True)

    with duckdb.connect(str(scratch)) as con:
        add_days(con, customers, lines, first=NIGHT, days=1)
    if engine != "duckdb":
        copy_raw(scratch, copied)
    dbt_parse(project_dir, "segflow_b")  # untimed: what the slot's last build left
    seconds, models, rss = dbt_run(project_dir, "segflow_b", NIGHT, threads, run_id="nightly")
    steps["nightly"] = Step(seconds, rss, {"segments": _segments_part(models), "models": models})
    seconds, tests, rss = dbt_test(project_dir, "segflow_b", NIGHT, threads)
    steps["tests"] = Step(seconds, rss, {"tests": tests})
    publish_build(project_dir, "segflow_b", "nightly", NIGHT)
    run_step("plain", "segflow_b", workdir)
    floors.append(run_step("floor", "segflow_b", workdir))
    steps["floor"] = min(floors, key=lambda s: s.seconds)
    print(
        f"{engine}: nightly build {steps['nightly'].seconds:.1f} s, "
        f"its tests {steps['tests'].seconds:.1f} s",
        flush=True,
    )

    for name in ("analyst", "preview", "backfill"):
        if name in skip:
            continue
        steps[name] = run_step(name, "segflow_b", workdir)
        print(f"{engine}: {name} {steps[name].seconds:.1f} s", flush=True)

    if engine == "duckdb" and "ingestion" not in skip:
        delivery = workdir / "landing" / "transactions" / f"{NIGHT}.csv"
        ingestion.write_delivery(delivery, lines, broken=False)
        for kind in ("duckdb", "segflow"):
            seconds, rss, loaded = ingestion.measure(kind, delivery)
            steps[f"ingest {kind}"] = Step(seconds, rss, {"loaded": loaded})
        delivery.unlink()
        print(f"{engine}: ingestion {steps['ingest segflow'].seconds:.1f} s", flush=True)
    return steps


def _segments_part(models: dict[str, float]) -> float:
    return sum(s for m, s in models.items() if m in SEGMENT_MODELS)


# -- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    seconds: str  # which step's seconds (a key of the steps, or "step.detail")
    ratio: str  # how the ratio is read: "floor", "nightly", "ingest duckdb", "by hand" or ""
    target: str


ROWS = [
    Row("floor: one aggregate scan of the sales lines", "floor", "", ""),
    Row("first build (`dbt run`, every model)", "first", "floor", ""),
    Row("nightly build, one more day (`dbt run`, every model)", "nightly", "floor", "≤ 1.5× floor"),
    Row("  its segments' models (dbt's times, summed)", "nightly.segments", "floor", ""),
    Row("  its data tests (`dbt test`: a build's `dbt build` runs both)", "tests", "floor", ""),
    Row("one hand-written query per segment (100)", "analyst", "by hand", "nightly ≥ 10× faster"),
    Row("backfill of 10 hot segments (days: below)", "backfill", "nightly", "365 d ≤ 20× nightly"),
    Row("`preview`, slowest of 5 kept segments", "preview", "", "≤ 1 s"),
    Row("`preview`, a segment with a new filter", "preview.new", "", ""),
    Row("ingestion, one delivery of every line: DuckDB's read", "ingest duckdb", "", ""),
    Row("ingestion, the same file: segflow", "ingest segflow", "ingest duckdb", "≤ 2× DuckDB"),
]


def _seconds(steps: dict[str, Step], key: str) -> float | None:
    name, _, detail = key.partition(".")
    if name not in steps:
        return None
    return float(steps[name].detail[detail]) if detail else steps[name].seconds


def _ratio(steps: dict[str, Step], row: Row) -> float | None:
    seconds = _seconds(steps, row.seconds)
    if seconds is None or not row.ratio:
        return None
    if row.ratio == "by hand":  # how many times faster the nightly build is
        nightly = _seconds(steps, "nightly")
        return seconds / nightly if nightly else None
    base = _seconds(steps, row.ratio)
    return seconds / base if base else None


def report(results: dict[str, tuple[int, dict[str, Step]]]) -> None:
    engines = list(results)
    header = ["", "target"]
    for engine in engines:
        customers = results[engine][0]
        header += [f"{engine}, {customers:,} customers", "ratio", "peak RSS"]
    if len(engines) == 2:
        header.append(f"{engines[1]} ratio ÷ {engines[0]} ratio")
    print("\n| " + " | ".join(header) + " |")
    print("|---|---|" + "---:|" * (len(header) - 2))
    for row in ROWS:
        cells = [row.label, row.target]
        ratios = []
        for engine in engines:
            steps = results[engine][1]
            seconds, ratio = _seconds(steps, row.seconds), _ratio(steps, row)
            ratios.append(ratio)
            rss = steps[row.seconds].rss_gb if row.seconds in steps else None
            cells += [
                "" if seconds is None else f"{seconds:.2f} s",
                "" if ratio is None else f"{ratio:.2f}×",
                "" if rss is None else f"{rss:.2f} GB",
            ]
        if len(engines) == 2:
            both = ratios[0] is not None and ratios[1] is not None
            cells.append(f"{ratios[1] / ratios[0]:.2f}" if both else "")  # type: ignore[operator]
        print("| " + " | ".join(cells) + " |")
    print(
        "\nratio: × the floor; for the hand-written queries, how many times faster the nightly "
        "build is than they are; for the backfill, × the nightly build; for ingestion, × "
        "DuckDB's own read of the file."
    )
    for engine in engines:
        steps = results[engine][1]
        print(
            f"{engine}: the floor reads a plain copy of the build's lines; through the slot's "
            f"view of the kept versions it takes {steps['floor'].detail['through the view']:.2f} s"
        )
        if "backfill" in steps:
            backfill = steps["backfill"].detail
            print(
                f"{engine}: the backfill recorded {backfill['days']} days of "
                f"{backfill['segments']} hot segments ({backfill['intervals']:,} membership "
                f"intervals; from the kept per-day aggregates: "
                f"{'yes' if backfill['from_kept'] else 'no'})"
            )
        if "preview" in steps:
            print(
                f"{engine}: previews: "
                + ", ".join(f"{n} {s:.2f} s" for n, s in steps["preview"].detail["kept"].items())
            )
        models = steps["nightly"].detail["models"]
        slowest = sorted(models.items(), key=lambda m: -m[1])[:6]
        print(
            f"{engine}: the nightly build's slowest models (dbt's own times): "
            + ", ".join(f"{m} {s:.2f} s" for m, s in slowest)
            + "; the lines and events it keeps: "
            + ", ".join(f"{m} {models[m]:.2f} s" for m in ("int_sales_lines", "int_events"))
        )
        tests = steps["tests"].detail["tests"]
        slowest = sorted(tests.items(), key=lambda t: -t[1])[:8]
        print(
            f"{engine}: the nightly build's data tests, the slowest kinds (dbt's own times, "
            f"summed): " + ", ".join(f"{t} {s:.2f} s" for t, s in slowest)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000, help="per engine")
    parser.add_argument("--full", action="store_true", help="DuckDB at 1M customers")
    parser.add_argument("--engines", nargs="+", default=["duckdb", "postgres"])
    parser.add_argument("--threads", type=int, default=2, help="dbt threads (a build's 2)")
    parser.add_argument(
        "--memory-limit",
        help="SEGFLOW_DUCKDB_MEMORY_LIMIT for every step (default: DuckDB's, 80%% of RAM)",
    )
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument(
        "--skip",
        nargs="+",
        default=[],
        choices=["analyst", "preview", "backfill", "ingestion"],
        help="steps not to run (the builds and the floor always run)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep each engine's workspace in KEEP/<engine> (DuckDB's warehouse, the dbt "
        "project, the segments) to measure more by hand afterwards; PostgreSQL's database "
        f"{PG_DATABASE} is kept too",
    )
    parser.add_argument("--step", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        name, slot, workdir = args.step
        step_main(name, slot, Path(workdir))
        return
    if args.memory_limit:
        os.environ["SEGFLOW_DUCKDB_MEMORY_LIMIT"] = args.memory_limit
    sizes = {e: args.customers for e in args.engines}
    if args.full and "duckdb" in sizes:
        sizes["duckdb"] = 1_000_000
    results: dict[str, tuple[int, dict[str, Step]]] = {}
    print(
        f"DuckDB {duckdb.__version__}; D = {D}, the night {NIGHT}; dbt threads {args.threads}; "
        f"DuckDB memory limit {os.environ.get('SEGFLOW_DUCKDB_MEMORY_LIMIT', '80%')}"
    )
    for engine, customers in sizes.items():
        if args.keep:
            workdir = args.keep / engine
            workdir.mkdir(parents=True)  # refuses a workspace that is already there
        else:
            workdir = Path(tempfile.mkdtemp(prefix=f"segflow-scale-{engine}-"))
        skip = set(args.skip)
        try:
            results[engine] = (
                customers,
                run_engine(engine, customers, workdir, args.threads, skip),
            )
        finally:
            if not args.keep:
                shutil.rmtree(workdir, ignore_errors=True)
                if engine == "postgres":
                    postgres_database(create=False, database=PG_DATABASE)
        if args.json:  # after each engine: a long run's first half is not lost
            args.json.write_text(
                json.dumps(
                    {
                        e: {"customers": c, **{k: vars(s) for k, s in st.items()}}
                        for e, (c, st) in results.items()
                    },
                    indent=1,
                    default=str,
                )
            )
    report(results)


if __name__ == "__main__":
    main()
