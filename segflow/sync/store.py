"""The sync's own records in the warehouse: `sync_runs`, `sync_contacts`, the platform list's
members as last read (`sync_remote`), the segment's members as evaluated for a run
(`sync_desired`) and the salt of erased addresses' hashes."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import UTC, datetime

from segflow.warehouse import Warehouse

RUNS, CONTACTS, REMOTE, DESIRED, SALT = (
    "sync_runs",
    "sync_contacts",
    "sync_remote",
    "sync_desired",
    "sync_salt",
)
STATUSES = ("pending", "synced", "rejected", "removed", "holdout")


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_tables(wh: Warehouse) -> None:
    s, t, ts = wh.output_schema, "varchar", "timestamp"
    wh.execute(
        f"create table if not exists {s}.{RUNS} (run_id {t} primary key, sync {t} not null, "
        f"started_at {ts} not null, finished_at {ts}, build_run_id {t}, as_of date, "
        "adds integer, updates integer, removes integer, erasures integer, rejected integer, "
        f"status {t} not null, error {t})"
    )
    wh.execute(
        f"create table if not exists {s}.{CONTACTS} (sync {t} not null, customer_id {t} not "
        f"null, email {t}, email_hash {t}, status {t} not null, added_by_sync boolean not null, "
        f"holdout boolean not null, fields_hash {t}, pending_op {t}, pending_hash {t}, "
        f"platform_id {t}, last_sent {ts}, reason {t}, updated_at {ts} not null, "
        "primary key (sync, customer_id))"
    )
    wh.execute(
        f"create table if not exists {s}.{REMOTE} (sync {t} not null, email {t} not null, "
        f"platform_id {t}, fields_hash {t})"
    )
    wh.execute(
        f"create table if not exists {s}.{DESIRED} (sync {t} not null, customer_id {t} not "
        f"null, email {t}, in_segment boolean not null, consent boolean not null, "
        f"erased boolean not null, holdout boolean not null, payload {t}, fields_hash {t})"
    )
    wh.execute(f"create table if not exists {s}.{SALT} (salt {t} not null)")


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
