"""Benchmark: a 365-day backfill of 10 hot segments against one day, on the demo data.

    .venv/bin/python benchmarks/backfill.py [--days 365] [--customers 10000]

Makes the demo retailer in a temporary project (DuckDB), marks 10 starter segments hot,
builds once, then measures side by side in one run:

- `segflow backfill` of one day and of the whole range, as a user runs it (a new process:
  start-up, Dagster run, evaluation, writes);
- the evaluation and writes alone (`record_history` in this process), for one day and the
  range;
- for scale, one `segflow build` (ingest nothing new, dbt as of one day): what a backfill
  that ran dbt once per day would pay per day.

Target (issue 4): the range costs <= 20x one day.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOT = [  # the 5 starter hot segments and 5 more
    "app_active_30d",
    "lapsed",
    "loyalty_status",
    "new_customers",
    "vip",
    "repeat_buyers",
    "one_time_buyers",
    "points_over_1000",
    "nordlicht_buyers_14d",
    "reward_redeemed_30d",
]


def _segflow(args: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "segflow"), *args],
        env=env,
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="segflow-backfill-"))
    try:
        shutil.copytree(ROOT / "segments", work / "segments")
        # Its own dbt project: `segflow build` compiles the 10-hot project into it.
        shutil.copytree(
            ROOT / "dbt_project",
            work / "dbt_project",
            ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"),
        )
        for name in HOT:
            path = work / "segments" / f"{name}.yml"
            text = path.read_text()
            if not re.search(r"^hot: true$", text, re.M):
                path.write_text(text.rstrip("\n") + "\nhot: true\n")
        env = {
            **os.environ,
            "SEGFLOW_SEGMENTS": str(work / "segments"),
            "SEGFLOW_LANDING": str(work / "landing"),
            "SEGFLOW_TARGET": "duckdb",
            "SEGFLOW_DBT_PROJECT": str(work / "dbt_project"),
            "SEGFLOW_DUCKDB_PATH": str(work / "warehouse.duckdb"),
            "DAGSTER_HOME": str(work / "dagster_home"),
            "SEGFLOW_HOT_BACKFILL_DAYS": "0",  # measure backfills explicitly
        }
        (work / "dagster_home").mkdir()
        os.environ.update(env)
        from segflow.demo.generate import generate_demo

        generated = generate_demo(work / "landing", customers=args.customers, days=730)
        day = generated.until
        print(f"demo: {args.customers:,} customers, 730 days up to {day}; 10 hot segments")
        _segflow(["build", "--as-of", day.isoformat()], env, work)  # ingest + compile once
        build = _segflow(["build", "--as-of", day.isoformat()], env, work)

        last = day - timedelta(days=1)
        first = last - timedelta(days=args.days - 1)
        select = [a for name in HOT for a in ("--select", name)]
        one_cli = _segflow(["backfill", "--from", str(last), "--to", str(last), *select], env, work)
        range_cli = _segflow(
            ["backfill", "--from", str(first), "--to", str(last), *select], env, work
        )

        from segflow.history.record import record_history
        from segflow.segments.project import load_project
        from segflow.settings import load_settings
        from segflow.warehouse import open_warehouse

        settings = load_settings(dotenv=False)
        project = load_project(settings.segments_dir)
        with open_warehouse(settings) as wh:
            one = record_history(wh, project, last, last, HOT)
            whole = record_history(wh, project, first, last, HOT)
        one_sql, range_sql = sum(one.seconds.values()), sum(whole.seconds.values())

        print()
        print(f"{'':<44}{'1 day':>9}{f'{args.days} days':>11}{'ratio':>8}{'per day':>10}")
        print(
            f"{'segflow backfill (new process, end to end)':<44}{one_cli:>8.2f}s{range_cli:>10.2f}s"
            f"{range_cli / one_cli:>7.1f}x{range_cli / args.days * 1000:>8.0f}ms"
        )
        print(
            f"{'evaluation and writes alone':<44}{one_sql:>8.2f}s{range_sql:>10.2f}s"
            f"{range_sql / one_sql:>7.1f}x{range_sql / args.days * 1000:>8.0f}ms"
        )
        print(
            f"{'a dbt build per day instead (measured once)':<44}{build:>8.2f}s"
            f"{build * args.days:>10.0f}s{args.days:>7.0f}x"
        )
        print()
        verdict = "met" if range_cli <= 20 * one_cli else "NOT MET"
        print(f"target: {args.days} days <= 20x one day (end to end): {verdict}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
