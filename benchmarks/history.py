"""Benchmark: a range of history evaluated from per-day aggregates against a scan per day.

    .venv/bin/python benchmarks/history.py              # 100,000 customers, ~2M sales lines
    .venv/bin/python benchmarks/history.py --full       # 1M customers, ~20M sales lines
    .venv/bin/python benchmarks/history.py --full --days 31 --year

Generates scaled data straight into the intermediate tables of a DuckDB warehouse (as
benchmarks/segments.py does), marks the 10 hot segments of benchmarks/backfill.py hot, then
measures, each run in its own process (so each peak RSS is its own), interleaved:

- the kept aggregates: `evaluate_days` as `record_history` runs it after a build, reading the
  per-day aggregates the build keeps (built here once, as a first build would, for every
  segment's filters);
- per-day aggregates of the range: `evaluate_days` when the segments changed since the
  build (the lines and events reduced once per customer and day for the range, each day's
  features summed from them);
- a scan per day: the same days evaluated as before per-day aggregates, every day's
  features a new scan of all lines and events up to that day (`aggregates=False`);
- with `--year`: `record_history` of 365 days, chunked as the nightly backfill runs it
  (`backfill.CHUNK_DAYS`), writes included.

Both evaluations must give the same members on every day (checked). Target (issue 15): a
365-day backfill of 10 hot segments <= 20x one nightly build.
"""

from __future__ import annotations

import argparse
import json
import resource
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

from benchmarks.backfill import HOT  # noqa: E402
from benchmarks.preview import connect_duckdb, keep_aggregates, open_duckdb  # noqa: E402
from benchmarks.segments import D, generate_data  # noqa: E402
from segflow.history.backfill import CHUNK_DAYS  # noqa: E402
from segflow.history.record import (  # noqa: E402
    RANGE_MEMBERS,
    days_between,
    evaluate_days,
    record_history,
)
from segflow.segments.project import load_project  # noqa: E402
from segflow.warehouse import tables  # noqa: E402

AS_OF: date = D


def child(mode: str, workdir: Path, days: int) -> None:
    """One measurement in this process; prints a JSON line."""
    project = load_project(workdir / "segments")
    last = AS_OF
    first = last - timedelta(days=days - 1)
    wh = open_duckdb(workdir / "warehouse.duckdb")
    try:
        started = time.perf_counter()
        if mode == "year":
            for end in range(0, days, CHUNK_DAYS):  # newest chunk first, as the backfill
                chunk_last = last - timedelta(days=end)
                chunk_first = max(first, chunk_last - timedelta(days=CHUNK_DAYS - 1))
                record_history(wh, project, chunk_first, chunk_last, HOT)
            members = wh.scalar(
                f"select count(*) from {wh.output_schema}.{tables.MEMBERSHIP_HISTORY.name}"
            )
        else:
            days_in = days_between(first, last)
            evaluate_days(
                wh,
                project,
                HOT,
                days_in,
                aggregates=mode != "lines",
                kept_aggregates=mode == "kept",
            )
            # a row per segment, tier and member, its days a mask (segflow/history/record.py)
            members = wh.scalar(f"select sum(bit_count(days)) from {RANGE_MEMBERS}")
            digest = wh.scalar(
                f"select sum(hash(days, segment, coalesce(tier, ''), customer_id)) "
                f"from {RANGE_MEMBERS}"
            )
            members = f"{members}:{digest}"
        seconds = time.perf_counter() - started
    finally:
        wh.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(json.dumps({"mode": mode, "seconds": seconds, "rss_gb": rss, "members": members}))


def measure(mode: str, workdir: Path, days: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--workdir", str(workdir), "--days", str(days)],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=2_000_000, help="sales lines")
    parser.add_argument("--full", action="store_true", help="1M customers, 20M sales lines")
    parser.add_argument("--days", type=int, default=31, help="the range both evaluate")
    parser.add_argument("--year", action="store_true", help="also record 365 days, chunked")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.workdir, args.days)
        return
    if args.full:
        args.customers, args.lines = 1_000_000, 20_000_000

    workdir = Path(tempfile.mkdtemp(prefix="segflow-bench-history-"))
    try:
        con = connect_duckdb(workdir / "warehouse.duckdb")
        started = time.perf_counter()
        generate_data(con, args.customers, args.lines)
        shutil.copytree(ROOT / "segments", workdir / "segments")
        for name in HOT:
            path = workdir / "segments" / f"{name}.yml"
            text = path.read_text()
            if "\nhot: true" not in text:
                path.write_text(text.rstrip("\n") + "\nhot: true\n")
        wh = open_duckdb(workdir / "warehouse.duckdb")
        kept_started = time.perf_counter()
        keep_aggregates(con, load_project(workdir / "segments"), wh)
        kept_seconds = time.perf_counter() - kept_started
        wh.close()
        con.close()
        print(
            f"data: {args.customers:,} customers, {args.lines:,} sales lines, "
            f"{args.lines // 4:,} events, up to {D}; generated in "
            f"{time.perf_counter() - started:.1f} s; DuckDB {duckdb.__version__}; 10 hot segments"
        )
        print(f"the kept per-day aggregates (a first build's work): {kept_seconds:.1f} s")
        runs: dict[str, list[dict]] = {"kept": [], "daily": [], "lines": []}
        for _ in range(2):  # interleaved: machine noise hits both alike
            for mode in runs:
                runs[mode].append(measure(mode, workdir, args.days))
        same = {r["members"] for rs in runs.values() for r in rs}
        print(f"\n{args.days} days, best of 2 interleaved runs, each its own process\n")
        print("| evaluation of the range | seconds | per day | peak RSS |")
        print("| --- | ---: | ---: | ---: |")
        labels = {
            "kept": "the kept per-day aggregates (now)",
            "daily": "per-day aggregates of the range (segments changed since the build)",
            "lines": "a scan per day",
        }
        best = {}
        for mode, results in runs.items():
            fastest = min(results, key=lambda r: r["seconds"])
            best[mode] = fastest["seconds"]
            print(
                f"| {labels[mode]} | {fastest['seconds']:.2f} s "
                f"| {fastest['seconds'] / args.days * 1000:.0f} ms "
                f"| {max(r['rss_gb'] for r in results):.2f} GB |"
            )
        print(
            f"\nspeed-up: {best['lines'] / best['kept']:.1f}x over a scan per day, "
            f"{best['daily'] / best['kept']:.1f}x over the range's own aggregates; "
            f"same members on every day: "
            f"{'yes' if len(same) == 1 else 'NO ' + str(same)}"
        )
        if args.year:
            year = measure("year", workdir, 365)
            print(
                f"\nrecord_history, 365 days in chunks of {CHUNK_DAYS} (writes included): "
                f"{year['seconds']:.1f} s, {year['seconds'] / 365 * 1000:.0f} ms per day, "
                f"peak RSS {year['rss_gb']:.2f} GB; {year['members']:,} membership intervals"
            )
        if len(same) != 1:
            raise SystemExit(1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
