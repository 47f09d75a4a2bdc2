"""The one small interface every engine implements, and what is the same on all of them.

SQL handed to a warehouse is segflow's own dialect: the one DuckDB and PostgreSQL share, with
`?` placeholders whose values are always bound, never formatted into SQL text. An engine that
speaks another dialect renders it first (`render`, sqlglot). What the engines cannot share is
said by capability flags, so that callers ask what an engine can do, never which one it is.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal

import pyarrow as pa

from segflow.settings import Settings
from segflow.warehouse.tables import SqlType, Table

RelationKind = Literal["VIEW", "TABLE"]

# The type names DuckDB and PostgreSQL share; an adapter overrides where its engine differs.
STANDARD_SQL_TYPES = {
    SqlType.TEXT: "VARCHAR",
    SqlType.BOOLEAN: "BOOLEAN",
    SqlType.DATE: "DATE",
    SqlType.TIMESTAMP: "TIMESTAMP",
    SqlType.TIMESTAMPTZ: "TIMESTAMPTZ",
    SqlType.INTEGER: "INTEGER",
    SqlType.BIGINT: "BIGINT",
    SqlType.DECIMAL: "DECIMAL(18, 4)",
}


def utc_now() -> datetime:
    """This moment in UTC, without a zone: how segflow's own tables store one (TIMESTAMP)."""
    return datetime.now(UTC).replace(tzinfo=None)


def text_list(values: Iterable[str]) -> str:
    """Text values as a SQL list, for `in (...)` (`null` when there are none: `x in (null)`
    holds for no row)."""
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values) or "null"


