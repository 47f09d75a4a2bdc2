"""Apache Spark as a warehouse engine (the optional `spark` extra: `./bootstrap --with spark`).

Locally, one long-lived Spark Thrift server (HiveThriftServer2 from pyspark's own jars) holds
the embedded Derby metastore, which allows one process only; dbt (dbt-spark, method thrift)
and segflow's own queries (PyHive) are both its clients. On a cluster the same settings point
at the cluster's Thrift server instead. See docs/stack.md, "Spark".

Nothing here imports Dagster, pyspark or PyHive at import time.
"""

from segflow.spark.connection import SparkConnection, spark_literal
from segflow.spark.server import (
    ServerStatus,
    SparkServerSettings,
    ensure_running,
    start,
    status,
    stop,
)

__all__ = [
    "ServerStatus",
    "SparkConnection",
    "SparkServerSettings",
    "ensure_running",
    "spark_literal",
    "start",
    "status",
    "stop",
]
