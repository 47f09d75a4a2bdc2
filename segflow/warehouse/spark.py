"""Apache Spark, through a Thrift server (the optional `spark` extra).

segflow's SQL is translated statement by statement (`spark_sql.translate`: sqlglot, values
bound in the tree, DELETE and UPDATE rewritten as whole-table rewrites, since Spark's Parquet
tables take neither). Spark has no transactions: a block of statements runs in order and each
is final when it returns (`atomic_transactions = False`; docs/engines.md says what the
publication promises then). The connection and the local server live in `segflow/spark/`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from segflow.settings import Settings
from segflow.spark.connection import quote as spark_quote
from segflow.warehouse.base import RelationKind, Warehouse
from segflow.warehouse.spark_sql import GUARD, translate
from segflow.warehouse.tables import SqlType


class SparkWarehouse(Warehouse):
    engine = "spark"
    dialect = "spark"
    output_schema = "main"
    atomic_transactions = False
    constraints = False  # Parquet tables keep neither NOT NULL nor keys
    # `quote` writes segflow's SQL, which `translate` reads as DuckDB's: "..." (Spark gets `...`).
    sql_types = {
        SqlType.TEXT: "STRING",
        SqlType.BOOLEAN: "BOOLEAN",
        SqlType.DATE: "DATE",
        SqlType.TIMESTAMP: "TIMESTAMP",  # an instant, shown in the session's zone: UTC
        SqlType.TIMESTAMPTZ: "TIMESTAMP",
        SqlType.INTEGER: "INT",
        SqlType.BIGINT: "BIGINT",
        SqlType.DECIMAL: "DECIMAL(18, 4)",
    }

    def __init__(self, settings: Settings, read_only: bool = False):
        super().__init__(settings, read_only)
        from segflow.spark.connection import SparkConnection

        self._conn = SparkConnection(server_settings(settings), read_only=read_only)

    @classmethod
    def describe_settings(cls, settings: Settings) -> str:
        return settings.spark.describe()

    def close(self) -> None:
        self._conn.close()

    # -- statements --------------------------------------------------------------------------
    def _statements(self, sql: str, params: Sequence[Any]) -> list[str]:
        return translate(sql, params, self._columns_of)

    def _columns_of(self, table: str) -> list[str]:
        schema, _, name = table.rpartition(".")
        return self.columns(schema or self.output_schema, name)

    def render(self, sql: str) -> str:
        return "\n;\n".join(self._statements(sql, ()))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        for statement in self._statements(sql, params):
            if statement.startswith(GUARD):
                if not self._conn.query(statement):
                    return  # no row to delete or update
                continue
            self._conn.execute(statement)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        *before, last = self._statements(sql, params)
        for statement in before:
            self._conn.execute(statement)
        return self._conn.query(last)

    def query_with_names(self, sql: str) -> tuple[list[str], list[tuple]]:
        *before, last = self._statements(sql, ())
        for statement in before:
            self._conn.execute(statement)
        return self._conn.query_with_names(last)

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return self._conn.transaction()

    # -- catalog (Spark has no information_schema) -------------------------------------------
    def _names(self, command: str, schema: str) -> set[str]:
        if not self._schema_exists(schema):
            return set()
        rows = self._conn.query(f"{command} in {spark_quote(schema)}")
        # (namespace, name, isTemporary): temporary views have no namespace
        return {r[1].lower() for r in rows if not r[2]}

    def _schema_exists(self, schema: str) -> bool:
        rows = self._conn.query(f"show schemas like '{schema.lower()}'")
        return bool(rows)

    def relation_kind(self, schema: str, name: str) -> RelationKind | None:
        if name.lower() in self._names("show views", schema):
            return "VIEW"
        if name.lower() in self._names("show tables", schema):
            return "TABLE"
        return None

    def relations_in(self, schema: str) -> list[str]:
        return sorted(self._names("show tables", schema))

    def columns(self, schema: str, table: str) -> list[str]:
        rows = self._conn.query(f"describe {spark_quote(schema)}.{spark_quote(table)}")
        names = []
        for row in rows:
            name = (row[0] or "").strip()
            if not name or name.startswith("#"):  # partition information follows
                break
            names.append(name)
        return names

    # -- bulk loading ------------------------------------------------------------------------
    def bulk_insert(self, table: str, data: pa.Table) -> None:
        self._conn.bulk_insert(table, data)

    def insert_parquet(self, table: str, path: Path, rows_per_insert: int = 1_000_000) -> None:
        # Every insert is a Spark job (about a second): fewer, larger ones.
        super().insert_parquet(table, path, rows_per_insert)

    # -- what the dialects spell differently -------------------------------------------------
    def hex_to_bigint(self, hex_text: str) -> str:
        return f"cast(conv({hex_text}, 16, 10) as bigint)"


def server_settings(settings: Settings) -> Any:
    """The Thrift server's settings (segflow/spark/server.py) from segflow's."""
    from segflow.spark.server import SparkServerSettings

    spark = settings.spark
    return SparkServerSettings(
        spark_dir=spark.dir,
        master=spark.master,
        host=spark.address,
        port=spark.port,
        schema=SparkWarehouse.output_schema,
    )