class Warehouse(ABC):
    """A connection to the configured warehouse."""

    engine: ClassVar[str]  # the SEGFLOW_TARGET that selects it, and dbt's target name
    dialect: ClassVar[str]  # sqlglot's name of the engine's SQL dialect
    output_schema: ClassVar[str]  # where dashboards and syncs find the published tables
    sql_types: ClassVar[dict[SqlType, str]]
    # -- capabilities ------------------------------------------------------------------------
    # Statements in `transaction()` commit together; without, each commits on its own and a
    # failure leaves what ran before it (the publication says what that means).
    atomic_transactions: ClassVar[bool] = True
    # NOT NULL and PRIMARY KEY in segflow's own tables.
    constraints: ClassVar[bool] = True
    # `drop ... cascade` also drops the views that users built on a relation.
    drop_cascade: ClassVar[bool] = False
    # One process may write the warehouse at a time, and it is a file a reader would have to
    # wait for: Superset then reads a copy made at each publication (segflow/bi/bifile.py).
    single_file: ClassVar[bool] = False
    identifier_quote: ClassVar[str] = '"'

    def __init__(self, settings: Settings, read_only: bool = False):
        self.settings = settings
        self.read_only = read_only

    # -- connection --------------------------------------------------------------------------
    @classmethod
    @abstractmethod
    def describe_settings(cls, settings: Settings) -> str:
        """Where this engine's warehouse is, as the terminal says it."""

    @classmethod
    def sqlalchemy_url(cls, settings: Settings, mask: str) -> tuple[str, str | None]:
        """How another program (Superset) connects with SQLAlchemy: the URL with `mask` for
        the password, and the password apart."""
        raise NotImplementedError(f"no SQLAlchemy connection to {cls.engine} is set up")

    def describe(self) -> str:
        return self.describe_settings(self.settings)

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- statements --------------------------------------------------------------------------
    def render(self, sql: str) -> str:
        """segflow's SQL in this engine's dialect (as written, where the engine speaks it)."""
        return sql

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]: ...

    @abstractmethod
    def query_with_names(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Rows and their column names."""

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    @abstractmethod
    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """All statements inside commit together or not at all (where `atomic_transactions`).
        Nested: the outermost one commits."""

    # -- catalog -----------------------------------------------------------------------------
    def relation_kind(self, schema: str, name: str) -> RelationKind | None:
        kind = self.scalar(
            "select table_type from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            (schema, name),
        )
        if kind is None:
            return None
        return "VIEW" if kind == "VIEW" else "TABLE"

    def table_exists(self, schema: str, table: str) -> bool:
        return self.relation_kind(schema, table) is not None

    def columns(self, schema: str, table: str) -> list[str]:
        """The relation's column names, in order."""
        return [
            name
            for (name,) in self.query(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                (schema, table),
            )
        ]

    def relations_in(self, schema: str) -> list[str]:
        """The names of the tables and views in `schema`."""
        return [
            name
            for (name,) in self.query(
                "select table_name from information_schema.tables where table_schema = ? "
                "order by table_name",
                (schema,),
            )
        ]

    def copy_to_file(
        self, path: Path, schema: str, names: list[str], storage_version: str
    ) -> dict[str, int]:
        """Copy relations into a file of their own (`single_file` engines: the BI copy)."""
        raise NotImplementedError(f"{self.engine} keeps no copies in files")

    # -- bulk loading ------------------------------------------------------------------------
    @abstractmethod
    def bulk_insert(self, table: str, data: pa.Table) -> None:
        """Append an Arrow table to `table` (its columns by name), never row by row."""

    def insert_parquet(self, table: str, path: Path, rows_per_insert: int = 100_000) -> None:
        """Append a Parquet file's rows to `table` (its columns by name), in bounded memory:
        `rows_per_insert` rows per `bulk_insert`."""
        import pyarrow.parquet as pq

        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=100_000):
            pending.append(batch)
            rows += batch.num_rows
            if rows >= rows_per_insert:
                self.bulk_insert(table, pa.Table.from_batches(pending))
                pending, rows = [], 0
        if pending:
            self.bulk_insert(table, pa.Table.from_batches(pending))

    # -- segflow's own tables ----------------------------------------------------------------
    def quote(self, identifier: str) -> str:
        q = self.identifier_quote
        return f"{q}{identifier.replace(q, q + q)}{q}"

    def sql_type(self, sql_type: SqlType) -> str:
        return self.sql_types[sql_type]

    def qualified(self, table: Table) -> str:
        return f"{table.schema or self.output_schema}.{table.name}"

    def create_table_sql(self, table: Table) -> str:
        not_null = " not null" if self.constraints else ""
        body = [
            f"{self.quote(c.name)} {self.sql_type(c.type)}{not_null if c.not_null else ''}"
            for c in table.columns
        ]
        if table.primary_key and self.constraints:
            body.append(f"primary key ({', '.join(table.primary_key)})")
        return f"create table if not exists {self.qualified(table)} ({', '.join(body)})"

    def ensure_tables(self, tables: Iterable[Table]) -> None:
        """Create those of segflow's own tables that are missing (and their schemas)."""
        tables = list(tables)
        for schema in sorted({t.schema or self.output_schema for t in tables}):
            self.execute(f"create schema if not exists {schema}")
        for table in tables:
            self.execute(self.create_table_sql(table))

    # -- publication -------------------------------------------------------------------------
    def drop_relation(self, schema: str, name: str, kind: RelationKind) -> None:
        what = "view" if kind == "VIEW" else "table"
        cascade = " cascade" if self.drop_cascade else ""
        self.execute(f"drop {what} if exists {schema}.{name}{cascade}")

    def replace_view(self, schema: str, name: str, select: str) -> None:
        """Make `schema.name` a view of `select`, whatever it was before."""
        kind = self.relation_kind(schema, name)
        if kind == "VIEW":
            self.execute(f"create or replace view {schema}.{name} as {select}")
            return
        if kind is not None:
            self.drop_relation(schema, name, kind)
        self.execute(f"create view {schema}.{name} as {select}")

    def drop_schema(self, schema: str) -> None:
        self.execute(f"drop schema if exists {schema} cascade")

    # -- what the dialects spell differently -------------------------------------------------
    @abstractmethod
    def hex_to_bigint(self, hex_text: str) -> str:
        """SQL for the number that the 8 hex digits of `hex_text` (an expression) spell."""
