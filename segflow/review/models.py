"""The dbt project's staging and intermediate models, rendered without dbt for segment tests.

Segment tests must mean what the build means, so fixture rows go through the project's own
model SQL and macros (newest delivery wins, trimming, local dates, erasure, known customers),
not through a second copy of that logic. dbt itself takes seconds to start; the models only
need `ref`, `source`, `env_var`, `adapter.dispatch` and the project's macros, which plain
Jinja (the engine dbt uses) renders in milliseconds. A model using anything else fails here
with the name of what is missing, so a new dbt feature cannot silently change the meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

LAYERS = ("staging", "intermediate")  # each folder of models is its schema (dbt_project.yml)


class ReturnValue(str):
    """dbt's `return(x)` inside a macro: the macro's output becomes x."""


@dataclass(frozen=True)
class Model:
    name: str
    schema: str
    sql: str
    refs: tuple[str, ...]


class _Exceptions:
    @staticmethod
    def raise_compiler_error(message: str) -> None:
        raise ValueError(message)


class _Target:
    """dbt's `target`: segment tests run the rendered SQL on an in-memory DuckDB."""

    type = "duckdb"
    schema = "main"


class _Modules:
    def __init__(self) -> None:
        import datetime

        import pytz  # type: ignore[import-untyped]

        self.re, self.pytz, self.datetime = re, pytz, datetime


# dbt's own block tag, which plain Jinja does not know: the materializations are not what the
# staging and intermediate models need.
_MATERIALIZATION = re.compile(r"{%-?\s*materialization\b.*?{%-?\s*endmaterialization\s*-?%}", re.S)


def _macros_text(dbt_project: Path) -> str:
    text = "\n".join(p.read_text() for p in sorted((dbt_project / "macros").glob("*.sql")))
    return _MATERIALIZATION.sub("", text)


def render_models(dbt_project: Path, timezone: str) -> list[Model]:
    """The staging and intermediate models, each after the models it refers to."""
    return list(_render(dbt_project.resolve(), timezone, _fingerprint(dbt_project)))


def _fingerprint(dbt_project: Path) -> tuple:
    files = [*sorted((dbt_project / "macros").glob("*.sql"))]
    for layer in LAYERS:
        files += sorted((dbt_project / "models" / layer).glob("*.sql"))
    return tuple((str(p), p.stat().st_mtime_ns) for p in files)


@lru_cache(maxsize=8)
def _render(dbt_project: Path, timezone: str, _files: tuple) -> tuple[Model, ...]:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])
    env.globals.update(
        env_var=lambda name, default="": timezone if name == "SEGFLOW_TIMEZONE" else default,
        modules=_Modules(),
        exceptions=_Exceptions(),
        config=lambda **_: "",
        var=lambda name, default="": default,
        execute=False,  # as in dbt's parse: no model reads the warehouse while rendering
        target=_Target(),
        **{"return": ReturnValue},
    )

    class Adapter:  # dbt-duckdb and dbt-postgres both take the `default__` implementation
        @staticmethod
        def dispatch(name: str, _namespace: str | None = None):
            return getattr(macros, f"default__{name}")

    schema_of: dict[str, str] = {}
    sources: dict[str, Path] = {}
    for layer in LAYERS:
        for path in sorted((dbt_project / "models" / layer).glob("*.sql")):
            schema_of[path.stem], sources[path.stem] = layer, path
    # `ref` and `source` are globals, as in dbt, so that macros may call them too; `ref`
    # notes what the model being rendered refers to.
    rendering: list[str] = [""]  # the model being rendered
    refs: list[str] = []  # what it refers to

    def ref(model: str) -> str:
        if model not in schema_of:
            raise ValueError(f"{rendering[0]} refers to {model}: no staging/intermediate model")
        refs.append(model)
        return f"{schema_of[model]}.{model}"

    env.globals.update(ref=ref, source=lambda schema, table: f"{schema}.{table}")
    env.globals["adapter"] = Adapter()  # before the module is made: it copies the globals
    macros = env.from_string(_macros_text(dbt_project)).module
    for name in dir(macros):
        if not name.startswith("_"):
            env.globals[name] = getattr(macros, name)
    models: dict[str, Model] = {}
    for name, path in sources.items():
        rendering[0] = name
        refs.clear()
        sql = env.from_string(path.read_text()).render()
        models[name] = Model(name, schema_of[name], sql, tuple(refs))
    ordered: list[Model] = []

    def visit(name: str) -> None:
        if any(m.name == name for m in ordered):
            return
        for dependency in models[name].refs:
            visit(dependency)
        ordered.append(models[name])

    for name in sorted(models):
        visit(name)
    return tuple(ordered)
