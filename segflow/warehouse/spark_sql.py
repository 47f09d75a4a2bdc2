"""segflow's SQL in Spark's dialect: values bound as literals, row-level DML rewritten.

Spark's own tables (Parquet through the Hive metastore) take no DELETE or UPDATE, have no
temporary tables and no transactions. So a statement is parsed once (sqlglot, as written for
DuckDB and PostgreSQL), its `?` placeholders become literals in the tree (never text pasted
into SQL), and:

- `delete from t where c` keeps the rows where c is not true, through a scratch table;
- `update t set a = x where c` rewrites every row, a column at a time `case when c ...`;
- `create temporary table` becomes a table of the session's database, dropped by its caller.

Each becomes a few statements; the caller runs them in order, and stops after a first
statement marked GUARD that finds no row (nothing to delete or update: no rewrite).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark

from segflow.spark.connection import placeholder_positions, replace_placeholders

# Spark 3+ reads CTEs nested in subqueries and set operations; sqlglot writes Spark as Hive,
# which cannot, and hoists every CTE to the top, where same-named CTEs of different branches
# collide (measured with sqlglot 30.30: the history's several days per statement). Keep them
# where they are written.
Spark().generator_class.EXPRESSIONS_WITHOUT_NESTED_CTES = set()

READ = "duckdb"  # segflow's SQL parses as DuckDB's (it is the dialect DuckDB and PostgreSQL share)
WRITE = "spark"
SCRATCH_SUFFIX = "__segflow_rewrite"


def literal(value: Any) -> exp.Expr:
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


def number_placeholders(sql: str) -> str:
    """`?` placeholders as `$1`, `$2`, ... in the order written (a `?` in a literal, a quoted
    name or a comment stays: `placeholder_positions`)."""
    count = len(placeholder_positions(sql))
    return replace_placeholders(sql, [f"${i}" for i in range(1, count + 1)])


def bind(tree: exp.Expr, params: Sequence[Any]) -> exp.Expr:
    """Replace the numbered placeholders by the values' literals."""
    placeholders = list(tree.find_all(exp.Placeholder))
    if len(placeholders) != len(params):
        raise ValueError(f"{len(placeholders)} placeholders for {len(params)} values")
    for placeholder in placeholders:
        placeholder.replace(literal(params[int(placeholder.name) - 1]))
    return tree


def _generate(tree: exp.Expr) -> str:
    return tree.sql(dialect=WRITE)


def translate(sql: str, params: Sequence[Any], columns_of: Callable[[str], list[str]]) -> list[str]:
    """Spark statements doing what `sql` does; `columns_of(table)` names a table's columns
    (an UPDATE rewrites whole rows)."""
    tree = sqlglot.parse_one(number_placeholders(sql) if params else sql, read=READ)
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


GUARD = "-- segflow: skip the rest unless this finds a row\n"


def _rewrite(table: str, select: str, condition: str | None = None) -> list[str]:
    """Rewrite `table` as `select`; with `condition`, only when a row meets it (the first
    statement is then a guard query, marked GUARD: most deletes find nothing to delete)."""
    scratch = f"{table}{SCRATCH_SUFFIX}"
    guard = [f"{GUARD}select 1 from {table} where {condition} limit 1"] if condition else []
    return guard + [
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
    condition = f"coalesce(({_generate(where.this)}), false)"
    return _rewrite(table, f"select * from {table} where not {condition}", condition)


def _update(tree: exp.Update, columns_of: Callable[[str], list[str]]) -> list[str]:
    table = _table_name(tree.this)
    if tree.args.get("from"):
        raise ValueError("update ... from is not rewritten for Spark")
    assignments = {eq.this.name: _generate(eq.expression) for eq in tree.expressions}
    where = tree.args.get("where")
    condition = f"coalesce(({_generate(where.this)}), false)" if where is not None else None
    select = ", ".join(
        (
            f"case when {condition} then {assignments[c]} else `{c}` end as `{c}`"
            if condition
            else f"{assignments[c]} as `{c}`"
        )
        if c in assignments
        else f"`{c}`"
        for c in columns_of(table)
    )
    return _rewrite(table, f"select {select} from {table}", condition)
