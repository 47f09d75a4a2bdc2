"""A statement's day masks ORed as packed words (segflow/history/record.py `_packed_masks`) equal
a `bit_or` per mask column, for one column and for more columns than a word holds (several
groups, a day per word), with nulls, customers in nothing and days without a row."""

from __future__ import annotations

import random
from datetime import date, timedelta

import duckdb
import pytest

from segflow.history.record import WORD_BITS, _MemberColumn, _packed_masks
from segflow.segments.sql import date_literal

FIRST = date(2026, 3, 2)


def _flags(con: duckdb.DuckDBPyConnection, columns: int, days: int, seed: int) -> None:
    """A row per customer and day (some days missing) with a flag per column (some null)."""
    rng = random.Random(seed)
    rows = []
    for customer in range(40):
        for day in range(days):
            if rng.random() < 0.2:
                continue
            flags = [rng.choice([True, False, None]) for _ in range(columns)]
            rows.append((f"C{customer:03d}", FIRST + timedelta(days=day), *flags))
    names = ", ".join(f"f{i} boolean" for i in range(columns))
    con.execute(f"create table flags (customer_id varchar, as_of date, {names})")
    con.executemany(f"insert into flags values ({', '.join('?' * (columns + 2))})", rows)


@pytest.mark.parametrize(
    ("columns", "days", "first_bit"),
    [(1, 8, 1), (11, 8, 1), (20, 5, 33), (WORD_BITS, 3, 0), (WORD_BITS + 9, 8, 54)],
)
def test_packed_words_give_each_columns_mask(columns: int, days: int, first_bit: int) -> None:
    con = duckdb.connect()
    _flags(con, columns, days, seed=columns * 100 + days)
    masks = [_MemberColumn(f"d{i}", f"f{i}", "'s'", "null") for i in range(columns)]
    words, unpacked = _packed_masks("duckdb", masks, FIRST, days, first_bit)
    packed = con.execute(
        f"select customer_id, {unpacked} from (select customer_id, {words} "
        "from flags group by customer_id) as packed order by customer_id"
    ).fetchall()
    day = f"as_of - {date_literal(FIRST)}"
    plain = con.execute(
        "select customer_id, "
        + ", ".join(
            f"bit_or(case when f{i} then cast(1 as bigint) << ({first_bit} + {day}) end)"
            for i in range(columns)
        )
        + " from flags group by customer_id order by customer_id"
    ).fetchall()
    assert packed == plain
    assert any(value is None for row in plain for value in row[1:])  # never a member: null
    assert any(value and value.bit_count() > 1 for row in plain for value in row[1:])
