"""Benchmark: the segment build's SQL on DuckDB, PostgreSQL and Spark, side by side.

    .venv/bin/python benchmarks/engines.py                       # 20,000 customers, 400k lines
    .venv/bin/python benchmarks/engines.py --customers 100000 --lines 2000000
    .venv/bin/python benchmarks/engines.py --engines duckdb spark

The same generated data (benchmarks/segments.py's generator: customer versions, sales lines,
events, attributes) is loaded into each engine through segflow's own adapters, then, engine
after engine and round after round (interleaved: the machine is shared):

- floor: one aggregate scan of the sales lines (orders and revenue per customer);
- segflow: the SQL of the generated models for every segment (population, features, flags,
  a view per segment, the membership view), in dependency order, as dbt runs it.

PostgreSQL needs a server (PGHOST/PGPORT/PGUSER; a database `segflow_bench_engines` is made
and dropped). Spark needs `./bootstrap --with spark`; a Thrift server of its own is started in
a temporary folder (port 10049) and stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.segments import (  # noqa: E402
    D,
    floor_sql,
    generate_data,
    generate_segments,
    model_sql,
)
from segflow.segments.project import load_project  # noqa: E402
from segflow.segments.sql import (  # noqa: E402
    ATTRIBUTES,
    EVENT_FEATURES,
    FLAGS,
    POPULATION,
    SALES_FEATURES,
)
from segflow.settings import Settings, load_settings  # noqa: E402
from segflow.warehouse import Warehouse, open_warehouse  # noqa: E402
from segflow.warehouse.tables import SqlType  # noqa: E402

TABLES = (
    "intermediate.int_customer_versions",
    "intermediate.int_sales_lines",
    "intermediate.int_events",
    "staging.stg_customer_attributes",
)
PG_DATABASE = "segflow_bench_engines"
SPARK_PORT = "10049"


def _sql_type(arrow: pa.DataType) -> SqlType:
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        return SqlType.TEXT
    if pa.types.is_boolean(arrow):
        return SqlType.BOOLEAN
    if pa.types.is_date(arrow):
        return SqlType.DATE
    if pa.types.is_timestamp(arrow):
        return SqlType.TIMESTAMPTZ if arrow.tz else SqlType.TIMESTAMP
    if pa.types.is_decimal(arrow):
        return SqlType.DECIMAL
    if pa.types.is_integer(arrow):
        return SqlType.BIGINT
    raise TypeError(f"no column type for {arrow}")


def load(wh: Warehouse, data: dict[str, pa.Table]) -> float:
    started = time.perf_counter()
    for schema in ("intermediate", "staging", "bench"):
        wh.execute(f"create schema if not exists {schema}")
    for name, table in data.items():
        wh.execute(f"drop table if exists {name}")
        columns = ", ".join(
            f"{wh.quote(f.name)} {wh.sql_type(_sql_type(f.type))}" for f in table.schema
        )
        wh.execute(f"create table {name} ({columns})")
        for batch in table.to_batches(max_chunksize=200_000):
            wh.bulk_insert(name, pa.Table.from_batches([batch]))
    return time.perf_counter() - started


def build_statements(project, dialect: str) -> list[str]:
    """The generated models' SQL for every segment, as `create table` statements."""
    relations = {
        "int_customer_versions": "intermediate.int_customer_versions",
        "int_sales_lines": "intermediate.int_sales_lines",
        "int_events": "intermediate.int_events",
        "stg_customer_attributes": "staging.stg_customer_attributes",
        POPULATION: "bench.population",
        ATTRIBUTES: "bench.attribute_values",
        SALES_FEATURES: "bench.sales_features",
        EVENT_FEATURES: "bench.event_features",
        FLAGS: "bench.flags",
        "segment_membership": "bench.segment_membership",
        **{f"seg_{n}": f"bench.seg_{n}" for n in project.segments},
    }
    # The views first: they read the tables (PostgreSQL will not drop a table a view reads)
    views = ["segment_membership", *(f"seg_{n}" for n in project.segments)]
    statements = [f"drop view if exists {relations[name]}" for name in views]
    for name, sql in model_sql(project, relations, dialect):
        if name in views:  # as dbt_project.yml makes them: views of the flags
            statements.append(f"create view {relations[name]} as {sql}")
        else:
            statements += [
                f"drop table if exists {relations[name]}",
                f"create table {relations[name]} as {sql}",
            ]
    return statements


