"""The dbt project as Dagster sees it.

Kept in its own small module, as `dagster-dbt project prepare-and-package --file` expects.
"""

from dagster_dbt import DbtProject

from segflow.settings import DBT_PROJECT_DIR

segflow_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
