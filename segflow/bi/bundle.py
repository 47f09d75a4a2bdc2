"""The dashboards bundle in `dashboards/`: Superset's export format (databases, datasets,
charts, dashboards as YAML, linked by UUID), kept free of secrets and of instance ids.

Importing fills the database URI from the settings and re-points every chart's saved query
context at the dataset ids of the Superset it lands in; exporting writes what was changed in
the UI back, with the URI and the ids taken out again, so exporting twice gives the same files.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from segflow.bi.bifile import bi_duckdb_path, needs_bi_copy
from segflow.bi.client import SupersetClient
from segflow.errors import UserInputError
from segflow.settings import PROJECT_ROOT, Settings
from segflow.warehouse import engine_class

BUNDLE_DIR = PROJECT_ROOT / "dashboards"
KINDS = ("databases", "datasets", "charts", "dashboards")
URI_PLACEHOLDER = "segflow://filled-from-the-settings-at-import"
MASK = "XXXXXXXXXX"  # Superset's placeholder for a password given apart from the URI
METADATA = "version: 1.0.0\ntype: {type}\ntimestamp: '2026-01-01T00:00:00+00:00'\n"
# Superset's dashboard import overwrites only the dashboards and leaves existing databases,
# datasets and charts as they were: each kind is imported (overwritten) by its own endpoint,
# each ZIP holding what that kind refers to.
IMPORT_STEPS = (
    ("database", "Database", ("databases",)),
    ("dataset", "SqlaTable", ("databases", "datasets")),
    ("chart", "Slice", ("databases", "datasets", "charts")),
    ("dashboard", "Dashboard", KINDS),
)


@dataclass(frozen=True)
class Connection:
    uri: str
    password: str | None  # given to Superset apart, never written into the bundle

    def describe(self) -> str:
        return self.uri


def connection(settings: Settings) -> Connection:
    """The database Superset reads: the warehouse itself, or the BI copy of a single file."""
    if needs_bi_copy(settings):
        return Connection(f"duckdb:///{bi_duckdb_path(settings)}?access_mode=read_only", None)
    uri, password = engine_class(settings.target).sqlalchemy_url(settings, MASK)
    return Connection(uri, password)


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.allow_unicode = True
    return yaml


def load(path: Path) -> Any:
    return _yaml().load(path.read_text())


def dump(data: Any) -> str:
    stream = io.StringIO()
    _yaml().dump(data, stream)
    return stream.getvalue()


def bundle_files(bundle: Path = BUNDLE_DIR) -> dict[str, Path]:
    """Every YAML file of the bundle by its path inside the bundle."""
    files = {
        str(p.relative_to(bundle)): p
        for kind in KINDS
        for p in sorted((bundle / kind).glob("*.yaml"))
    }
    if not any(name.startswith("dashboards/") for name in files):
        raise UserInputError(f"{bundle}: no dashboards/*.yaml to import")
    return files


def build_zip(
    conn: Connection,
    bundle: Path = BUNDLE_DIR,
    kinds: tuple[str, ...] = KINDS,
    type_: str = "Dashboard",
) -> tuple[bytes, dict[str, str]]:
    """The bundle's `kinds` as an import ZIP of `type_` with the URI filled in, and the
    passwords to give apart."""
    out = io.BytesIO()
    passwords: dict[str, str] = {}
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("segflow/metadata.yaml", METADATA.format(type=type_))
        for name, path in bundle_files(bundle).items():
            if name.split("/")[0] not in kinds:
                continue
            text = path.read_text()
            if name.startswith("databases/"):
                data = load(path)
                data["sqlalchemy_uri"] = conn.uri
                text = dump(data)
                if conn.password:
                    passwords[name] = conn.password
            archive.writestr(f"segflow/{name}", text)
    return out.getvalue(), passwords


def import_bundle(client: SupersetClient, conn: Connection, bundle: Path = BUNDLE_DIR) -> int:
    """Import (overwriting what is there) and point the charts' saved query contexts at the
    datasets' ids here. Returns the number of charts."""
    for resource, type_, kinds in IMPORT_STEPS:
        data, passwords = build_zip(conn, bundle, kinds, type_)
        client.import_bundle(resource, data, passwords)
    contexts = {}
    for name, path in bundle_files(bundle).items():
        if name.startswith("charts/"):
            chart = load(path)
            contexts[str(chart["uuid"])] = chart.get("query_context")
    charts = client.list_all("chart", ["id", "uuid", "datasource_id"])
    for chart in charts:
        context = contexts.get(str(chart["uuid"]))
        if not context:
            continue
        client.put(
            f"/api/v1/chart/{chart['id']}",
            {"query_context": _bind_context(context, chart["id"], chart["datasource_id"])},
        )
    return len(contexts)


