"""The warehouse: one adapter per engine behind one small interface (`base.Warehouse`).

`open_warehouse(settings)` connects to the engine SEGFLOW_TARGET names; `engine_class` says
what an engine can do without connecting to it.
"""

from __future__ import annotations

from segflow.errors import SettingsError
from segflow.settings import Settings
from segflow.warehouse.base import Warehouse, text_list, utc_now
from segflow.warehouse.tables import LINEAGE_COLUMNS

ENGINES = ("duckdb", "postgres", "spark")

__all__ = [
    "ENGINES",
    "LINEAGE_COLUMNS",
    "Warehouse",
    "engine_class",
    "open_warehouse",
    "text_list",
    "utc_now",
]


def engine_class(target: str) -> type[Warehouse]:
    # Imported on demand: a DuckDB user needs no PostgreSQL driver loaded, nor pyspark installed.
    if target == "duckdb":
        from segflow.warehouse.duckdb import DuckDBWarehouse

        return DuckDBWarehouse
    if target == "postgres":
        from segflow.warehouse.postgres import PostgresWarehouse

        return PostgresWarehouse
    if target == "spark":
        from segflow.warehouse.spark import SparkWarehouse

        return SparkWarehouse
    raise SettingsError(f"SEGFLOW_TARGET={target!r} is not an engine segflow knows")


def open_warehouse(settings: Settings, read_only: bool = False) -> Warehouse:
    """A connection to the configured warehouse. `read_only`: the command only reads (an
    embedded engine then lets a running build keep its writer)."""
    return engine_class(settings.target)(settings, read_only=read_only)
