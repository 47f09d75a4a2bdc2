"""A hand-made published build for sync tests: customers' newest versions in
`staging.stg_customers`, a segment's members in `segment_membership`, and the publication
records, so each test states exactly who is a member and who consented."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from segflow.publication.publish import BUILDS, PUBLISHED
from segflow.warehouse import Warehouse


@dataclass
class Person:
    customer_id: str
    email: str | None
    first_name: str = "Ann"
    last_name: str = "Lee"
    email_opt_in: bool = True
    status: str = "active"
    is_erased: bool = False
    member: bool = True
    tier: str | None = None
    country: str = "DE"


def publish(wh: Warehouse, people: list[Person], segment: str = "vip") -> None:
    s = wh.output_schema
    wh.execute("create schema if not exists staging")
    wh.execute("drop table if exists staging.stg_customers")
    wh.execute(
        "create table staging.stg_customers (customer_id varchar, email varchar, first_name "
        "varchar, last_name varchar, gender varchar, birth_date date, signup_date date, "
        "signup_store varchar, language varchar, country varchar, postal_code varchar, "
        "app_user boolean, login_method varchar, email_opt_in boolean, status varchar, "
        "is_erased boolean, updated_at timestamp)"
    )
    wh.execute(f"drop table if exists {s}.segment_membership")
    wh.execute(
        f"create table {s}.segment_membership (segment varchar, tier varchar, "
        "customer_id varchar, as_of date)"
    )
    stamp = datetime(2026, 11, 30)
    for p in people:
        wh.execute(
            "insert into staging.stg_customers (customer_id, email, first_name, last_name, "
            "country, email_opt_in, status, is_erased, updated_at) values (?, ?, ?, ?, ?, ?, ?, "
            "?, ?)",
            (
                p.customer_id,
                None if p.is_erased else p.email,
                p.first_name,
                p.last_name,
                p.country,
                p.email_opt_in,
                p.status,
                p.is_erased,
                stamp,
            ),
        )
        if p.member:
            wh.execute(
                f"insert into {s}.segment_membership values (?, ?, ?, date '2026-11-30')",
                (segment, p.tier, p.customer_id),
            )
    wh.execute(
        f"create table if not exists {s}.{BUILDS} (slot varchar not null, run_id varchar not "
        "null, as_of date not null, built_at timestamp not null, published_at timestamp)"
    )
    wh.execute(
        f"create table if not exists {s}.{PUBLISHED} (schema_name varchar not null, "
        "relation varchar not null, slot varchar not null)"
    )
    if not wh.scalar(f"select count(*) from {s}.{PUBLISHED}"):
        now = datetime.now(UTC).replace(tzinfo=None)
        wh.execute(
            f"insert into {s}.{PUBLISHED} values (?, 'segment_membership', 'segflow_a')", (s,)
        )
        wh.execute(
            f"insert into {s}.{BUILDS} values ('segflow_a', 'run1', date '2026-11-30', ?, ?)",
            (now, now),
        )


def people(n: int, **kw) -> list[Person]:
    return [Person(f"C{i:05d}", f"c{i}@example.com", **kw) for i in range(n)]
