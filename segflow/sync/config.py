"""Destinations from the environment: API keys and base URLs never come from YAML."""

from __future__ import annotations

import os

from segflow.errors import SettingsError
from segflow.sync.destination import Destination, RetryPolicy
from segflow.sync.model import SyncDefinition

KEYS = {"klaviyo": "KLAVIYO_API_KEY", "mailchimp": "MAILCHIMP_API_KEY"}


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def destination_for(sync: SyncDefinition, retry: RetryPolicy | None = None) -> Destination | None:
    """The platform client for a sync, or None when its API key is not set."""
    key = _env(KEYS[sync.destination])
    if not key:
        return None
    retry = retry or RetryPolicy()
    if sync.destination == "klaviyo":
        from segflow.sync.klaviyo import DEFAULT_BASE_URL, Klaviyo

        return Klaviyo(key, _env("KLAVIYO_BASE_URL") or DEFAULT_BASE_URL, retry)
    from segflow.sync.mailchimp import Mailchimp

    prefix = _env("MAILCHIMP_SERVER_PREFIX") or (key.rsplit("-", 1)[-1] if "-" in key else "")
    base = _env("MAILCHIMP_BASE_URL")
    if not prefix and not base:
        raise SettingsError("MAILCHIMP_SERVER_PREFIX is not set (the part after '-' of the key)")
    return Mailchimp(key, prefix, base, retry)