def _bind_context(context: str, chart_id: int, dataset_id: int) -> str:
    body = json.loads(context)
    body["datasource"] = {"id": dataset_id, "type": "table"}
    form = body.get("form_data") or {}
    form.update(datasource=f"{dataset_id}__table", slice_id=chart_id)
    body["form_data"] = form
    return json.dumps(body)


def _unbind_context(context: str | None) -> str | None:
    if not context:
        return context
    body = json.loads(context)
    body["datasource"] = {"id": 0, "type": "table"}
    for key in ("datasource", "slice_id"):
        (body.get("form_data") or {}).pop(key, None)
    return json.dumps(body, sort_keys=True)


def export_bundle(client: SupersetClient, bundle: Path = BUNDLE_DIR) -> dict[str, int]:
    """Write every dashboard of the Superset (with its charts, datasets and database) to the
    bundle folder, replacing the YAML that was there. Returns files per kind."""
    ids = [row["id"] for row in client.list_all("dashboard", ["id"])]
    if not ids:
        raise UserInputError(f"{client.url} has no dashboards to export")
    files: dict[str, str] = {}
    with zipfile.ZipFile(io.BytesIO(client.export_dashboards(ids))) as archive:
        for member in archive.namelist():
            # <export>/<kind>/<file>.yaml; datasets one level deeper, under their database
            parts = Path(member).parts
            if len(parts) < 3 or parts[1] not in KINDS or not member.endswith(".yaml"):
                continue
            data = _yaml().load(archive.read(member).decode())
            files[_file_name(parts[1], data, files)] = dump(_normalise(parts[1], data))
    for kind in KINDS:
        shutil.rmtree(bundle / kind, ignore_errors=True)
    for name, text in sorted(files.items()):
        path = bundle / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return {kind: sum(n.startswith(f"{kind}/") for n in files) for kind in KINDS}


def _file_name(kind: str, data: dict[str, Any], taken: dict[str, str]) -> str:
    title = {
        "databases": data.get("database_name"),
        "datasets": data.get("table_name"),
        "charts": data.get("slice_name"),
        "dashboards": data.get("dashboard_title"),
    }[kind]
    stem = re.sub(r"[^a-z0-9]+", "_", str(title).lower()).strip("_") or "unnamed"
    name = f"{kind}/{stem}.yaml"
    return f"{kind}/{stem}_{str(data['uuid'])[:8]}.yaml" if name in taken else name


def _normalise(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Take out what belongs to one Superset instance: the URI, ids, export times."""
    if kind == "databases":
        data["sqlalchemy_uri"] = URI_PLACEHOLDER
    elif kind == "charts":
        params = data.get("params") or {}
        for key in ("datasource", "slice_id"):
            params.pop(key, None)
        data["query_context"] = _unbind_context(data.get("query_context"))
    elif kind == "dashboards":
        for node in (data.get("position") or {}).values():
            if isinstance(node, dict) and node.get("type") == "CHART":
                node.get("meta", {})["chartId"] = 0
    return data
