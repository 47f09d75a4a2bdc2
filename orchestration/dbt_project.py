"""The dbt project as Dagster sees it."""

from pathlib import Path

from dagster_dbt import DbtProject


def dbt_project(project_dir: Path) -> DbtProject:
    return DbtProject(project_dir=project_dir, profiles_dir=project_dir)
