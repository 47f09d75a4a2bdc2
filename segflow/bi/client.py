"""Superset's REST API, as `segflow dashboards import/export` and the tests use it.

Logs in with the admin credentials (JWT) and keeps the session cookie for the CSRF token
that Superset asks for on every write.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from segflow.bi.environment import Credentials, SupersetError


class SupersetClient:
    def __init__(self, url: str, credentials: Credentials, timeout: float = 120) -> None:
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout
        self.session = requests.Session()

    def wait_until_up(self, seconds: float = 120, process=None) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise SupersetError(f"Superset stopped while starting (exit {process.returncode})")
            try:
                if self.session.get(f"{self.url}/health", timeout=30).ok:
                    return
            except requests.RequestException:  # not listening yet, or still loading the app
                pass
            time.sleep(1)
        raise SupersetError(f"Superset did not answer at {self.url} within {seconds:.0f} s")

    def login(self) -> None:
        try:
            response = self.session.post(
                f"{self.url}/api/v1/security/login",
                json={
                    "username": self.credentials.user,
                    "password": self.credentials.password,
                    "provider": "db",
                    "refresh": True,
                },
                timeout=self.timeout,
            )
        except requests.ConnectionError:
            raise SupersetError(f"Superset is not reachable at {self.url}") from None
        if response.status_code != 200:
            raise SupersetError(
                f"Superset at {self.url} refused the login of {self.credentials.user!r} "
                f"({response.status_code}): set SUPERSET_ADMIN_USER and SUPERSET_ADMIN_PASSWORD"
            )
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        csrf = self.get("/api/v1/security/csrf_token/")["result"]
        self.session.headers["X-CSRFToken"] = csrf
        self.session.headers["Referer"] = self.url

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.url}{path}", timeout=self.timeout, **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        response = self.request("GET", path, params=params or None)
        _raise_for(response, f"GET {path}")
        return response.json()

    def put(self, path: str, body: dict[str, Any]) -> Any:
        response = self.request("PUT", path, json=body)
        _raise_for(response, f"PUT {path}")
        return response.json()

    def list_all(self, resource: str, columns: list[str]) -> list[dict[str, Any]]:
        """Every row of /api/v1/<resource>/ with the given columns (paged)."""
        rows: list[dict[str, Any]] = []
        page = 0
        while True:
            query = {"columns": columns, "page": page, "page_size": 100}
            result = self.get(f"/api/v1/{resource}/", q=_rison(query))["result"]
            rows.extend(result)
            if len(result) < 100:
                return rows
            page += 1

    def import_bundle(self, resource: str, zip_bytes: bytes, passwords: dict[str, str]) -> None:
        """POST /api/v1/<resource>/import/, overwriting the resource's existing objects."""
        response = self.request(
            "POST",
            f"/api/v1/{resource}/import/",
            files={"formData": ("bundle.zip", zip_bytes, "application/zip")},
            data={"overwrite": "true", "passwords": json.dumps(passwords)},
        )
        if response.status_code != 200:
            raise SupersetError(f"Superset refused the bundle's {resource}s: {_message(response)}")

    def export_dashboards(self, ids: list[int]) -> bytes:
        response = self.request("GET", "/api/v1/dashboard/export/", params={"q": _rison(ids)})
        _raise_for(response, "export")
        return response.content


def _raise_for(response: requests.Response, what: str) -> None:
    if response.status_code >= 400:
        raise SupersetError(
            f"Superset {what} failed ({response.status_code}): {_message(response)}"
        )


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    errors = body.get("errors")
    if errors:
        return "; ".join(_describe(e) for e in errors)[:2000]
    return str(body.get("message", body))[:2000]


def _describe(error: dict[str, Any]) -> str:
    extra = error.get("extra") or {}
    details = {k: v for k, v in extra.items() if k not in ("issue_codes",)}
    return f"{error.get('message', '')} {json.dumps(details)[:1500] if details else ''}".strip()


def _rison(value: Any) -> str:
    """Rison, the query encoding of Superset's list endpoints (enough of it for ours)."""
    if isinstance(value, bool):
        return "!t" if value else "!f"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("!", "!!").replace("'", "!'") + "'"
    if isinstance(value, list):
        return "!(" + ",".join(_rison(v) for v in value) + ")"
    if isinstance(value, dict):
        return "(" + ",".join(f"{k}:{_rison(v)}" for k, v in value.items()) + ")"
    raise TypeError(f"cannot encode {value!r} as rison")
