"""Resources, configured from the environment (docs/reference.md, "Settings")."""

from __future__ import annotations

import os

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from segflow.dbt import dbt_executable
from segflow.settings import Settings, load_settings
from segflow.warehouse import Warehouse, open_warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The configured warehouse (SEGFLOW_TARGET and its connection settings)."""

    def settings(self) -> Settings:
        return load_settings()

    def connect(self) -> Warehouse:
        return open_warehouse(self.settings())


def build_run_id(run: dg.DagsterRun) -> str:
    """The run a build belongs to: a re-execution (from failure, or a retry) of a run checks
    and publishes the build its original run made (segflow/publication/publish.py)."""
    return run.root_run_id or run.run_id


def export_settings_for_dbt() -> None:
    """dbt runs as a subprocess that inherits this environment: give it the resolved settings
    (absolute DuckDB path, Postgres connection, time zone) so both agree on the warehouse."""
    os.environ.update(load_settings().dbt_env())


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
