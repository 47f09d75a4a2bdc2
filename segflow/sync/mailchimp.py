"""Mailchimp through the official SDK `mailchimp-marketing`: batch subscribe/update of at most
500 members (`POST /lists/{id}`, existing members' status never changed: an opt-out on the
platform stays an opt-out), members in offset pages of 1,000, archive to remove, permanent
deletion for erasure. The SDK has no retries: every call goes through the retry policy."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from typing import Any

from segflow.errors import SettingsError
from segflow.sync.destination import Contact, Rejection, RemoteMember, RetryPolicy, Transient

ON_LIST = ("subscribed", "pending")


def subscriber_hash(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


def classify(exc: Exception) -> Transient | None:
    from mailchimp_marketing.api_client import ApiClientError

    if isinstance(exc, ApiClientError):
        status = exc.status_code
        if status is None or status == 429 or status >= 500:  # no answer, throttled, 5xx
            return Transient(str(status))
    return None


class Mailchimp:
    upsert_batch = 500
    remove_batch = 500
    page_size = 1000

    def __init__(self, api_key: str, server_prefix: str, base_url: str, retry: RetryPolicy):
        import mailchimp_marketing

        self.client = mailchimp_marketing.Client()
        self.client.set_config({"api_key": api_key, "server": server_prefix or "us1"})
        if base_url:
            self.client.api_client.host = base_url.rstrip("/")
        self.retry = retry

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.retry.call(lambda: fn(*args, **kwargs), classify)

    def ensure_list(self, name: str, create: bool = True) -> str | None:
        offset = 0
        while True:
            page = self._call(self.client.lists.get_all_lists, count=self.page_size, offset=offset)
            for item in page.get("lists", []):
                if item["name"] == name:
                    return str(item["id"])
            offset += self.page_size
            if offset >= page.get("total_items", 0):
                break
        if not create:
            return None
        defaults = os.environ.get("MAILCHIMP_LIST_DEFAULTS", "").strip()
        if not defaults:
            raise SettingsError(
                f"Mailchimp has no audience {name!r}: create it, or set MAILCHIMP_LIST_DEFAULTS "
                "(JSON with contact, permission_reminder, campaign_defaults) to create it"
            )
        body = {"name": name, "email_type_option": False, **json.loads(defaults)}
        return str(self._call(self.client.lists.create_list, body)["id"])

    def members(self, list_id: str, fields: list[str]) -> Iterator[RemoteMember]:
        offset = 0
        while True:
            page = self._call(
                self.client.lists.get_list_members_info,
                list_id,
                count=self.page_size,
                offset=offset,
            )
            for m in page.get("members", []):
                if m.get("status") in ON_LIST:
                    merge = m.get("merge_fields") or {}
                    values = {f: (merge.get(f) or None) for f in fields}
                    yield RemoteMember(m["email_address"].lower(), m["id"], values)
            offset += self.page_size
            if offset >= page.get("total_items", 0):
                return

    def upsert(self, list_id: str, contacts: list[Contact]) -> list[Rejection]:
        body = {
            "members": [
                {
                    "email_address": c.email,
                    "status_if_new": "subscribed",
                    "merge_fields": {k: v or "" for k, v in c.fields.items()},
                }
                for c in contacts
            ],
            "update_existing": True,
        }
        answer = self._call(self.client.lists.batch_list_members, list_id, body)
        rejections = [
            Rejection(e["email_address"].lower(), f"{e.get('error_code')}: {e.get('error')}")
            for e in answer.get("errors", [])
        ]
        for m in answer.get("updated_members", []):
            if m.get("status") not in ON_LIST:  # opted out on the platform: never re-subscribed
                rejections.append(
                    Rejection(m["email_address"].lower(), f"{m['status']} on Mailchimp")
                )
        return rejections

    def remove(self, list_id: str, members: list[tuple[str, str | None]]) -> None:
        from mailchimp_marketing.api_client import ApiClientError

        for email, _ in members:
            try:
                self._call(self.client.lists.delete_list_member, list_id, subscriber_hash(email))
            except ApiClientError as exc:
                if exc.status_code != 404:  # already gone: the work is done
                    raise

    def erase(self, list_id: str, email: str, platform_id: str | None) -> None:
        from mailchimp_marketing.api_client import ApiClientError

        try:
            self._call(
                self.client.lists.delete_list_member_permanent, list_id, subscriber_hash(email)
            )
        except ApiClientError as exc:
            if exc.status_code != 404:
                raise
