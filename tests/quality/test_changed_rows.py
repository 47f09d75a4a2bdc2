"""Which rows of a model a build's check reads against the published build's, as SQL on each
engine (the check itself runs through Dagster in test_publication.py)."""

from __future__ import annotations

from segflow.quality.changed_rows import changed_rows_sql, columns_of, repeats_validated_keys
from segflow.warehouse import open_warehouse

KEYS = ("segment", "customer_id")
VALIDATED = [("s1", "C1", None, False), ("s1", "C2", "gold", False), ("s2", "C1", None, False)]


def _rows(values: list[tuple]) -> str:
    def literal(v):
        return "null" if v is None else str(v).lower() if isinstance(v, bool) else f"'{v}'"

    selects = [
        f"select {literal(s)} as segment, {literal(c)} as customer_id, "
        f"cast({literal(t)} as varchar(10)) as tier, {literal(e)} as is_erased"
        for s, c, t, e in values
    ]
    return " union all ".join(selects)


def test_the_rows_that_differ_are_read_with_every_row_of_their_keys(project):
    built = [
        ("s1", "C1", None, False),  # as validated: not read
        ("s1", "C2", "silver", False),  # another tier
        ("s2", "C1", None, True),  # erased since
        ("s2", "C3", None, False),  # joined
        ("s3", None, None, False),  # no key
    ]
    with open_warehouse(project) as wh:
        b, v = _rows(built), _rows(VALIDATED)
        assert not repeats_validated_keys(wh, b, v, KEYS)
        read = wh.query(changed_rows_sql(b, v, KEYS, columns_of(wh, b)))
        assert sorted(read, key=repr) == sorted(built[1:], key=repr)

        # Nothing changed: nothing is read.
        assert wh.query(changed_rows_sql(v, v, KEYS, columns_of(wh, v))) == []


def test_a_key_repeated_on_rows_equal_to_a_validated_one_is_counted(project):
    with open_warehouse(project) as wh:
        v = _rows(VALIDATED)
        repeated = _rows([*VALIDATED, VALIDATED[0]])
        # The rows that differ would not show it: there are none.
        assert wh.query(changed_rows_sql(repeated, v, KEYS, columns_of(wh, v))) == []
        assert repeats_validated_keys(wh, repeated, v, KEYS)
        # A new key repeated differs from every validated row, and is read: no count needed.
        new_twice = _rows([*VALIDATED, ("s9", "C9", None, False), ("s9", "C9", None, False)])
        assert not repeats_validated_keys(wh, new_twice, v, KEYS)
        assert len(wh.query(changed_rows_sql(new_twice, v, KEYS, columns_of(wh, v)))) == 2
