"""A local double of the Klaviyo API subset syncs use (revision 2026-10-15, JSON:API).

Lists (find by name, create), list members (cursor pages of at most 100), profile bulk import
jobs (at most 10,000 profiles, with the list relationship; per-record import errors), removal
from a list (at most 1,000 profiles) and data-privacy deletion jobs. Every request needs
`Authorization: Klaviyo-API-Key <key>` and a `revision` header; bodies must be JSON:API.
Rate limits follow the documented tiers (burst per second, steady per minute) when enabled.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from segflow.sync.doubles.base import Double, HttpError, Request

MAX_IMPORT = 10_000
MAX_REMOVE = 1_000
MAX_PAGE = 100
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
ATTRIBUTES = ("first_name", "last_name", "external_id", "organization", "title", "locale")
# Documented tiers: (burst per second, steady per minute).
TIERS = {"XS": (1, 15), "S": (3, 60), "M": (10, 150), "L": (75, 700)}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class KlaviyoDouble(Double):
    content_type = "application/vnd.api+json"

    def __init__(self, api_key: str = "pk_test_double", rate_limits: bool = False):
        super().__init__()
        self.api_key = api_key
        self.profiles: dict[str, dict[str, Any]] = {}  # id -> attributes (email, properties)
        self.by_email: dict[str, str] = {}
        self.members: dict[str, dict[str, str]] = {}  # list id -> profile id -> joined at
        self.jobs: dict[str, dict[str, Any]] = {}
        self.suppressed: set[str] = set()  # addresses the platform refuses (per record)
        self.deletions: list[str] = []  # addresses whose deletion was requested
        self.imported = 0  # profiles received in import jobs
        self._ids = itertools.count(1)
        self._pages: dict[str, list[tuple[str, str]] | None] = {}
        r = self.route
        r("GET", "/api/lists", self.get_lists, "L")
        r("POST", "/api/lists", self.create_list, "M")
        r("GET", "/api/lists/{id}/profiles", self.list_profiles, "L")
        r("DELETE", "/api/lists/{id}/relationships/profiles", self.remove_profiles, "M")
        r("POST", "/api/profile-bulk-import-jobs", self.create_job, "M")
        r("GET", "/api/profile-bulk-import-jobs/{id}", self.get_job, "L")
        r("GET", "/api/profile-bulk-import-jobs/{id}/import-errors", self.job_errors, "L")
        r("POST", "/api/data-privacy-deletion-jobs", self.delete_profile, "S")
        if rate_limits:
            for tier, (burst, per_minute) in TIERS.items():
                self.rate_limit(tier, burst, per_minute / 60)

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    # -- protocol ------------------------------------------------------------------------------
    def error_body(self, status: int, detail: str) -> Any:
        return {
            "errors": [
                {
                    "id": "double",
                    "status": status,
                    "code": "error",
                    "title": detail,
                    "detail": detail,
                    "source": {"pointer": "/data/"},
                }
            ]
        }

    def authenticate(self, request: Request) -> None:
        if request.headers.get("Authorization") != f"Klaviyo-API-Key {self.api_key}":
            raise HttpError(401, self.error_body(401, "Incorrect authentication credentials."))
        revision = request.headers.get("revision") or ""
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(\.pre)?", revision):
            raise HttpError(400, self.error_body(400, "Missing or invalid revision header."))
        if request.body is not None:
            kind = request.headers.get("Content-Type") or ""
            if "json" not in kind:
                raise HttpError(415, self.error_body(415, "Unsupported media type."))
            if not isinstance(request.body, dict) or "data" not in request.body:
                raise HttpError(400, self.error_body(400, "A JSON:API document needs data."))

    def _list(self, list_id: str) -> dict[str, Any]:
        if list_id not in self.lists:
            raise HttpError(404, self.error_body(404, f"No list {list_id}."))
        return self.lists[list_id]

    def _list_resource(self, list_id: str) -> dict[str, Any]:
        item = self.lists[list_id]
        return {
            "type": "list",
            "id": list_id,
            "attributes": {
                "name": item["name"],
                "created": item["created"],
                "updated": item["created"],
                "opt_in_process": "single_opt_in",
            },
            "relationships": {},
            "links": {"self": f"{self.base}/api/lists/{list_id}/"},
        }

    # -- lists ---------------------------------------------------------------------------------
    def get_lists(self, request: Request) -> tuple[int, Any]:
        wanted = None
        match = re.fullmatch(r'equals\(name,"(.*)"\)', request.arg("filter") or "")
        if match:
            wanted = match.group(1).replace('\\"', '"')
        found = [i for i, v in self.lists.items() if wanted is None or v["name"] == wanted]
        return 200, {
            "data": [self._list_resource(i) for i in found[:10]],
            "links": {"self": f"{self.base}/api/lists/"},
        }

    def create_list(self, request: Request) -> tuple[int, Any]:
        data = request.body["data"]
        name = (data.get("attributes") or {}).get("name")
        if data.get("type") != "list" or not name:
            raise HttpError(400, self.error_body(400, "A list needs a name."))
        list_id = self._id("L")
        self.lists[list_id] = {"name": name, "created": _now()}
        self.members[list_id] = {}
        return 201, {"data": self._list_resource(list_id)}

    def list_profiles(self, request: Request) -> tuple[int, Any]:
        list_id = request.params["id"]
        self._list(list_id)
        size = int(request.arg("page[size]", "20") or 20)
        if not 1 <= size <= MAX_PAGE:
            raise HttpError(400, self.error_body(400, f"page[size] must be 1..{MAX_PAGE}."))
        start = int(request.arg("page[cursor]", "0") or 0)
        if start == 0 or self._pages.get(list_id) is None:  # a listing sees one snapshot
            self._pages[list_id] = sorted(self.members[list_id].items())
        members = self._pages[list_id] or []
        page = members[start : start + size]
        data = []
        for profile_id, joined in page:
            attrs = self.profiles[profile_id]
            data.append(
                {
                    "type": "profile",
                    "id": profile_id,
                    "attributes": {
                        **{k: attrs.get(k) for k in ("email", *ATTRIBUTES)},
                        "properties": dict(attrs.get("properties", {})),
                        "joined_group_at": joined,
                    },
                    "links": {"self": f"{self.base}/api/profiles/{profile_id}/"},
                }
            )
        links = {"self": f"{self.base}{request.path}"}
        if start + size < len(members):
            query = {k: v[0] for k, v in request.query.items()}
            query["page[cursor]"] = str(start + size)
            links["next"] = f"{self.base}{request.path}?{urlencode(query)}"
        return 200, {"data": data, "links": links}

    def remove_profiles(self, request: Request) -> tuple[int, Any]:
        list_id = request.params["id"]
        self._list(list_id)
        items = request.body["data"]
        if len(items) > MAX_REMOVE:
            raise HttpError(400, self.error_body(400, f"At most {MAX_REMOVE} profiles."))
        for item in items:
            self.members[list_id].pop(item.get("id"), None)
        return 204, None

    # -- profile import jobs -------------------------------------------------------------------
    def create_job(self, request: Request) -> tuple[int, Any]:
        data = request.body["data"]
        profiles = ((data.get("attributes") or {}).get("profiles") or {}).get("data") or []
        if data.get("type") != "profile-bulk-import-job" or not profiles:
            raise HttpError(400, self.error_body(400, "A profile-bulk-import-job needs profiles."))
        if len(profiles) > MAX_IMPORT:
            raise HttpError(413, self.error_body(413, f"At most {MAX_IMPORT} profiles per job."))
        lists = (((data.get("relationships") or {}).get("lists") or {}).get("data")) or []
        for item in lists:
            self._list(item["id"])
        errors = []
        for index, profile in enumerate(profiles):
            attrs = profile.get("attributes") or {}
            email = str(attrs.get("email") or "").strip().lower()
            pointer = f"/data/attributes/profiles/data/{index}/attributes/email"
            if not EMAIL.match(email):
                errors.append(("invalid", "Invalid email address", pointer, attrs))
                continue
            if email in self.suppressed:
                errors.append(("suppressed", "Profile is suppressed", pointer, attrs))
                continue
            self.imported += 1
            profile_id = self.by_email.get(email)
            if profile_id is None:
                profile_id = self.by_email[email] = self._id("P")
                self.profiles[profile_id] = {"email": email, "properties": {}}
            stored = self.profiles[profile_id]
            for key in ATTRIBUTES:
                if key in attrs:
                    stored[key] = attrs[key]
            stored["properties"].update(attrs.get("properties") or {})
            for item in lists:
                self.members[item["id"]].setdefault(profile_id, _now())
        job_id = self._id("J")
        self.jobs[job_id] = {"total": len(profiles), "errors": errors, "created": _now()}
        # the work is done at once, but a job is reported queued until it is asked about
        return 202, {"data": self._job_resource(job_id, "queued")}

    def _job_resource(self, job_id: str, status: str = "complete") -> dict[str, Any]:
        job = self.jobs[job_id]
        failed = len(job["errors"])
        return {
            "type": "profile-bulk-import-job",
            "id": job_id,
            "attributes": {
                "status": status,
                "created_at": job["created"],
                "total_count": job["total"],
                "completed_count": job["total"] - failed,
                "failed_count": failed,
                "completed_at": job["created"],
                "started_at": job["created"],
            },
            "links": {"self": f"{self.base}/api/profile-bulk-import-jobs/{job_id}/"},
        }

    def get_job(self, request: Request) -> tuple[int, Any]:
        if request.params["id"] not in self.jobs:
            raise HttpError(404, self.error_body(404, "No such job."))
        return 200, {"data": self._job_resource(request.params["id"])}

    def job_errors(self, request: Request) -> tuple[int, Any]:
        job = self.jobs.get(request.params["id"])
        if job is None:
            raise HttpError(404, self.error_body(404, "No such job."))
        size = int(request.arg("page[size]", "20") or 20)
        if not 1 <= size <= MAX_PAGE:
            raise HttpError(400, self.error_body(400, f"page[size] must be 1..{MAX_PAGE}."))
        start = int(request.arg("page[cursor]", "0") or 0)
        data = [
            {
                "type": "import-error",
                "id": f"{request.params['id']}-{start + i}",
                "attributes": {
                    "code": code,
                    "title": title,
                    "detail": title,
                    "source": {"pointer": pointer},
                    "original_payload": attrs,
                },
            }
            for i, (code, title, pointer, attrs) in enumerate(job["errors"][start : start + size])
        ]
        links = {"self": f"{self.base}{request.path}"}
        if start + size < len(job["errors"]):
            query = {k: v[0] for k, v in request.query.items()} | {"page[cursor]": start + size}
            links["next"] = f"{self.base}{request.path}?{urlencode(query)}"
        return 200, {"data": data, "links": links}

    # -- data privacy --------------------------------------------------------------------------
    def delete_profile(self, request: Request) -> tuple[int, Any]:
        data = request.body["data"]
        profile = (((data.get("attributes") or {}).get("profile") or {}).get("data")) or {}
        email = str((profile.get("attributes") or {}).get("email") or "").lower()
        profile_id = profile.get("id") or self.by_email.get(email)
        if data.get("type") != "data-privacy-deletion-job" or not (email or profile_id):
            raise HttpError(400, self.error_body(400, "A deletion job needs a profile."))
        self.deletions.append(email or str(profile_id))
        if profile_id in self.profiles:
            self.by_email.pop(self.profiles.pop(profile_id)["email"], None)
            for members in self.members.values():
                members.pop(profile_id, None)
        return 202, None

    # -- for tests -----------------------------------------------------------------------------
    def emails(self, name: str) -> set[str]:
        list_id = self.list_id(name)
        if list_id is None:
            return set()
        return {self.profiles[p]["email"] for p in self.members[list_id]}

    def add_by_hand(self, name: str, email: str, **attrs: Any) -> None:
        """What a CRM user does in the platform's UI."""
        list_id = (
            self.list_id(name)
            or self.create_list(
                Request(
                    "POST", "", {}, {}, {"data": {"type": "list", "attributes": {"name": name}}}
                )
            )[1]["data"]["id"]
        )
        profile_id = self.by_email.get(email) or self._id("P")
        self.by_email[email] = profile_id
        self.profiles.setdefault(profile_id, {"email": email, "properties": {}}).update(attrs)
        self.members[list_id][profile_id] = _now()

    def remove_by_hand(self, name: str, email: str) -> None:
        list_id = self.list_id(name)
        if list_id:
            self.members[list_id].pop(self.by_email.get(email, ""), None)
