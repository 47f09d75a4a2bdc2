"""Benchmark: the Great Expectations suites of a night at scale, every row against the night's.

Run on a workspace `benchmarks/scale.py --keep DIR` left (DuckDB, 1M customers with `--full`):

    .venv/bin/python benchmarks/scale.py --full --engines duckdb --skip analyst preview \\
        backfill ingestion --keep /tmp/ws
    .venv/bin/python benchmarks/quality.py /tmp/ws/duckdb

Its published build is the nightly one. The record of the deliveries that build's check had
validated is written as the first build's check would have left it (the file log up to the
first build), so a check of the next build reads the night's deliveries; the membership's
night is the rows of the nightly build that differ from the first build's (still in the other
slot). Each suite runs in a child process of its own, side by side: every row (as outside a
build, and as every night before the checks followed the night), then the night's; the
validation's time (GX's import and context, about 5 s once per run's process, not counted),
the process's and its peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.memory import PeakRss  # noqa: E402

SUITES = ("transactions", "events", "customers", "customer_attributes", "segment_membership")

CHILD = """
import json, sys, time
from segflow.publication.publish import Build, published_build
from segflow.quality import DATASETS_BY_SUITE, load_context, validate, validate_changes
from segflow.quality.datasets import relations
from segflow.settings import load_settings
from segflow.warehouse import open_warehouse

suite, night = sys.argv[1], sys.argv[2] == "night"
settings = load_settings()
load_context()  # GX's import and context, paid once by a run's process, not timed
with open_warehouse(settings) as wh:
    slot = published_build(wh).slot
    first = Build(*wh.query("select slot, run_id, as_of from main.segflow_builds "
                            "where slot <> ? order by built_at desc limit 1", (slot,))[0])
    started = time.perf_counter()
    if night and DATASETS_BY_SUITE[suite].changes_only:  # against the first build's rows
        names = relations(wh, settings, slot)
        outcome = validate_changes(wh, settings, DATASETS_BY_SUITE[suite], names, first)
    else:
        outcome = validate(wh, settings, suite, slot, "benchmark-night" if night else None)
    print("RESULT " + json.dumps({"seconds": time.perf_counter() - started, "rows": outcome.rows,
                      "passed": outcome.passed, "scope": outcome.scope}))
"""


def record_first_build(env: dict[str, str]) -> str:
    """The nightly build's record, as of the deliveries the first build was built from."""
    script = """
from segflow.publication.publish import published_build
from segflow.quality import DATASETS_BY_SUITE, suite_digest
from segflow.quality.deliveries import current_deliveries
from segflow.quality.records import record
from segflow.settings import load_settings
from segflow.warehouse import open_warehouse

settings = load_settings()
with open_warehouse(settings) as wh:
    published = published_build(wh)
    first = wh.scalar("select min(built_at) from main.segflow_builds")
    currencies = [c for (c,) in wh.query(
        f"select distinct currency from {published.slot}.stg_transactions "
        "where currency is not null")]
    if not wh.query("select 1 from raw.file_log where feed = 'customers'"):
        # scale.py writes the customers as one file, unlogged, and no night of them: log
        # them as delivered before the first build, and deliver new versions of 2,000
        # customers in the night.
        for feed in ("customers", "customer_attributes"):
            wh.execute(
                "insert into raw.file_log select ?, _file, 'bench-' || _file, min(_delivery_date), "
                "'loaded', count(*), 0, null, ?::timestamptz - interval 1 minute "
                f"from raw.{feed} group by _file", (feed, first))
        night = published.as_of
        wh.execute(
            "insert into raw.customers select * replace (cast(? as timestamptz) as updated_at, "
            "? as _file, cast(? as date) as _delivery_date) "
            "from raw.customers using sample 2000 rows (reservoir, 7)",
            (f"{night} 09:00:00", f"customers/{night}.csv", night))
        wh.execute(
            "insert into raw.file_log values ('customers', ?, 'bench-night', ?, 'loaded', 2000, "
            "0, null, now())", (f"customers/{night}.csv", night))
    for suite in ("transactions", "events", "customers", "customer_attributes"):
        before = wh.query("select file, checksum from raw.file_log where feed = ? "
                          "and status = 'loaded' and ingested_at <= ?", (suite, first))
        now = current_deliveries(wh, suite)
        digest = suite_digest(DATASETS_BY_SUITE[suite], settings)
        values = currencies if suite == "transactions" else []
        record(wh, published.run_id, suite, digest, dict(before), values, None)
        print(f"{suite}: {len(now) - len(before)} of {len(now)} delivery files new since")
"""
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr.strip().splitlines()[-1])
    return done.stdout.strip()


def run_suite(suite: str, scope: str, env: dict[str, str]) -> dict:
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, suite, scope],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    with PeakRss(child.pid) as peak:
        out, _ = child.communicate()
    if child.returncode:
        raise SystemExit(f"{suite} ({scope}) failed with exit code {child.returncode}")
    found = [line.split("RESULT ", 1)[1] for line in out.splitlines() if "RESULT " in line]
    if not found:
        raise SystemExit(f"{suite} ({scope}) printed no result: {out[-500:]!r}")
    result = json.loads(found[-1])
    result.update(wall=time.perf_counter() - started, peak_gb=peak.gb)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workspace", type=Path, help="a DuckDB workspace of scale.py --keep")
    parser.add_argument("--suites", nargs="+", default=list(SUITES), choices=SUITES)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    ws = args.workspace.resolve()
    env = {
        **os.environ,
        "SEGFLOW_TARGET": "duckdb",
        "SEGFLOW_DUCKDB_PATH": str(ws / "warehouse.duckdb"),
        "SEGFLOW_DBT_PROJECT": str(ws / "dbt_project"),
        "SEGFLOW_SEGMENTS": str(ws / "segments"),
    }
    manifest = ws / "dbt_project" / "target" / "manifest.json"
    if not manifest.exists():  # scale.py builds into the slots' own target folders
        built = sorted((ws / "dbt_project" / "target").glob("*_build/manifest.json"))
        shutil.copy(built[-1], manifest)
    print(record_first_build(env))
    rows, measured = [], {}
    for suite in args.suites:
        for scope in ("all", "night"):
            result = run_suite(suite, scope, env)
            measured[f"{suite}/{scope}"] = result
            rows.append(
                f"| {suite} | {result['scope']} | {result['rows']:,} | {result['seconds']:.1f} s "
                f"| {result['wall']:.1f} s | {result['peak_gb']:.2f} GB |"
            )
    print("| suite | rows read | rows | validate | process | peak RSS |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    if args.json:
        args.json.write_text(json.dumps(measured, indent=2))


if __name__ == "__main__":
    main()
