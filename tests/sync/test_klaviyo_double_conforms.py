"""The Klaviyo double's requests and answers, during real syncs, validated against the
operations of Klaviyo's published OpenAPI description (the subset in
klaviyo_openapi_subset.json, extracted by make_klaviyo_subset.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from segflow.sync.destination import RetryPolicy
from segflow.sync.doubles.klaviyo import KlaviyoDouble
from segflow.sync.klaviyo import Klaviyo
from segflow.sync.model import SyncDefinition
from segflow.sync.run import run_sync
from segflow.warehouse import open_warehouse
from tests.sync.helpers import Person, people, publish

SUBSET = json.loads(Path(__file__).with_name("klaviyo_openapi_subset.json").read_text())


def _json_schema(node):
    """OpenAPI 3.0 `nullable` as JSON Schema."""
    if isinstance(node, dict):
        out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable"):
            return {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_json_schema(v) for v in node]
    return node


COMPONENTS = _json_schema(SUBSET["components"])


def _operation(method: str, path: str) -> dict:
    for template, ops in SUBSET["paths"].items():
        pattern = "^" + re.sub(r"\{\w+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in ops:
            return ops[method.lower()]
    raise AssertionError(f"{method} {path} is no operation of Klaviyo's API description")


def _validate(instance, schema) -> None:
    jsonschema.Draft7Validator({**_json_schema(schema), "components": COMPONENTS}).validate(
        instance
    )


@pytest.mark.parametrize("engine", ["duckdb"])
def test_every_exchange_of_a_sync_conforms_to_the_published_description(project):
    double = KlaviyoDouble()
    double.start()
    double.record = True
    double.suppressed.add("c3@example.com")
    sync = SyncDefinition.model_validate(
        {
            "segment": "vip",
            "destination": "klaviyo",
            "list": "VIP",
            "fields": {"first_name": "first_name", "properties.country": "country"},
        }
    )
    dest = Klaviyo(double.api_key, double.base, RetryPolicy(attempts=1))
    dest.page_size = 2  # several pages, so next links are exercised
    with open_warehouse(project) as wh:
        publish(wh, people(6) + [Person("X1", "bad@address")])
        run_sync(wh, "vip", sync, dest)
        crowd = people(6)
        crowd[0].member = False
        crowd[1].is_erased = True
        crowd[2].first_name = "Changed"
        publish(wh, crowd)
        run_sync(wh, "vip", sync, dest, allow_removals=True)
    double.stop()
    checked = set()
    for method, path, body, status, payload in double.exchanges:
        op = _operation(method, path)
        if body is not None and op["request"]:
            _validate(body, op["request"])
        assert str(status) in op["responses"], (method, path, status)
        schema = op["responses"][str(status)]
        if schema:
            _validate(payload, schema)
        else:
            assert payload is None
        checked.add((method, re.sub(r"/[A-Z]\d{8}", "/{id}", path)))
    assert len(checked) == 8, checked  # every operation the double serves was exercised
