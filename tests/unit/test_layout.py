"""The library's shape: no Dagster in segflow/, a pure compiler, no import circles."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports() -> dict[str, list[tuple[str, bool]]]:
    """Each segflow module's imports, with whether they sit at module level."""
    found: dict[str, list[tuple[str, bool]]] = {}
    for path in sorted((ROOT / "segflow").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(node) for node in tree.body}
        rows: list[tuple[str, bool]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                rows.append((node.module, id(node) in top))
            elif isinstance(node, ast.Import):
                rows += [(alias.name, id(node) in top) for alias in node.names]
        found[name] = rows
    return found


def test_the_library_never_imports_dagster():
    offenders = [
        (module, imported)
        for module, rows in _imports().items()
        for imported, _ in rows
        if imported.split(".")[0] in ("dagster", "dagster_dbt", "dagster_webserver")
    ]
    assert offenders == []


def test_only_the_cli_reaches_the_code_location_and_only_when_a_command_runs():
    reaching = [
        (module, at_top)
        for module, rows in _imports().items()
        for imported, at_top in rows
        if imported.split(".")[0] == "orchestration"
    ]
    assert reaching, "the CLI runs jobs through orchestration.runner"
    assert {module for module, _ in reaching} == {"segflow.cli.main"}
    assert not any(at_top for _, at_top in reaching)


def test_the_compiler_imports_neither_warehouse_nor_history():
    allowed = ("segflow.segments", "segflow.errors")
    impure = [
        (module, imported)
        for module, rows in _imports().items()
        if module.startswith("segflow.segments")
        for imported, _ in rows
        if imported.startswith("segflow") and not imported.startswith(allowed)
    ]
    assert impure == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_between_modules_or_packages():
    imports = _imports()
    modules = {
        module: {imported for imported, _ in rows if imported in imports}
        for module, rows in imports.items()
    }
    assert _cycles(modules) == []

    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for module, targets in modules.items():
        packages.setdefault(package(module), set()).update(
            package(t) for t in targets if package(t) != package(module)
        )
    assert _cycles(packages) == []


def test_no_module_outside_the_warehouse_asks_which_engine_it_runs_on():
    asking = []
    for path in sorted((ROOT / "segflow").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("segflow/warehouse/"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0]
            if ".target ==" in code or ".target !=" in code or "wh.engine" in code:
                asking.append(f"{relative}:{number}")
    assert asking == []