FLOOR = [
    "drop table if exists bench.floor",
    f"create table bench.floor as {floor_sql('intermediate.int_sales_lines', D)}",
]


def timed(wh: Warehouse, statements: list[str]) -> float:
    started = time.perf_counter()
    for statement in statements:
        wh.execute(statement)
    return time.perf_counter() - started


def engine_settings(engine: str, base: Settings, spark_dir: Path) -> Settings:
    update: dict = {"target": engine}
    if engine == "postgres":
        update["postgres"] = base.postgres.model_copy(update={"dbname": PG_DATABASE})
    if engine == "spark":
        update["spark"] = base.spark.model_copy(
            update={"dir": spark_dir, "port": int(SPARK_PORT), "host": ""}
        )
    return base.model_copy(update=update)


def postgres_database(create: bool, database: str = PG_DATABASE) -> None:
    """Drop the benchmark's PostgreSQL database, and with `create` make it anew (empty)."""
    import psycopg

    base = load_settings(dotenv=False).postgres
    info = {**base.conninfo(), "dbname": "postgres"}
    with psycopg.connect(**info, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f"drop database if exists {database} with (force)")
        if create:
            conn.execute(f"create database {database}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--lines", type=int, default=400_000)
    parser.add_argument("--segments", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--engines", nargs="+", default=["duckdb", "postgres", "spark"])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="segflow-bench-engines-"))
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["SEGFLOW_DUCKDB_PATH"] = str(work / "warehouse.duckdb")
    base = load_settings(dotenv=False)
    generate_segments(work / "segments", args.segments)
    project = load_project(work / "segments")

    source = duckdb.connect()
    generate_data(source, args.customers, args.lines)
    data = {name: source.sql(f"select * from {name}").to_arrow_table() for name in TABLES}
    print(
        f"{args.customers:,} customers, {data['intermediate.int_sales_lines'].num_rows:,} sales "
        f"lines, {len(project.segments)} segments, {args.rounds} rounds, as of {D}"
    )

    warehouses: dict[str, Warehouse] = {}
    loads: dict[str, float] = {}
    try:
        for engine in args.engines:
            if engine == "postgres":
                postgres_database(create=True)
            started = time.perf_counter()
            wh = open_warehouse(engine_settings(engine, base, work / "spark"))
            connect = time.perf_counter() - started
            warehouses[engine] = wh
            loads[engine] = load(wh, data)
            print(f"{engine}: connected in {connect:.1f} s, loaded in {loads[engine]:.1f} s")

        runs: dict[str, dict[str, list[float]]] = {
            e: {"floor": [], "segflow": []} for e in warehouses
        }
        for _ in range(args.rounds):
            for engine, wh in warehouses.items():
                runs[engine]["floor"].append(timed(wh, FLOOR))
                runs[engine]["segflow"].append(timed(wh, build_statements(project, wh.dialect)))

        sizes = {
            engine: wh.scalar("select count(*) from bench.segment_membership")
            for engine, wh in warehouses.items()
        }
        print()
        print(
            f"{'engine':<10} {'floor s':>9} {'segflow s':>10} {'× floor':>8} {'× DuckDB':>9}  members"
        )
        duck = statistics.median(runs["duckdb"]["segflow"]) if "duckdb" in runs else None
        for engine, timings in runs.items():
            floor = statistics.median(timings["floor"])
            build = statistics.median(timings["segflow"])
            vs_duck = f"{build / duck:8.1f}×" if duck else "        -"
            print(
                f"{engine:<10} {floor:9.2f} {build:10.2f} {build / floor:7.1f}× {vs_duck}  "
                f"{sizes[engine]:,}"
            )
        same = len(set(sizes.values())) == 1
        print(f"\nsame membership count on every engine: {'yes' if same else 'NO'}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS of this process (not the servers): {rss:,.0f} MB")
    finally:
        for wh in warehouses.values():
            wh.close()
        if "postgres" in args.engines:
            postgres_database(create=False)
        if "spark" in warehouses:
            from segflow.spark.server import stop
            from segflow.warehouse.spark import server_settings

            stop(server_settings(engine_settings("spark", base, work / "spark")))


if __name__ == "__main__":
    main()
