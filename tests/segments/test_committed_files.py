"""The committed generated files match the committed segments (what `compile --check` says)."""

from __future__ import annotations

from segflow.segments.compile import compile_project
from segflow.segments.project import load_project
from segflow.settings import DEFAULT_DBT_PROJECT_DIR, PROJECT_ROOT, load_settings


def test_generated_models_and_schema_are_fresh(monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)
    monkeypatch.delenv("SEGFLOW_SEGMENTS", raising=False)
    monkeypatch.delenv("SEGFLOW_DBT_PROJECT", raising=False)
    settings = load_settings(dotenv=False)
    assert settings.dbt_project_dir == DEFAULT_DBT_PROJECT_DIR
    project = load_project(settings.segments_dir)
    assert project.problems == []
    assert len(project.segments) == 17
    compile_project(
        project, settings.segments_dir, settings.dbt_project_dir, check=True
    )  # raises when stale
