"""Tables the BI views read that segflow's Python steps write (the history): created
before dbt runs, so the views over them can be built on a warehouse's very first build."""

from __future__ import annotations

from segflow.history import ensure_history_tables
from segflow.warehouse import Warehouse


def ensure_bi_sources(wh: Warehouse) -> None:
    ensure_history_tables(wh)
