"""One small interface over the two warehouse engines: DuckDB (embedded) and PostgreSQL.

SQL passed here uses `?` placeholders; values are always bound, never formatted into SQL text.
Bulk loads go through DuckDB's Arrow reader and PostgreSQL's COPY, never row-by-row INSERTs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from segflow.errors import WarehouseUnavailable
from segflow.feeds import FEEDS, ColumnType
from segflow.settings import Settings

OUTPUT_SCHEMA = {"duckdb": "main", "postgres": "public"}

_SQL_TYPES = {
    "duckdb": {
        ColumnType.STRING: "VARCHAR",
        ColumnType.BOOLEAN: "BOOLEAN",
        ColumnType.DATE: "DATE",
        ColumnType.TIMESTAMP: "TIMESTAMPTZ",
        ColumnType.INTEGER: "BIGINT",
        ColumnType.DECIMAL: "DECIMAL(18, 4)",
    },
    "postgres": {
        ColumnType.STRING: "TEXT",
        ColumnType.BOOLEAN: "BOOLEAN",
        ColumnType.DATE: "DATE",
        ColumnType.TIMESTAMP: "TIMESTAMPTZ",
        ColumnType.INTEGER: "BIGINT",
        ColumnType.DECIMAL: "NUMERIC(18, 4)",
    },
}

# Columns every raw table carries: where each row came from, to order deliveries and replace
# a re-delivered file's rows.
LINEAGE_COLUMNS = (
    ("_file", ColumnType.STRING),
    ("_delivery_date", ColumnType.DATE),
    ("_row_number", ColumnType.INTEGER),
)


class Warehouse:
    """A connection to the configured warehouse."""

    def __init__(self, settings: Settings, read_only: bool = False):
        self.settings = settings
        self.target = settings.target
        self.output_schema = OUTPUT_SCHEMA[self.target]
        self._conn: Any = self._connect(read_only)
        self._depth = 0  # open DuckDB transactions (nested ones join the outermost)

    # -- connection ------------------------------------------------------------------------
    def _connect(self, read_only: bool) -> Any:
        if self.target == "duckdb":
            import duckdb

            path = self.settings.duckdb_path
            if read_only and not path.exists():
                raise WarehouseUnavailable(
                    f"the warehouse {path} does not exist yet: run `segflow build` first."
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                return duckdb.connect(str(path), read_only=read_only)
            except duckdb.IOException as exc:
                first = str(exc).splitlines()[0]
                raise WarehouseUnavailable(
                    f"cannot open the DuckDB warehouse {path} (is another process using it?): "
                    f"{first}"
                ) from None
        import psycopg

        pg = self.settings.postgres
        try:
            conn = psycopg.connect(**pg.conninfo(), connect_timeout=5)  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:
            first = (str(exc).strip().splitlines() or ["no answer"])[-1]
            raise WarehouseUnavailable(
                f"cannot reach PostgreSQL at {pg.describe()} (set PGHOST, PGPORT, PGUSER, "
                f"PGDATABASE): {first}"
            ) from None
        conn.autocommit = True
        return conn

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- statements ------------------------------------------------------------------------
    @staticmethod
    def _psycopg(sql: str, params: Sequence[Any]) -> tuple[str, list[Any] | None]:
        # Placeholders only where values are bound: a `?` in SQL text (a regex) stays as it is.
        if not params:
            return sql, None
        return sql.replace("%", "%%").replace("?", "%s"), list(params)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self.target == "duckdb":
            self._conn.execute(sql, list(params))
        else:
            with self._conn.cursor() as cur:
                cur.execute(*self._psycopg(sql, params))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self.target == "duckdb":
            return self._conn.execute(sql, list(params)).fetchall()
        with self._conn.cursor() as cur:
            cur.execute(*self._psycopg(sql, params))
            return cur.fetchall()

    def query_with_names(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Rows and their column names."""
        if self.target == "duckdb":
            cursor = self._conn.execute(sql)
            return [d[0] for d in cursor.description], cursor.fetchall()
        with self._conn.cursor() as cur:
            cur.execute(sql)
            return [d.name for d in cur.description], cur.fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all. Nested: the outermost one
        commits (PostgreSQL makes the inner ones savepoints; DuckDB has none, so an inner
        failure rolls the whole transaction back)."""
        if self.target == "duckdb":
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN TRANSACTION")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0
            self._conn.execute("COMMIT")
        else:
            with self._conn.transaction():
                yield

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                (schema, table),
            )
        )

    # -- bulk loading ----------------------------------------------------------------------
    def bulk_insert(self, table: str, data: pa.Table) -> None:
        """Append an Arrow table to `table` (its columns by name)."""
        if data.num_rows == 0:
            return
        columns = ", ".join(f'"{name}"' for name in data.column_names)
        if self.target == "duckdb":
            self._conn.register("_segflow_bulk", data)
            try:
                self._conn.execute(
                    f"insert into {table} ({columns}) select {columns} from _segflow_bulk"
                )
            finally:
                self._conn.unregister("_segflow_bulk")
            return
        with self._conn.cursor() as cur, cur.copy(f"copy {table} ({columns}) from stdin") as copy:
            for row in zip(*(col.to_pylist() for col in data.columns), strict=True):
                copy.write_row(row)

    # -- schema ----------------------------------------------------------------------------
    def sql_type(self, column_type: ColumnType) -> str:
        return _SQL_TYPES[self.target][column_type]

    def ensure_raw_schema(self) -> None:
        """Create the raw tables, the file log and the quarantine table if they are missing."""
        self.execute("create schema if not exists raw")
        for feed in FEEDS.values():
            cols = [(c.name, c.type) for c in feed.columns] + list(LINEAGE_COLUMNS)
            body = ", ".join(f'"{name}" {self.sql_type(t)}' for name, t in cols)
            self.execute(f"create table if not exists {feed.table} ({body})")
        text, ts, big = (
            self.sql_type(ColumnType.STRING),
            self.sql_type(ColumnType.TIMESTAMP),
            self.sql_type(ColumnType.INTEGER),
        )
        self.execute(
            "create table if not exists raw.file_log ("
            f"feed {text} not null, file {text} not null, checksum {text} not null, "
            f"delivery_date DATE not null, status {text} not null, rows_loaded {big}, "
            f"rows_quarantined {big}, reason {text}, ingested_at {ts} not null)"
        )
        self.execute(
            f"create table if not exists {self.output_schema}.quarantine ("
            f'feed {text} not null, file {text} not null, row_number {big}, "column" {text}, '
            f"reason {text} not null, raw {text})"
        )
