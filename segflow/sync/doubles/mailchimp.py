"""A local double of the Mailchimp Marketing API 3.0 subset syncs use.

Lists (offset pages, create), the batch subscribe/update endpoint `POST /lists/{id}` (at most
500 members; per-member errors in `errors`), members in offset pages (`count` at most 1,000),
archiving a member and permanent deletion. Members are addressed by the md5 of the lower-cased
address. HTTP Basic auth with the API key; at most 10 simultaneous connections (429 beyond).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from typing import Any

from segflow.sync.doubles.base import Double, HttpError, Request

MAX_BATCH = 500
MAX_COUNT = 1000
MAX_CONNECTIONS = 10
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


class MailchimpDouble(Double):
    def __init__(self, api_key: str = "0123456789abcdef-us1"):
        super().__init__()
        self.api_key = api_key
        self.members: dict[str, dict[str, dict[str, Any]]] = {}  # list -> hash -> member
        self.deleted: list[str] = []  # permanently deleted addresses
        self.received = 0  # members received in batches
        self.in_flight = 0
        self._pages: dict[tuple[str, str | None], list[dict[str, Any]] | None] = {}
        self._ids = itertools.count(1)
        r = self.route
        r("GET", "/3.0/lists", self.get_lists)
        r("POST", "/3.0/lists", self.create_list)
        r("POST", "/3.0/lists/{id}", self.batch)
        r("GET", "/3.0/lists/{id}/members", self.get_members)
        r("DELETE", "/3.0/lists/{id}/members/{hash}", self.archive)
        r("POST", "/3.0/lists/{id}/members/{hash}/actions/delete-permanent", self.delete)

    def error_body(self, status: int, detail: str) -> Any:
        return {
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": detail,
            "status": status,
            "detail": detail,
            "instance": "",
        }

    def authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization") or ""
        ok = False
        if header.startswith("Basic "):
            try:
                _, _, key = base64.b64decode(header[6:]).decode().partition(":")
                ok = key == self.api_key
            except ValueError:
                ok = False
        if not ok:
            raise HttpError(401, self.error_body(401, "API Key Invalid"))

    def _dispatch(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            self.in_flight += 1
            busy = self.in_flight > MAX_CONNECTIONS
        try:
            if busy:
                return 429, self.error_body(429, "Too Many Requests"), {}
            return super()._dispatch(request)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _list(self, list_id: str) -> dict[str, dict[str, Any]]:
        if list_id not in self.lists:
            raise HttpError(404, self.error_body(404, "The requested resource could not be found."))
        return self.members[list_id]

    def get_lists(self, request: Request) -> tuple[int, Any]:
        count = min(int(request.arg("count", "10") or 10), MAX_COUNT)
        offset = int(request.arg("offset", "0") or 0)
        items = [
            {"id": i, "name": v["name"], "stats": {"member_count": len(self.members[i])}}
            for i, v in self.lists.items()
        ]
        return 200, {"lists": items[offset : offset + count], "total_items": len(items)}

    def create_list(self, request: Request) -> tuple[int, Any]:
        body = request.body or {}
        missing = [
            k
            for k in (
                "name",
                "contact",
                "permission_reminder",
                "campaign_defaults",
                "email_type_option",
            )
            if k not in body
        ]
        if missing:
            raise HttpError(400, self.error_body(400, f"Missing: {', '.join(missing)}"))
        list_id = f"{next(self._ids):010x}"
        self.lists[list_id] = {"name": body["name"]}
        self.members[list_id] = {}
        return 200, {"id": list_id, "name": body["name"]}

    def batch(self, request: Request) -> tuple[int, Any]:
        members = self._list(request.params["id"])
        body = request.body or {}
        items = body.get("members") or []
        if len(items) > MAX_BATCH:
            raise HttpError(400, self.error_body(400, f"At most {MAX_BATCH} members per batch."))
        new, updated, errors = [], [], []
        for item in items:
            email = str(item.get("email_address") or "").strip().lower()
            if not EMAIL.match(email):
                errors.append(
                    {
                        "email_address": email,
                        "error": f"{email} looks fake or invalid",
                        "error_code": "ERROR_GENERIC",
                        "field": "email_address",
                        "field_message": "invalid",
                    }
                )
                continue
            self.received += 1
            key = subscriber_hash(email)
            existing = members.get(key)
            if existing is not None and existing["status"] == "archived":
                existing = None  # an archived contact comes back as a new one
            if existing is not None and not body.get("update_existing"):
                errors.append(
                    {
                        "email_address": email,
                        "error": f"{email} is already a list member",
                        "error_code": "ERROR_CONTACT_EXISTS",
                        "field": "",
                        "field_message": "",
                    }
                )
                continue
            if existing is None:
                existing = members[key] = {
                    "id": key,
                    "email_address": email,
                    "status": item.get("status_if_new") or item.get("status") or "subscribed",
                    "merge_fields": {},
                }
                new.append(existing)
            else:
                if item.get("status"):
                    existing["status"] = item["status"]
                updated.append(existing)
            existing["merge_fields"].update(item.get("merge_fields") or {})
        return 200, {
            "new_members": new,
            "updated_members": updated,
            "errors": errors,
            "total_created": len(new),
            "total_updated": len(updated),
            "error_count": len(errors),
        }

    def get_members(self, request: Request) -> tuple[int, Any]:
        members = self._list(request.params["id"])
        count = int(request.arg("count", "10") or 10)
        if count > MAX_COUNT:
            raise HttpError(400, self.error_body(400, f"count must be at most {MAX_COUNT}"))
        offset = int(request.arg("offset", "0") or 0)
        status = request.arg("status")
        snapshot = (request.params["id"], status)
        if offset == 0 or self._pages.get(snapshot) is None:  # a listing sees one snapshot
            self._pages[snapshot] = [
                m
                for _, m in sorted(members.items())
                if m["status"] != "archived" and (status is None or m["status"] == status)
            ]
        rows = self._pages[snapshot] or []
        return 200, {
            "members": rows[offset : offset + count],
            "total_items": len(rows),
            "list_id": request.params["id"],
        }

    def archive(self, request: Request) -> tuple[int, Any]:
        members = self._list(request.params["id"])
        if request.params["hash"] not in members:
            raise HttpError(404, self.error_body(404, "The requested resource could not be found."))
        members[request.params["hash"]]["status"] = "archived"
        return 204, None

    def delete(self, request: Request) -> tuple[int, Any]:
        members = self._list(request.params["id"])
        member = members.pop(request.params["hash"], None)
        if member is None:
            raise HttpError(404, self.error_body(404, "The requested resource could not be found."))
        self.deleted.append(member["email_address"])
        return 204, None

    # -- for tests -----------------------------------------------------------------------------
    def emails(self, name: str) -> set[str]:
        list_id = self.list_id(name)
        if list_id is None:
            return set()
        return {
            m["email_address"]
            for m in self.members[list_id].values()
            if m["status"] == "subscribed"
        }

    def add_by_hand(self, name: str, email: str, status: str = "subscribed", **merge: Any) -> None:
        list_id = self.list_id(name)
        if list_id is None:
            list_id = f"{next(self._ids):010x}"
            self.lists[list_id], self.members[list_id] = {"name": name}, {}
        self.members[list_id][subscriber_hash(email)] = {
            "id": subscriber_hash(email),
            "email_address": email,
            "status": status,
            "merge_fields": dict(merge),
        }
