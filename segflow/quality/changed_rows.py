"""Which rows of a build's model its quality suite reads: those that differ from the rows the
published build's check passed on, and every row of their keys (README, "Data quality").

`segment_membership` holds every member of every segment: at 1M customers and 100 segments,
33M rows, which GX's pandas engine took 47-95 s and 10 GB to read each night. The published
build's check passed on its rows under the same suite and query (the digest of its record), so
a new row equal to one of them meets every row-wise expectation again. The check reads the
rows that differ, with every row of their keys, so that uniqueness is checked where a key
changed. One case is left: a key repeated on rows equal to a validated one. It is counted
first, and then the check reads every row.
"""

from __future__ import annotations

from segflow.warehouse import Warehouse


def _same(columns: list[str], left: str, right: str) -> str:
    return " and ".join(f"{left}.{c} is not distinct from {right}.{c}" for c in columns)


def _on_keys(keys: tuple[str, ...], left: str, right: str) -> str:
    # `=`, not `is not distinct from`: a hash join on every engine; a NULL key is read anyway
    return " and ".join(f"{left}.{k} = {right}.{k}" for k in keys)


def columns_of(wh: Warehouse, sql: str) -> list[str]:
    return wh.query_with_names(f"select * from ({sql}) as q where 1 = 0")[0]


def repeats_validated_keys(
    wh: Warehouse, built: str, validated: str, keys: tuple[str, ...]
) -> bool:
    """Whether a key of the validated rows is on more than one built row, which the rows that
    differ might not show. The validated rows are unique by key (their check passed), so a
    built row has at most one partner on a join by key, and a key repeats when there are
    more partners than validated rows with one."""
    pairs, validated_alone, validated_rows = wh.query(
        f"with built as (select *, 1 as present_ from ({built}) as q), "
        f"validated as (select *, 1 as present_ from ({validated}) as q) "
        "select sum(case when b.present_ = 1 and v.present_ = 1 then 1 else 0 end), "
        "sum(case when b.present_ is null then 1 else 0 end), "
        "(select count(*) from validated) "
        f"from built as b full join validated as v on {_on_keys(keys, 'b', 'v')}"
    )[0]
    return int(pairs or 0) > int(validated_rows) - int(validated_alone or 0)


def changed_rows_sql(built: str, validated: str, keys: tuple[str, ...], columns: list[str]) -> str:
    """The built rows whose key is on a row no validated row equals, and those without a key.
    Two branches: an `exists` under an `or` is a subplan run once per row on PostgreSQL, not
    a semi-join (its cost estimate at 1M rows: 2e9)."""
    others = [c for c in columns if c not in keys]
    same = " and ".join([_on_keys(keys, "v", "b"), *([_same(others, "v", "b")] if others else [])])
    null_key = " or ".join(f"b.{k} is null" for k in keys)
    return f"""with built as ({built}),
validated as ({validated}),
changed as (
    select {", ".join(f"b.{k}" for k in keys)} from built as b
    where not exists (select 1 from validated as v where {same})
)
select * from built as b
where exists (select 1 from changed as c where {_on_keys(keys, "c", "b")})
union all
select * from built as b where {null_key}"""
