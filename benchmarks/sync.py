"""Sync benchmark: a first sync of N contacts and a nightly sync with 1 % change, against the
local Klaviyo double with Klaviyo's documented rate limits (burst per second, steady per
minute), through the official SDK. Prints requests, seconds and the share of time spent
waiting on rate limits (429 + Retry-After).

    .venv/bin/python benchmarks/sync.py            # --contacts 100000 --destination klaviyo
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from segflow.publication.publish import BUILDS, PUBLISHED
from segflow.settings import load_settings
from segflow.sync.destination import RetryPolicy
from segflow.sync.doubles.klaviyo import KlaviyoDouble
from segflow.sync.doubles.mailchimp import MailchimpDouble
from segflow.sync.klaviyo import Klaviyo
from segflow.sync.mailchimp import Mailchimp
from segflow.sync.model import SyncDefinition
from segflow.sync.run import run_sync
from segflow.warehouse import Warehouse, open_warehouse


def make_warehouse(wh: Warehouse, contacts: int) -> None:
    s = wh.output_schema
    wh.execute("create schema if not exists staging")
    wh.execute(
        "create table staging.stg_customers as select 'C' || lpad(cast(i as varchar), 7, '0') "
        "as customer_id, 'c' || cast(i as varchar) || '@example.com' as email, 'Name' || "
        "cast(i % 1000 as varchar) as first_name, 'X' as last_name, 'DE' as country, "
        "true as email_opt_in, 'active' as status, false as is_erased, "
        f"timestamp '2026-11-30 10:00:00' as updated_at from range({contacts}) t(i)"
    )
    wh.execute(
        f"create table {s}.segment_membership as select 'vip' as segment, "
        "cast(null as varchar) as tier, customer_id, date '2026-11-30' as as_of "
        "from staging.stg_customers"
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    wh.execute(
        f"create table {s}.{BUILDS} (slot varchar, run_id varchar, as_of date, "
        "built_at timestamp, published_at timestamp)"
    )
    wh.execute(
        f"create table {s}.{PUBLISHED} (schema_name varchar, relation varchar, slot varchar)"
    )
    wh.execute(f"insert into {s}.{PUBLISHED} values (?, 'segment_membership', 'segflow_a')", (s,))
    wh.execute(
        f"insert into {s}.{BUILDS} values ('segflow_a', 'r1', date '2026-11-30', ?, ?)", (now, now)
    )


def change_one_percent(wh: Warehouse, contacts: int) -> None:
    """0.5 % change a mapped field, 0.25 % leave the segment, 0.25 % new members join."""
    s, step = wh.output_schema, 200
    wh.execute(
        "update staging.stg_customers set first_name = 'Changed' "
        f"where cast(substr(customer_id, 2) as integer) % {step} = 0"
    )
    wh.execute(
        f"delete from {s}.segment_membership "
        f"where cast(substr(customer_id, 2) as integer) % {step * 2} = 1"
    )
    joined = contacts // (step * 2)
    wh.execute(
        "insert into staging.stg_customers select 'N' || lpad(cast(i as varchar), 7, '0'), "
        "'n' || cast(i as varchar) || '@example.com', 'New', 'X', 'DE', true, 'active', false, "
        f"timestamp '2026-12-01 10:00:00' from range({joined}) t(i)"
    )
    wh.execute(
        f"insert into {s}.segment_membership select 'vip', null, customer_id, "
        "date '2026-12-01' from staging.stg_customers where customer_id like 'N%'"
    )


def measure(label: str, wh: Warehouse, sync: SyncDefinition, make_dest, double) -> None:
    policy = RetryPolicy()
    dest = make_dest(policy)
    before = len(double.requests)
    start = time.perf_counter()
    outcome = run_sync(wh, "bench", sync, dest, allow_removals=True)
    seconds = time.perf_counter() - start
    requests = double.requests[before:]
    writes = sum(1 for m, _, _ in requests if m in ("POST", "DELETE", "PATCH", "PUT"))
    throttled = sum(1 for _, _, code in requests if code == 429)
    c = outcome.plan.counts
    print(
        f"{label:<28} {len(requests):>7,} requests ({writes:,} writes, {throttled:,} answered "
        f"429)  {seconds:7.1f} s  waiting on rate limits {policy.waited_rate_limited:6.1f} s "
        f"({policy.waited_rate_limited / seconds:5.1%})  adds {c['add']:,} updates "
        f"{c['update']:,} removes {c['remove']:,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--destination", choices=["klaviyo", "mailchimp"], default="klaviyo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            {"SEGFLOW_TARGET": "duckdb", "SEGFLOW_DUCKDB_PATH": str(Path(tmp) / "bench.duckdb")}
        )
        settings = load_settings(dotenv=False)
        if args.destination == "klaviyo":
            double = KlaviyoDouble(rate_limits=True)
            fields = {"first_name": "first_name", "properties.country": "country"}

            def make_dest(policy):
                return Klaviyo(double.api_key, double.base, policy)
        else:
            double = MailchimpDouble()
            double.add_by_hand("Bench", "seed@example.com")
            fields = {"FNAME": "first_name", "COUNTRY": "country"}

            def make_dest(policy):
                return Mailchimp(double.api_key, "us1", double.base + "/3.0", policy)

        double.start()
        sync = SyncDefinition.model_validate(
            {"segment": "vip", "destination": args.destination, "list": "Bench", "fields": fields}
        )
        with open_warehouse(settings) as wh:
            make_warehouse(wh, args.contacts)
            print(f"{args.destination} double, {args.contacts:,} contacts, DuckDB")
            measure("first sync", wh, sync, make_dest, double)
            change_one_percent(wh, args.contacts)
            received = double.imported if args.destination == "klaviyo" else double.received
            measure("nightly sync, 1 % change", wh, sync, make_dest, double)
            after = double.imported if args.destination == "klaviyo" else double.received
            print(f"contacts sent by the nightly sync: {after - received:,}")
            measure("nightly sync, no change", wh, sync, make_dest, double)
        double.stop()


if __name__ == "__main__":
    main()
