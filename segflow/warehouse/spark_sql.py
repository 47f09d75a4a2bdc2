"""segflow's SQL in Spark's dialect: values bound as literals, row-level DML rewritten.

Spark's own tables (Parquet through the Hive metastore) take no DELETE or UPDATE, have no
temporary tables and no transactions. So a statement is parsed once (sqlglot, as written for
DuckDB and PostgreSQL), its `?` placeholders become literals in the tree (never text pasted
into SQL), and:

- `delete from t where c` keeps the rows where c is not true, through a scratch table;
- `update t set a = x where c` rewrites every row, a column at a time `case when c ...`;
- `create temporary table` becomes a table of the session's database, dropped by its caller.

Each becomes a few statements; the caller runs them in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp

READ = "duckdb"  # segflow's SQL parses as DuckDB's (it is the dialect DuckDB and PostgreSQL share)
WRITE = "spark"
SCRATCH_SUFFIX = "__segflow_rewrite"


def literal(value: Any) -> exp.Expression:
    """A bound value as a typed literal of the tree."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
        return exp.cast(exp.Literal.string(text), exp.DataType.build("timestamp"))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("date"))
    return exp.Literal.string(str(value))


def bind(tree: exp.Expression, params: Sequence[Any]) -> exp.Expression:
    """Replace the `?` placeholders, in the order they are written, by the values."""
    placeholders = [p for p in tree.find_all(exp.Placeholder, bfs=False)]
    placeholders.sort(key=lambda p: _position(p))
    if len(placeholders) != len(params):
        raise ValueError(f"{len(placeholders)} placeholders for {len(params)} values")
    for placeholder, value in zip(placeholders, params, strict=True):
        placeholder.replace(literal(value))
    return tree


def _position(node: exp.Expression) -> tuple[int, ...]:
    """Where a node sits in the written statement: the path of argument positions."""
    path: list[int] = []
    while node.parent is not None:
        parent = node.parent
        keys = list(parent.args)
        key = node.arg_key
        index = node.index or 0
        path.append(keys.index(key) * 10_000 + index)
        node = parent
    return tuple(reversed(path))


def _generate(tree: exp.Expression) -> str:
    return tree.sql(dialect=WRITE)


def translate(
    sql: str, params: Sequence[Any], columns_of: Callable[[str], list[str]]
) -> list[str]:
    """Spark statements doing what `sql` does; `columns_of(table)` names a table's columns
    (an UPDATE rewrites whole rows)."""
    tree = sqlglot.parse_one(sql, read=READ)
    if params:
        tree = bind(tree, params)
    if isinstance(tree, exp.Delete):
        return _delete(tree)
    if isinstance(tree, exp.Update):
        return _update(tree, columns_of)
    if isinstance(tree, exp.Create):
        properties = tree.args.get("properties")
        if properties is not None:
            for prop in list(properties.expressions):
                if isinstance(prop, exp.TemporaryProperty):
                    prop.pop()
            if not properties.expressions:
                properties.pop()
    return [_generate(tree)]


def _table_name(table: exp.Table) -> str:
    return ".".join(part.name for part in table.parts)


def _rewrite(table: str, select: str) -> list[str]:
    scratch = f"{table}{SCRATCH_SUFFIX}"
    return [
        f"drop table if exists {scratch}",
        f"create table {scratch} as {select}",
        f"insert overwrite table {table} select * from {scratch}",
        f"drop table {scratch}",
    ]


def _delete(tree: exp.Delete) -> list[str]:
    table = _table_name(tree.this)
    where = tree.args.get("where")
    if where is None:
        return [f"truncate table {table}"]
    condition = _generate(where.this)
    return _rewrite(table, f"select * from {table} where not coalesce(({condition}), false)")


def _update(tree: exp.Update, columns_of: Callable[[str], list[str]]) -> list[str]:
    table = _table_name(tree.this)
    if tree.args.get("from"):
        raise ValueError("update ... from is not rewritten for Spark")
    assignments = {
        eq.this.name: _generate(eq.expression) for eq in tree.expressions
    }
    where = tree.args.get("where")
    condition = f"coalesce(({_generate(where.this)}), false)" if where is not None else "true"
    select = ", ".join(
        f"case when {condition} then {assignments[c]} else `{c}` end as `{c}`"
        if c in assignments
        else f"`{c}`"
        for c in columns_of(table)
    )
    return _rewrite(table, f"select {select} from {table}")
