"""Tables the BI views read that segflow's Python steps write (history, builds): created
before dbt runs, so the views over them can be built on a warehouse's very first build."""

from __future__ import annotations

from segflow.history import ensure_history_tables
from segflow.publish import _ensure_tables as ensure_build_tables
from segflow.warehouse import Warehouse


def ensure_bi_sources(wh: Warehouse) -> None:
    ensure_history_tables(wh)
    ensure_build_tables(wh)
