"""Spark against DuckDB on the same data: the dbt build on Spark gives the same segments.

Needs the `spark` extra (`./bootstrap --with spark`) and a DuckDB warehouse with raw data
(`segflow demo`). Copies the raw tables (and the history tables the BI views read) from the
DuckDB file into Spark with `SparkConnection.bulk_insert`, runs `dbt build` with the spark
target into a build schema, builds the same models on DuckDB into a build schema of its own
(both from the models as they are now), and compares `segment_stats` and every seg_ model's
members. Prints the timings; exits 1 when anything differs.

    SPARK_LOCAL_IP=127.0.0.1 .venv/bin/python benchmarks/spark_parity.py --as-of 2026-12-02
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from segflow.dbt import dbt_executable
from segflow.spark import SparkConnection, SparkServerSettings, ensure_running
from segflow.spark.connection import quote

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "dbt_project"
COPIED = [
    ("raw", "customers"),
    ("raw", "customer_attributes"),
    ("raw", "products"),
    ("raw", "transactions"),
    ("raw", "events"),
    ("raw", "file_log"),
    ("main", "segment_membership_history"),
    ("main", "segment_history_days"),
]
DUCK_TO_SPARK = {
    "VARCHAR": "STRING",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "TIMESTAMP": "TIMESTAMP",
    "BIGINT": "BIGINT",
    "INTEGER": "INT",
    "DECIMAL(18,4)": "DECIMAL(18, 4)",
}


def spark_type(duck_type: str) -> str:
    return DUCK_TO_SPARK.get(duck_type, duck_type)


def copy_tables(duck: duckdb.DuckDBPyConnection, spark: SparkConnection, schema: str) -> dict:
    timings = {}
    for source_schema, table in COPIED:
        target_schema = schema if source_schema == "main" else source_schema
        columns = duck.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [source_schema, table],
        ).fetchall()
        body = ", ".join(f"{quote(n)} {spark_type(t)}" for n, t in columns)
        name = f"{target_schema}.{table}"
        spark.execute(f"create schema if not exists {target_schema}")
        spark.execute(f"drop table if exists {name}")
        spark.execute(f"create table {name} ({body}) using parquet")
        data = duck.execute(f"select * from {source_schema}.{table}").to_arrow_table()
        began = time.monotonic()
        spark.bulk_insert(name, data)
        took = time.monotonic() - began
        count = spark.scalar(f"select count(*) from {name}")
        assert count == data.num_rows, (name, count, data.num_rows)
        timings[name] = (data.num_rows, took)
        print(f"  {name}: {data.num_rows} rows in {took:.1f} s")
    return timings


def dbt_build(target: str, build_schema: str, as_of: date, env: dict[str, str]) -> float:
    began = time.monotonic()
    result = subprocess.run(
        [
            dbt_executable(),
            "build",
            "--project-dir",
            str(PROJECT),
            "--profiles-dir",
            str(PROJECT),
            "--target-path",
            f"target-{target}",
            "--vars",
            json.dumps({"as_of": as_of.isoformat()}),
        ],
        env={
            **os.environ,
            **env,
            "SEGFLOW_TARGET": target,
            "SEGFLOW_BUILD_SCHEMA": build_schema,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.monotonic() - began
    summary = [line for line in result.stdout.splitlines() if "Done. PASS" in line]
    print(f"  dbt build --target {target}: {took:.1f} s; {summary[-1] if summary else ''}")
    if result.returncode != 0:
        print(result.stdout[-6000:], result.stderr[-2000:], sep="\n")
        raise SystemExit(f"dbt build on {target} failed")
    return took


def normalise(rows: list[tuple]) -> list[tuple]:
    def value(v):
        if isinstance(v, Decimal | float):
            return round(float(v), 4)
        return v

    return sorted((tuple(value(v) for v in r) for r in rows), key=repr)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--as-of", required=True, type=date.fromisoformat)
    parser.add_argument("--duckdb", default=str(ROOT / "data" / "warehouse.duckdb"))
    parser.add_argument("--build-schema", default="segflow_parity")
    parser.add_argument("--skip-copy", action="store_true")
    args = parser.parse_args()
    settings = SparkServerSettings.from_env(base=ROOT)

    print("Spark Thrift server")
    began = time.monotonic()
    started = ensure_running(settings)
    print(f"  ensure_running: {time.monotonic() - began:.1f} s (start {started:.1f} s)")

    spark = SparkConnection(settings)
    trips = []
    for _ in range(5):
        t = time.monotonic()
        spark.scalar("select 1")
        trips.append(time.monotonic() - t)
    print(f"  select 1 round trip: median {sorted(trips)[2] * 1000:.0f} ms")

    duck_env = {"SEGFLOW_DUCKDB_PATH": args.duckdb}
    if not args.skip_copy:
        print("Copy into Spark")
        duck = duckdb.connect(args.duckdb, read_only=True)
        copy_tables(duck, spark, settings.schema)
        duck.close()

    print("dbt")
    spark.execute(f"drop schema if exists {args.build_schema} cascade")
    dbt_build("spark", args.build_schema, args.as_of, settings.dbt_env())
    duck = duckdb.connect(args.duckdb)
    duck.execute(f"drop schema if exists {args.build_schema} cascade")
    duck.close()
    dbt_build("duckdb", args.build_schema, args.as_of, duck_env)

    print("Compare")
    duck = duckdb.connect(args.duckdb, read_only=True)
    schema = args.build_schema
    differences = 0
    stats = f"select * from {schema}.segment_stats"
    names_d = [d[0] for d in duck.execute(stats).description]
    names_s, rows_s = spark.query_with_names(stats)
    assert names_d == names_s, (names_d, names_s)
    rows_d = normalise(duck.execute(stats).fetchall())
    if rows_d != normalise(rows_s):
        differences += 1
        print("  segment_stats differs:")
        for a, b in zip(rows_d, normalise(rows_s), strict=False):
            if a != b:
                print(f"    duckdb {a}\n    spark  {b}")
    else:
        print(f"  segment_stats: {len(rows_d)} rows equal")
    models = [
        r[0]
        for r in duck.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "and table_name like 'seg\\_%' escape '\\' order by 1",
            [schema],
        ).fetchall()
    ]
    for model in models:
        columns = [
            c
            for c in ("customer_id", "tier", "as_of")
            if c
            in [d[0] for d in duck.execute(f"select * from {schema}.{model} limit 0").description]
        ]
        sql = f"select {', '.join(columns)} from {schema}.{model}"
        d, s = normalise(duck.execute(sql).fetchall()), normalise(spark.query(sql))
        same = d == s
        differences += not same
        print(
            f"  {model}: {len(d)} members on DuckDB, {len(s)} on Spark{'' if same else ' DIFFER'}"
        )
    for model in (
        "bi_segment_overlap",
        "bi_segment_vs_rest",
        "bi_feed_daily",
        "bi_tier_daily",
        "segment_catalog",
        "segment_membership",
    ):
        sql = f"select * from {schema}.{model}"
        d, s = normalise(duck.execute(sql).fetchall()), normalise(spark.query(sql))
        same = d == s
        differences += not same
        print(f"  {model}: {len(d)} rows{'' if same else f' DIFFER ({len(s)} on Spark)'}")
    spark.close()
    print("equal" if not differences else f"{differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
