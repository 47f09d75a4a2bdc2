"""A connection to the Spark Thrift server with the methods of segflow's `Warehouse`.

SQL passed here uses `?` placeholders. Values are bound by this module: each `?` outside
string literals, quoted identifiers and comments becomes a typed Spark literal (strings with
backslash escapes, as Spark's parser reads them). Without values, the SQL is sent as it is, so
a `?` in SQL text (a regex) stays. Bulk loads write a Parquet file into the staging folder
and insert from it in one statement; never row-by-row INSERTs.

Spark has no transactions: see `SparkConnection.transaction`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from segflow.errors import WarehouseUnavailable
from segflow.spark.server import SparkServerSettings, ensure_running

# PyHive logs every statement at INFO; segflow's own log should not repeat its SQL.
if logging.getLogger("pyhive").level == logging.NOTSET:
    logging.getLogger("pyhive").setLevel(logging.WARNING)

_FETCH_ROWS = 10_000  # rows per Thrift fetch (PyHive's default is 1,000)
_VALUES_PER_INSERT = 500  # rows per INSERT ... VALUES when the server cannot read our files


# -- literals and placeholders -------------------------------------------------------------------


def _string(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
        .replace("\x00", "\\0")
    )
    return f"'{escaped}'"


def spark_literal(value: Any) -> str:
    """A Python value as a Spark SQL literal of its type."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return f"{value}L" if not -(2**31) <= value < 2**31 else str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return f"CAST('{value}' AS DOUBLE)"
        return f"{value!r}D"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot bind {value} as a Spark decimal")
        return f"{value}BD" if "E" not in str(value) else f"{value:f}BD"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return f"TIMESTAMP '{value.isoformat(sep=' ')}'"  # the session time zone is UTC
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"X'{bytes(value).hex()}'"
    if isinstance(value, str):
        return _string(value)
    raise TypeError(f"cannot bind a {type(value).__name__} to a Spark SQL statement")


def placeholder_positions(sql: str) -> list[int]:
    """Where the `?` placeholders of `sql` are. A `?` inside a string literal ('…', "…"), a
    backquoted identifier or a comment is text, not a placeholder."""
    positions: list[int] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            j = i + 1
            while j < n:
                if sql[j] == "\\" and ch != "`":
                    j += 2
                    continue
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:  # '' inside '…', `` inside `…`
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            if ch == "?":
                positions.append(i)
            i += 1
    return positions


def replace_placeholders(sql: str, replacements: Sequence[str]) -> str:
    """`sql` with its placeholders replaced, in order, by the given texts."""
    positions = placeholder_positions(sql)
    if len(positions) != len(replacements):
        raise ValueError(f"{len(replacements)} values for {len(positions)} ? placeholders")
    out, last = [], 0
    for position, text in zip(positions, replacements, strict=True):
        out += [sql[last:position], text]
        last = position + 1
    return "".join(out) + sql[last:]


def bind(sql: str, params: Sequence[Any]) -> str:
    """Replace each `?` placeholder of `sql` by its value's literal (see
    `placeholder_positions`)."""
    if not params:
        return sql
    return replace_placeholders(sql, [spark_literal(v) for v in params])


def quote(identifier: str) -> str:
    """An identifier in backquotes (Spark's quoting; "…" is a string literal in Spark)."""
    return "`" + identifier.replace("`", "``") + "`"


# -- result values -------------------------------------------------------------------------------


def _converter(type_code: str | None):
    # PyHive returns DATE as text and TIMESTAMP as a naive datetime in the session time zone
    # (UTC); DuckDB and PostgreSQL give a date and an aware datetime: so does this.
    if type_code == "DATE_TYPE":
        return lambda v: dt.date.fromisoformat(v) if isinstance(v, str) else v
    if type_code == "TIMESTAMP_TYPE":
        return lambda v: v.replace(tzinfo=dt.UTC) if isinstance(v, dt.datetime) else v
    return None


def _convert(description: Any, rows: list[Any]) -> list[tuple]:
    converters = [_converter(d[1]) for d in description or []]
    if not any(converters):
        return [tuple(r) for r in rows]
    return [
        tuple(v if c is None or v is None else c(v) for c, v in zip(converters, r, strict=True))
        for r in rows
    ]


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    marker = "Error running query: "
    if marker in text:
        text = text.split(marker, 1)[1]
    return text.replace("\\n", "\n").strip().splitlines()[0][:500] if text.strip() else repr(exc)


class SparkError(RuntimeError):
    """A statement Spark rejected: the message is Spark's first line, the SQL is attached."""

    def __init__(self, message: str, sql: str):
        super().__init__(message)
        self.sql = sql


# -- the connection ------------------------------------------------------------------------------


