"""The sync's own records in the warehouse: `sync_runs`, `sync_contacts`, the platform list's
members as last read (`sync_remote`), the segment's members as evaluated for a run
(`sync_desired`) and the salt of erased addresses' hashes."""

from __future__ import annotations

import hashlib
import os
import secrets

from segflow.warehouse import Warehouse, tables

RUNS, CONTACTS, REMOTE, DESIRED, SALT = (table.name for table in tables.SYNC)
STATUSES = ("pending", "synced", "rejected", "removed", "holdout")


def ensure_tables(wh: Warehouse) -> None:
    wh.ensure_tables(tables.SYNC)


def salt(wh: Warehouse) -> str:
    """SEGFLOW_SYNC_SALT, or a random salt made once per warehouse and kept there."""
    configured = os.environ.get("SEGFLOW_SYNC_SALT", "").strip()
    if configured:
        return configured
    existing = wh.scalar(f"select salt from {wh.output_schema}.{SALT}")
    if existing:
        return str(existing)
    value = secrets.token_hex(16)
    wh.execute(f"insert into {wh.output_schema}.{SALT} (salt) values (?)", (value,))
    return value


def salted_hash(salt_value: str, email: str) -> str:
    return hashlib.sha256(f"{salt_value}:{email.strip().lower()}".encode()).hexdigest()


def fields_hash(values: list[str | None]) -> str:
    """The same hash the SQL computes: md5 of the values joined by the unit separator."""
    return hashlib.md5(payload(values).encode()).hexdigest()


def payload(values: list[str | None]) -> str:
    return "\x1f".join("" if v is None else str(v) for v in values)
