"""`--select a b`, as dbt users type it, means `--select a --select b`."""

from __future__ import annotations

import pytest

from segflow.cli.main import expand_multi_value_options


@pytest.mark.parametrize(
    "given,expected",
    [
        (["backfill", "--select", "a", "b"], ["backfill", "--select", "a", "--select", "b"]),
        (
            ["backfill", "--select", "a", "--select", "b"],
            ["backfill", "--select", "a", "--select", "b"],
        ),
        (
            ["build", "--select", "a", "b", "--as-of", "2026-01-01"],
            ["build", "--select", "a", "--select", "b", "--as-of", "2026-01-01"],
        ),
        (["stats", "a", "b"], ["stats", "a", "b"]),  # positional names are left alone
        (["backfill", "--select=a", "--to", "x"], ["backfill", "--select=a", "--to", "x"]),
    ],
)
def test_multi_value_select(given, expected):
    assert expand_multi_value_options(given) == expected
