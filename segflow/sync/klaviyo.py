"""Klaviyo through the official SDK `klaviyo-api`: profile bulk import jobs with the list
relationship (at most 10,000 profiles a job), list members in cursor pages of 100, removal in
batches of 1,000, and data-privacy deletion jobs for erasure."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from segflow.sync.destination import Contact, Rejection, RemoteMember, RetryPolicy, Transient

DEFAULT_BASE_URL = "https://a.klaviyo.com"


def classify(exc: Exception) -> Transient | None:
    from openapi_client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    if isinstance(exc, ApiException):
        status = exc.status or 0
        if status == 429:
            header = (exc.headers or {}).get("Retry-After")
            return Transient("429", float(header) if header else None)
        if status >= 500:
            return Transient(str(status))
        return None
    if isinstance(exc, (HTTPError, ConnectionError)):
        return Transient(type(exc).__name__)
    return None


def _value(model: Any, name: str) -> Any:
    value = getattr(model, name, None)
    return value


class Klaviyo:
    upsert_batch = 10_000
    remove_batch = 1_000
    page_size = 100

    def __init__(self, api_key: str, base_url: str, retry: RetryPolicy):
        from klaviyo_api import KlaviyoAPI

        host = "" if base_url.rstrip("/") == DEFAULT_BASE_URL else base_url.rstrip("/")
        # max_retries=1: the SDK's own loop skips 500/502 and lost connections; ours covers all
        self.client = KlaviyoAPI(api_key, max_retries=1, max_delay=1, test_host=host)
        # urllib3 would also retry GETs on 429 (sleeping Retry-After) unseen: one loop decides
        from openapi_client.rest import RESTClientObject

        self.client.configuration.retries = False
        self.client.api_client.rest_client = RESTClientObject(self.client.configuration)
        self.retry = retry
        # each access of an SDK category builds its wrappers anew (~50 ms): keep them
        self.lists, self.profiles = self.client.Lists, self.client.Profiles
        self.privacy = self.client.Data_Privacy

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.retry.call(lambda: fn(*args, **kwargs), classify)

    def ensure_list(self, name: str, create: bool = True) -> str | None:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        found = self._call(self.lists.get_lists, filter=f'equals(name,"{quoted}")')
        for item in found.data or []:
            if item.attributes.name == name:
                return str(item.id)
        if not create:
            return None
        body = {"data": {"type": "list", "attributes": {"name": name}}}
        return str(self._call(self.lists.create_list, body).data.id)

    def members(self, list_id: str, fields: list[str]) -> Iterator[RemoteMember]:
        cursor: str | None = None
        while True:
            page = self._call(
                self.lists.get_profiles_for_list,
                list_id,
                page_size=self.page_size,
                page_cursor=cursor,
            )
            for item in page.data or []:
                attrs = item.attributes
                props = attrs.properties or {}
                values = {
                    f: (props.get(f[11:]) if f.startswith("properties.") else _value(attrs, f))
                    for f in fields
                }
                yield RemoteMember(str(attrs.email or "").lower(), item.id, values)
            nxt = page.links.next if page.links else None
            if not nxt:
                return
            # the SDK reads cursors only from https links: parse links.next ourselves
            cursor = parse_qs(urlsplit(nxt).query).get("page[cursor]", [None])[0]

    def upsert(self, list_id: str, contacts: list[Contact]) -> list[Rejection]:
        profiles = []
        for contact in contacts:
            attrs: dict[str, Any] = {"email": contact.email}
            props = {k[11:]: v for k, v in contact.fields.items() if k.startswith("properties.")}
            attrs.update({k: v for k, v in contact.fields.items() if "." not in k})
            if props:
                attrs["properties"] = props
            profiles.append({"type": "profile", "attributes": attrs})
        body = {
            "data": {
                "type": "profile-bulk-import-job",
                "attributes": {"profiles": {"data": profiles}},
                "relationships": {"lists": {"data": [{"type": "list", "id": list_id}]}},
            }
        }
        job = self._call(self.profiles.bulk_import_profiles, body).data
        polls = 0
        while job.attributes.status in ("queued", "processing"):  # jobs run asynchronously
            if polls:
                time.sleep(min(5.0, 0.2 * polls))
            polls += 1
            job = self._call(self.profiles.get_bulk_import_profiles_job, job.id).data
        if job.attributes.status != "complete":
            raise RuntimeError(f"Klaviyo import job {job.id} ended {job.attributes.status}")
        if not job.attributes.failed_count:
            return []
        rejections, cursor = [], None
        while True:
            page = self._call(
                self.profiles.get_errors_for_bulk_import_profiles_job,
                job.id,
                page_size=self.page_size,
                page_cursor=cursor,
            )
            for error in page.data or []:
                payload = error.attributes.original_payload or {}
                reason = f"{error.attributes.code}: {error.attributes.detail}"
                rejections.append(Rejection(str(payload.get("email", "")).lower(), reason))
            nxt = page.links.next if page.links else None
            if not nxt:
                return rejections
            cursor = parse_qs(urlsplit(nxt).query).get("page[cursor]", [None])[0]

    def remove(self, list_id: str, members: list[tuple[str, str | None]]) -> None:
        data = [{"type": "profile", "id": pid} for _, pid in members if pid]
        if data:
            self._call(self.lists.remove_profiles_from_list, list_id, {"data": data})

    def erase(self, list_id: str, email: str, platform_id: str | None) -> None:
        if platform_id:
            self.remove(list_id, [(email, platform_id)])
        body = {
            "data": {
                "type": "data-privacy-deletion-job",
                "attributes": {
                    "profile": {"data": {"type": "profile", "attributes": {"email": email}}}
                },
            }
        }
        self._call(self.privacy.request_profile_deletion, body)
