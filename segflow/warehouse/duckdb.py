"""DuckDB, the embedded default: one file, one writer at a time, bulk loads through Arrow."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from segflow.errors import WarehouseUnavailable
from segflow.settings import Settings
from segflow.warehouse.base import STANDARD_SQL_TYPES, Warehouse


class DuckDBWarehouse(Warehouse):
    engine = "duckdb"
    dialect = "duckdb"
    output_schema = "main"
    single_file = True
    sql_types = STANDARD_SQL_TYPES

    def __init__(self, settings: Settings, read_only: bool = False):
        super().__init__(settings, read_only)
        path = settings.duckdb_path
        if read_only and not path.exists():
            raise WarehouseUnavailable(
                f"the warehouse {path} does not exist yet: run `segflow build` first."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = duckdb.connect(
                str(path),
                read_only=read_only,
                config={"memory_limit": settings.duckdb_memory_limit},
            )
        except duckdb.IOException as exc:
            first = str(exc).splitlines()[0]
            raise WarehouseUnavailable(
                f"cannot open the DuckDB warehouse {path} (is another process using it?): {first}"
            ) from None
        self._depth = 0  # open transactions (nested ones join the outermost)

    @classmethod
    def describe_settings(cls, settings: Settings) -> str:
        return str(settings.duckdb_path)

    def close(self) -> None:
        self._conn.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._conn.execute(sql, list(params))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self._conn.execute(sql, list(params)).fetchall()

    def query_with_names(self, sql: str) -> tuple[list[str], list[tuple]]:
        cursor = self._conn.execute(sql)
        return [d[0] for d in cursor.description], cursor.fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        # DuckDB has no savepoints: an inner failure rolls the whole transaction back.
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

    def bulk_insert(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        columns = ", ".join(self.quote(name) for name in data.column_names)
        self._conn.register("_segflow_bulk", data)
        try:
            self._conn.execute(
                f"insert into {table} ({columns}) select {columns} from _segflow_bulk"
            )
        finally:
            self._conn.unregister("_segflow_bulk")

    def insert_parquet(self, table: str, path: Path, rows_per_insert: int = 100_000) -> None:
        # DuckDB's own reader streams the file; appending many Arrow tables with text columns
        # grew its memory with every row (4.5 GB for a 2 GB delivery; 0.3 GB this way).
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
        columns = ", ".join(self.quote(name) for name in names)
        self.execute(
            f"insert into {table} ({columns}) select {columns} from read_parquet(?)", (str(path),)
        )

    def hex_to_bigint(self, hex_text: str) -> str:
        return f"cast('0x' || {hex_text} as bigint)"

    def copy_to_file(
        self, path: Path, schema: str, names: list[str], storage_version: str
    ) -> dict[str, int]:
        """Copy relations of `schema` as tables into a new DuckDB file at `path`, written in
        `storage_version`'s format; rows per table. A failure removes the file."""
        alias = "segflow_copy"
        self.execute(f"attach '{path}' as {alias} (storage_version '{storage_version}')")
        rows: dict[str, int] = {}
        try:
            for name in names:
                self.execute(f"create table {alias}.main.{name} as select * from {schema}.{name}")
                rows[name] = self.scalar(f"select count(*) from {alias}.main.{name}")
            self.execute(f"checkpoint {alias}")
        except BaseException:
            self.execute(f"detach {alias}")
            path.unlink(missing_ok=True)
            raise
        self.execute(f"detach {alias}")
        return rows

    def relations_in(self, schema: str) -> list[str]:
        return [
            name
            for (name,) in self.query(
                "select table_name from information_schema.tables where table_schema = ? "
                "and table_catalog = current_database() order by table_name",
                (schema,),
            )
        ]
