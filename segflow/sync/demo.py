"""The demo's dry run of the shipped syncs, each against a fresh local double of its platform
(the official clients pointed at it), so `segflow demo` shows what a first sync would send."""

from __future__ import annotations

from segflow.settings import Settings
from segflow.sync.destination import Destination, RetryPolicy
from segflow.sync.model import SyncDefinition
from segflow.sync.store import CONTACTS, DESIRED, REMOTE, RUNS
from segflow.warehouse import open_warehouse


def demo_dry_run(settings: Settings) -> list[str]:
    from segflow.segments.project import load_project
    from segflow.sync.doubles.klaviyo import KlaviyoDouble
    from segflow.sync.doubles.mailchimp import MailchimpDouble
    from segflow.sync.klaviyo import Klaviyo
    from segflow.sync.loader import load_syncs, syncs_dir
    from segflow.sync.mailchimp import Mailchimp
    from segflow.sync.run import describe, run_sync

    syncs = load_syncs(syncs_dir(), load_project(settings.segments_dir)).syncs
    if not syncs:
        return []
    klaviyo, mailchimp = KlaviyoDouble(), MailchimpDouble()
    klaviyo.start()
    mailchimp.start()

    def client(sync: SyncDefinition) -> Destination:
        if sync.destination == "klaviyo":
            return Klaviyo(klaviyo.api_key, klaviyo.base, RetryPolicy())
        return Mailchimp(mailchimp.api_key, "us1", mailchimp.base + "/3.0", RetryPolicy())

    lines = ["Syncs (segflow sync --dry-run, against local doubles of the platforms):"]
    try:
        with open_warehouse(settings) as wh:
            for table in (RUNS, CONTACTS, REMOTE, DESIRED):  # a fresh demo has no sync history
                wh.execute(f"drop table if exists {wh.output_schema}.{table}")
            for name, sync in sorted(syncs.items()):
                outcome = run_sync(wh, name, sync, client(sync), dry_run=True)
                lines += [f"  {line}" for line in describe(outcome).splitlines()]
    finally:
        klaviyo.stop()
        mailchimp.stop()
    return lines