class SparkConnection:
    """One Thrift session on the Spark Thrift server (a local one is started when needed)."""

    target = "spark"

    def __init__(
        self,
        settings: SparkServerSettings | None = None,
        read_only: bool = False,
        ensure_server: bool = True,
    ):
        self.settings = settings or SparkServerSettings.from_env()
        self.output_schema = self.settings.schema
        self.read_only = read_only  # not enforced by Spark; kept for Warehouse's signature
        if ensure_server:
            ensure_running(self.settings)
        self._conn = self._connect()

    def _connect(self) -> Any:
        try:
            from pyhive import hive
        except ImportError:
            raise WarehouseUnavailable(
                "PyHive is not installed: run `./bootstrap --with spark` (the `spark` extra)."
            ) from None
        try:
            conn = hive.connect(
                host=self.settings.host, port=self.settings.port, username="segflow"
            )
        except Exception as exc:  # thrift's TTransportException, socket errors
            raise WarehouseUnavailable(
                f"cannot reach the Spark Thrift server at {self.settings.address} (set "
                f"SEGFLOW_SPARK_HOST, SEGFLOW_SPARK_PORT): {_first_line(exc)}"
            ) from None
        if not self.settings.is_local:
            # Dates and timestamps are read and written in UTC (the local server's setting).
            cursor = conn.cursor()
            cursor.execute("set spark.sql.session.timeZone=UTC")
            cursor.close()
        return conn

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()

    def __enter__(self) -> SparkConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- statements ----------------------------------------------------------------------------
    def _run(self, sql: str, params: Sequence[Any], fetch: bool) -> tuple[Any, list[Any]]:
        text = bind(sql, params)
        cursor = self._conn.cursor(arraysize=_FETCH_ROWS)
        try:
            cursor.execute(text)
            rows = cursor.fetchall() if fetch and cursor.description else []
            return cursor.description, rows
        except Exception as exc:
            module = type(exc).__module__
            if module.startswith("thrift") or isinstance(exc, OSError):
                raise WarehouseUnavailable(
                    f"lost the Spark Thrift server at {self.settings.address}: {_first_line(exc)}"
                ) from None
            if module.startswith(("pyhive", "TCLIService")):
                raise SparkError(_first_line(exc), text) from None
            raise
        finally:
            with contextlib.suppress(Exception):
                cursor.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(sql, params, fetch=False)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        description, rows = self._run(sql, params, fetch=True)
        return _convert(description, rows)

    def query_with_names(self, sql: str) -> tuple[list[str], list[tuple]]:
        """Rows and their column names."""
        description, rows = self._run(sql, (), fetch=True)
        return [d[0] for d in description or []], _convert(description, rows)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Spark has no transactions: the statements inside run one by one, in order, in this
        session, and each is final when it returns. A failure inside stops the block and is
        raised, but what ran before it stays (nothing is rolled back). Each single statement is
        atomic as far as Spark's commit protocol goes: an INSERT or CREATE TABLE AS that fails
        leaves no partial files visible. Nested blocks join the outermost one."""
        yield

    def table_exists(self, schema: str, table: str) -> bool:
        """A table or view `schema.table` (Spark's names are case-insensitive)."""
        try:
            rows = self.query(f"show tables in {quote(schema)}")
        except SparkError as exc:
            if "SCHEMA_NOT_FOUND" in str(exc) or "NoSuchDatabase" in str(exc):
                return False
            raise
        wanted = table.lower()
        # SHOW TABLES: (namespace, tableName, isTemporary); temporary views have no namespace
        return any(r[1].lower() == wanted and not r[2] for r in rows)

    # -- bulk loading --------------------------------------------------------------------------
    def bulk_insert(self, table: str, data: pa.Table) -> None:
        """Append an Arrow table to `table` (its columns by name).

        A local server reads a Parquet file written into SEGFLOW_SPARK_DIR/staging, in one
        `INSERT INTO … SELECT … FROM parquet.`file``; a remote one (which cannot see that
        folder) gets INSERT … VALUES statements of many rows each."""
        if data.num_rows == 0:
            return
        columns = ", ".join(quote(name) for name in data.column_names)
        if self.settings.is_local:
            self._insert_from_parquet(table, columns, data)
        else:
            self._insert_values(table, columns, data)

    def _insert_from_parquet(self, table: str, columns: str, data: pa.Table) -> None:
        import pyarrow.parquet as pq

        staging = self.settings.staging_dir
        staging.mkdir(parents=True, exist_ok=True)
        path = staging / f"bulk-{uuid.uuid4().hex}.parquet"
        if "`" in str(path):
            raise WarehouseUnavailable(f"SEGFLOW_SPARK_DIR {staging} must not contain a backquote")
        try:
            # Spark reads microsecond timestamps; Arrow's nanoseconds would not load.
            pq.write_table(data, path, coerce_timestamps="us", allow_truncated_timestamps=True)
            self.execute(f"insert into {table} ({columns}) select {columns} from parquet.`{path}`")
        finally:
            path.unlink(missing_ok=True)

    def _insert_values(self, table: str, columns: str, data: pa.Table) -> None:
        rows = zip(*(col.to_pylist() for col in data.columns), strict=True)
        batch: list[str] = []
        for row in rows:
            batch.append("(" + ", ".join(spark_literal(v) for v in row) + ")")
            if len(batch) == _VALUES_PER_INSERT:
                self.execute(f"insert into {table} ({columns}) values {', '.join(batch)}")
                batch = []
        if batch:
            self.execute(f"insert into {table} ({columns}) values {', '.join(batch)}")
