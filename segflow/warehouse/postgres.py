"""PostgreSQL, the shared warehouse: transactional DDL, savepoints, bulk loads through COPY."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import psycopg
import pyarrow as pa

from segflow.errors import WarehouseUnavailable
from segflow.settings import Settings
from segflow.warehouse.base import STANDARD_SQL_TYPES, Warehouse
from segflow.warehouse.tables import SqlType

log = logging.getLogger(__name__)


class PostgresWarehouse(Warehouse):
    engine = "postgres"
    dialect = "postgres"
    output_schema = "public"
    drop_cascade = True
    sql_types = {**STANDARD_SQL_TYPES, SqlType.TEXT: "TEXT", SqlType.DECIMAL: "NUMERIC(18, 4)"}

    def __init__(self, settings: Settings, read_only: bool = False):
        super().__init__(settings, read_only)
        pg = settings.postgres
        try:
            self._conn = psycopg.connect(**pg.conninfo(), connect_timeout=5)  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:
            first = (str(exc).strip().splitlines() or ["no answer"])[-1]
            raise WarehouseUnavailable(
                f"cannot reach PostgreSQL at {pg.describe()} (set PGHOST, PGPORT, PGUSER, "
                f"PGDATABASE): {first}"
            ) from None
        self._conn.autocommit = True

    @classmethod
    def describe_settings(cls, settings: Settings) -> str:
        return settings.postgres.describe()

    @classmethod
    def sqlalchemy_url(cls, settings: Settings, mask: str) -> tuple[str, str | None]:
        pg = settings.postgres
        user = quote(pg.user, safe="")
        auth = f"{user}:{mask}" if pg.password else user
        if pg.host.startswith("/"):  # a socket directory
            host = f"/{pg.dbname}?host={quote(pg.host)}&port={pg.port}"
            return f"postgresql+psycopg2://{auth}@{host}", pg.password or None
        return f"postgresql+psycopg2://{auth}@{pg.host}:{pg.port}/{pg.dbname}", pg.password or None

    def close(self) -> None:
        self._conn.close()

    @staticmethod
    def _psycopg(sql: str, params: Sequence[Any]) -> tuple[str, list[Any] | None]:
        # Placeholders only where values are bound: a `?` in SQL text (a regex) stays as it is.
        if not params:
            return sql, None
        return sql.replace("%", "%%").replace("?", "%s"), list(params)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._conn.cursor() as cur:
            cur.execute(*self._psycopg(sql, params))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._conn.cursor() as cur:
            cur.execute(*self._psycopg(sql, params))
            return cur.fetchall()

    def query_with_names(self, sql: str) -> tuple[list[str], list[tuple]]:
        with self._conn.cursor() as cur:
            cur.execute(sql)
            return [d.name for d in cur.description or ()], cur.fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        # Nested ones are savepoints: an inner failure rolls back only its own statements.
        with self._conn.transaction():
            yield

    def bulk_insert(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0:
            return
        columns = ", ".join(self.quote(name) for name in data.column_names)
        with self._conn.cursor() as cur, cur.copy(f"copy {table} ({columns}) from stdin") as copy:
            for row in zip(*(col.to_pylist() for col in data.columns), strict=True):
                copy.write_row(row)

    def replace_view(self, schema: str, name: str, select: str) -> None:
        if self.relation_kind(schema, name) == "VIEW":
            try:  # keeps views that users built on ours, when the columns still fit
                with self.transaction():
                    self.execute(f"create or replace view {schema}.{name} as {select}")
                return
            except psycopg.Error:  # columns changed: replace it (the savepoint rolled back)
                log.warning(
                    "%s.%s changed its columns: dropped and re-created, with any views on it",
                    schema,
                    name,
                )
            self.drop_relation(schema, name, "VIEW")
            self.execute(f"create view {schema}.{name} as {select}")
            return
        super().replace_view(schema, name, select)

    def hex_to_bigint(self, hex_text: str) -> str:
        return f"(('x' || {hex_text})::bit(32)::bigint)"
