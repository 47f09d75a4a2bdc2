"""Tables the BI views and datasets read that segflow's Python steps write (the history, the
sync runs): created before dbt runs, so the views over them build and the charts answer on a
warehouse's very first build."""

from __future__ import annotations

from segflow.history.record import ensure_history_tables
from segflow.sync.store import ensure_tables as ensure_sync_tables
from segflow.warehouse import Warehouse


def ensure_bi_sources(wh: Warehouse) -> None:
    ensure_history_tables(wh)
    ensure_sync_tables(wh)
