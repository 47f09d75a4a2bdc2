"""The sync rules against the Mailchimp double, through the official SDK, on both engines."""

from __future__ import annotations

import pytest

from segflow.sync.destination import RetryPolicy
from segflow.sync.doubles.base import Fault
from segflow.sync.doubles.mailchimp import MailchimpDouble
from segflow.sync.mailchimp import Mailchimp
from segflow.sync.model import SyncDefinition
from segflow.sync.run import GuardRefused, run_sync
from segflow.sync.store import CONTACTS
from tests.sync.helpers import Person, people, publish

LIST = "Loyalty gold"


@pytest.fixture
def double():  # this module's platform: overrides the Klaviyo double of conftest.py
    d = MailchimpDouble()
    d.start()
    d.add_by_hand(LIST, "seed@example.com")  # an audience exists (Mailchimp needs one made)
    yield d
    d.stop()


def sync_def(**kw) -> SyncDefinition:
    base = {
        "segment": "loyalty_status.gold",
        "destination": "mailchimp",
        "list": LIST,
        "fields": {"FNAME": "first_name", "TIER": "tier"},
    }
    return SyncDefinition.model_validate(base | kw)


def client(double, attempts: int = 8, sleeps: list | None = None) -> Mailchimp:
    policy = RetryPolicy(
        attempts=attempts, base=0.001, cap=0.01, sleep=(sleeps if sleeps is not None else []).append
    )
    return Mailchimp(double.api_key, "us1", double.base + "/3.0", policy)


def gold(n: int, **kw) -> list[Person]:
    return people(n, tier="gold", **kw)


def run(wh, double, sync=None, **kw):
    return run_sync(wh, "loyalty_gold_mailchimp", sync or sync_def(), client(double), **kw)


def go(wh, crowd):
    publish(wh, crowd, segment="loyalty_status")


def test_tier_members_with_consent_are_subscribed_with_mapped_merge_fields(wh, double):
    crowd = gold(3) + [
        Person("S1", "silver@example.com", tier="silver"),
        Person("N1", "no@example.com", tier="gold", email_opt_in=False),
    ]
    go(wh, crowd)
    run(wh, double)
    assert double.emails(LIST) == {
        "seed@example.com",
        "c0@example.com",
        "c1@example.com",
        "c2@example.com",
    }
    member = double.members[double.list_id(LIST)][
        __import__("hashlib").md5(b"c0@example.com").hexdigest()
    ]
    assert member["merge_fields"] == {"FNAME": "Ann", "TIER": "gold"}


def test_an_opt_out_on_the_platform_is_never_resubscribed(wh, double):
    double.add_by_hand(LIST, "c0@example.com", status="unsubscribed")
    go(wh, gold(2))
    outcome = run(wh, double)
    assert outcome.rejected == 1
    assert "c0@example.com" not in double.emails(LIST)
    received = double.received
    run(wh, double)  # recorded as rejected: not sent again until the contact changes
    assert double.received == received


def test_mirror_removes_only_its_own_and_erasure_deletes(wh, double):
    go(wh, gold(4))
    run(wh, double)
    crowd = gold(4)
    crowd[0].member = False
    crowd[1].is_erased = True
    go(wh, crowd)
    run(wh, double, allow_removals=True)
    assert double.emails(LIST) == {"seed@example.com", "c2@example.com", "c3@example.com"}
    assert double.deleted == ["c1@example.com"]
    rows = wh.query(f"select email from {wh.output_schema}.{CONTACTS} where customer_id = 'C00001'")
    assert rows == [(None,)]


def test_guard_refuses_emptying_the_list(wh, double):
    go(wh, gold(8))
    run(wh, double)
    go(wh, gold(8, member=False))
    with pytest.raises(GuardRefused):
        run(wh, double)
    assert len(double.emails(LIST)) == 9


def test_lost_answer_then_rerun_sends_nobody_twice(wh, double):
    go(wh, gold(6))
    double.inject(Fault("POST /3.0/lists/", times=9, drop=True, after=True))
    with pytest.raises(Exception):  # noqa: B017 - every answer is lost: the run dies
        run_sync(wh, "loyalty_gold_mailchimp", sync_def(), client(double, attempts=2))
    double.faults.clear()
    received = double.received
    run(wh, double)
    assert double.received == received  # the members were there: confirmed, not re-sent
    assert len(double.emails(LIST)) == 7


def test_429_and_5xx_storms(wh, double):
    go(wh, gold(20))
    double.inject(Fault("POST /3.0/lists/", times=3, status=429))
    double.inject(Fault("GET /3.0/lists/", times=3, status=500))
    sleeps: list[float] = []
    run_sync(wh, "loyalty_gold_mailchimp", sync_def(), client(double, sleeps=sleeps))
    assert len(double.emails(LIST)) == 21
    assert len(sleeps) == 6


def test_reconciliation_after_a_change_on_the_platform(wh, double):
    go(wh, gold(3))
    run(wh, double)
    members = double.members[double.list_id(LIST)]
    victim = next(m for m in members.values() if m["email_address"] == "c1@example.com")
    victim["status"] = "archived"
    outcome = run(wh, double)
    assert outcome.plan.counts["add"] == 1
    assert "c1@example.com" in double.emails(LIST)


def test_batches_respect_the_documented_size(wh, double):
    go(wh, gold(1201))
    run(wh, double)
    assert double.count("POST /3.0/lists/[0-9a-f]+$") == 3  # 500 + 500 + 201
    assert len(double.emails(LIST)) == 1202
