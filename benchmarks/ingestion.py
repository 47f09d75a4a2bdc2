"""Benchmark: ingesting a transactions CSV against DuckDB's own typed read of the same file.

    .venv/bin/python benchmarks/ingestion.py                 # 1M lines (about 78 MB)
    .venv/bin/python benchmarks/ingestion.py --lines 20000000 --repeat 1   # about 1.6 GB
    .venv/bin/python benchmarks/ingestion.py --against ../segflow-before  # another checkout too

Writes one delivery of `--lines` sales lines (quoted empty values, offsets on half the
timestamps, like a POS export), then measures side by side, interleaved, each in its own
process so that its peak RSS is its own:

- duckdb: `create table … as select * from read_csv(…)` with the contract's types, into a
  new DuckDB file (the floor: no checks, no quarantine, no file log);
- segflow: `ingest_feed` into a new DuckDB warehouse: every rule of docs/feeds.md (record
  numbers, bad rows set aside, the bad-share limit, the file log), the same rows loaded;
- segflow, one bad row: the same file with a malformed quote near its end, which Python's
  strict reader takes over from (the slower path, kept exact for unusual files).

Targets (issue 15): segflow within 2x of DuckDB's typed read; a 2 GB file in under 4 GB RSS.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.memory import PeakRss  # noqa: E402

TYPES = "{'quantity': 'BIGINT', 'amount': 'DECIMAL(18,4)', 'occurred_at': 'TIMESTAMPTZ'}"


def write_delivery(path: Path, lines: int, broken: bool) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.connect().execute(f"""
        copy (
            select
                'T' || lpad((i // 3)::varchar, 9, '0') as transaction_id,
                (i % 3 + 1)::varchar as line_id,
                case when i % 10 = 0 then '' else 'C' || lpad((hash(i // 3) % 1000000)::varchar, 7, '0') end
                    as customer_id,
                strftime(timestamp '2025-01-01' + to_seconds((i // 3) * 60), '%Y-%m-%dT%H:%M:%S')
                    || case when i % 2 = 0 then '+01:00' else '' end as occurred_at,
                'S' || (i % 40)::varchar as store_id,
                case i % 3 when 0 then 'store' when 1 then 'online' else 'app' end as channel,
                'P' || lpad((hash(i) % 20000)::varchar, 6, '0') as product_id,
                (1 + i % 3)::varchar as quantity,
                ((hash(i) % 20000) / 100.0)::decimal(10, 2)::varchar as amount,
                'EUR' as currency,
                case when i % 7 = 0 then 'XMAS24' else '' end as campaign_code
            from range({lines}) t(i)
        ) to '{path}' (header)
    """)
    if broken:  # a quote inside an unquoted value, 100 lines before the end
        with path.open("r+b") as f:
            f.seek(-100 * 80, os.SEEK_END)
            f.write(b'\nT9,1,C1,2025-01-01T00:00:00,S1,store,P1,1,1.00,EUR,X"Y\n')


def run_floor(path: Path, work: Path) -> str:
    import duckdb

    con = duckdb.connect(str(work / "floor.duckdb"))
    con.execute(f"create table lines as select * from read_csv('{path}', types = {TYPES})")
    return f"{con.execute('select count(*) from lines').fetchone()[0]} rows"


def run_segflow(path: Path, work: Path) -> str:
    os.environ.update(
        SEGFLOW_TARGET="duckdb",
        SEGFLOW_DUCKDB_PATH=str(work / "segflow.duckdb"),
        SEGFLOW_LANDING=str(path.parent.parent),
    )
    from segflow.ingestion import ingest_feed
    from segflow.settings import load_settings
    from segflow.warehouse import open_warehouse

    settings = load_settings(dotenv=False)
    with open_warehouse(settings) as wh:
        report = ingest_feed(wh, settings, "transactions")
    (result,) = report.files
    return f"{result.rows_loaded} rows, {result.rows_quarantined} quarantined ({result.status})"


def measure(kind: str, path: Path, script: Path | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS in GB, what it loaded) of one run in a fresh process; `script`: this
    benchmark in another checkout, whose segflow then runs."""
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, str(script or __file__), "--run", kind, str(path), work],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        with PeakRss(child.pid) as peak:
            output = child.stdout.read().strip()
            returncode = child.wait()
        seconds = time.perf_counter() - start
        if returncode != 0:
            raise SystemExit(f"{kind} failed: {output}")
    return seconds, peak.gb, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--against",
        type=Path,
        metavar="CHECKOUT",
        help="also run another checkout's segflow on the clean file, interleaved (a git "
        "worktree of an earlier commit, say)",
    )
    parser.add_argument("--run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        kind, path, work = args.run
        runner = run_floor if kind == "duckdb" else run_segflow
        print(runner(Path(path), Path(work)))
        return
    with tempfile.TemporaryDirectory() as landing:
        clean = Path(landing) / "clean" / "transactions" / "2026-11-01.csv"
        broken = Path(landing) / "broken" / "transactions" / "2026-11-01.csv"
        write_delivery(clean, args.lines, broken=False)
        write_delivery(broken, args.lines, broken=True)
        size = clean.stat().st_size / 1024**2
        # Each row: what runs, on which file, from which checkout's script (None: this one).
        rows: dict[str, tuple[str, Path, Path | None]] = {
            "duckdb": ("duckdb", clean, None),
            "segflow": ("segflow", clean, None),
            "segflow, one odd row": ("segflow", broken, None),
        }
        if args.against:
            other = args.against.resolve() / "benchmarks" / "ingestion.py"
            rows[f"segflow of {args.against}"] = ("segflow", clean, other)
        results: dict[str, list[tuple[float, float, str]]] = {k: [] for k in rows}
        for _ in range(args.repeat):
            for label, (kind, path, script) in rows.items():
                results[label].append(measure(kind, path, script))
    floor = statistics.median(r[0] for r in results["duckdb"])
    print(f"{args.lines:,} lines, {size:.0f} MB; medians of {args.repeat}, interleaved\n")
    print("| | seconds | vs DuckDB | peak RSS | loaded |")
    print("| --- | ---: | ---: | ---: | --- |")
    for kind, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        print(f"| {kind} | {seconds:.2f} | {seconds / floor:.2f}x | {rss:.2f} GB | {runs[0][2]} |")


if __name__ == "__main__":
    main()
