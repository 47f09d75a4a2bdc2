"""A small hand-made retailer whose segment members are worked out by hand.

Evaluation date D = 2026-03-31, time zone Europe/Berlin. Population at D: A, B, C, G
(E is erased, F signs up after D, H is blocked).

Sales up to D (local dates):
  A: T1 03-31 Nordlicht 1 x 100; T2 01-01 (campaign SALE) Stride 1 x 50 + Nordlicht 2 x 30;
     R1 03-15 return of a Stride -1 / -50; T3 2025-12-31 Stride 1 x 40
     -> orders 3, revenue 170, items 4, avg 56.67, last order 0 days ago, first 90 days ago
  B: T4 03-18 (campaign VIP-NIGHT) 20; T5 03-17 10; T9 at 22:30Z on 03-31 = 04-01 local: after D
  G: T7 2025-06-01 quantity 0, amount 5 (no order); T6 04-01: after D
Events up to D: A app_open 03-30, points +700 01-05, +500 03-01, reward_redeemed -100 03-20;
  B app_open 02-01, EMAIL_OPENED 03-25; G points 04-02: after D
Attributes at D: A diet vegan, pet dog + cat; B diet deleted on 02-01; C diet only from 04-05;
  G diet vegetarian, shoe_size 42
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.feedfiles import deliver

D = date(2026, 3, 31)

CUSTOMERS = (
    [
        "customer_id",
        "email",
        "gender",
        "birth_date",
        "signup_date",
        "status",
        "updated_at",
        "erased_at",
        "app_user",
    ],
    [
        ["A", "a@x.com", "f", "1980-04-05", "2025-01-01", "", "2025-01-01 10:00", "", "true"],
        ["B", "", "m", "1986-03-31", "2025-01-01", "", "2025-01-01 10:00", "", "false"],
        ["C", "c@x.com", "", "", "2025-01-01", "", "2025-01-01 10:00", "", ""],
        [
            "E",
            "e@x.com",
            "f",
            "1990-01-01",
            "2025-01-01",
            "",
            "2025-01-01 10:00",
            "2026-02-01 10:00",
            "true",
        ],
        ["F", "f@x.com", "f", "1990-01-01", "2026-04-10", "", "2026-04-10 10:00", "", "true"],
        ["G", "g@x.com", "x", "2000-02-29", "2025-06-01", "", "2025-06-01 10:00", "", "false"],
        [
            "H",
            "h@x.com",
            "f",
            "1980-04-05",
            "2025-01-01",
            "blocked",
            "2025-01-01 10:00",
            "",
            "true",
        ],
    ],
)
PRODUCTS = (["product_id", "brand"], [["P1", "Nordlicht"], ["P2", "Stride"]])
TRANSACTIONS = (
    [
        "transaction_id",
        "line_id",
        "customer_id",
        "occurred_at",
        "product_id",
        "quantity",
        "amount",
        "campaign_code",
    ],
    [
        ["T1", "1", "A", "2026-03-31 12:00", "P1", "1", "100.00", ""],
        ["T2", "1", "A", "2026-01-01 12:00", "P2", "1", "50.00", "SALE"],
        ["T2", "2", "A", "2026-01-01 12:00", "P1", "2", "30.00", "SALE"],
        ["R1", "1", "A", "2026-03-15 12:00", "P2", "-1", "-50.00", ""],
        ["T3", "1", "A", "2025-12-31 12:00", "P2", "1", "40.00", ""],
        ["T4", "1", "B", "2026-03-18 12:00", "P2", "1", "20.00", "VIP-NIGHT"],
        ["T5", "1", "B", "2026-03-17 12:00", "P2", "1", "10.00", ""],
        ["T9", "1", "B", "2026-03-31T22:30:00Z", "P1", "1", "500.00", ""],
        ["T6", "1", "G", "2026-04-01 10:00", "P1", "1", "999.00", ""],
        ["T7", "1", "G", "2025-06-01 12:00", "P1", "0", "5.00", ""],
        ["T8", "1", "E", "2026-01-10 12:00", "P1", "1", "70.00", ""],
        ["T10", "1", "", "2026-03-01 12:00", "P1", "1", "1.00", ""],
        ["T11", "1", "Z", "2026-03-01 12:00", "P1", "1", "1.00", ""],
    ],
)
EVENTS = (
    ["event_id", "customer_id", "occurred_at", "event_type", "points", "reward"],
    [
        ["E1", "A", "2026-03-30 10:00", "app_open", "", ""],
        ["E2", "A", "2026-01-05 10:00", "points_earned", "700", ""],
        ["E3", "A", "2026-03-01 10:00", "points_earned", "500", ""],
        ["E4", "A", "2026-03-20 10:00", "reward_redeemed", "-100", "Free Coffee"],
        ["E5", "B", "2026-02-01 10:00", "app_open", "", ""],
        ["E6", "B", "2026-03-25 10:00", "EMAIL_OPENED", "", ""],
        ["E7", "G", "2026-04-02 10:00", "points_earned", "50", ""],
    ],
)
ATTRIBUTES = (
    ["customer_id", "attribute", "value", "updated_at", "deleted"],
    [
        ["A", "diet", "vegan", "2025-06-01 10:00", ""],
        ["A", "pet", "dog", "2025-06-01 10:00", ""],
        ["A", "pet", "cat", "2025-07-01 10:00", ""],
        ["B", "diet", "Vegetarian", "2025-06-01 10:00", ""],
        ["B", "diet", "vegetarian", "2026-02-01 10:00", "true"],
        ["C", "diet", "vegetarian", "2026-04-05 10:00", ""],
        ["G", "diet", "vegetarian", "2025-07-01 10:00", ""],
        ["G", "shoe_size", "42", "2025-07-01 10:00", ""],
    ],
)

EVIL = "x'); drop table raw.customers; -- {{ run_query('drop table raw.events') }}"

# segment file text -> members at D ({customer: tier} for tiered segments)
SEGMENTS: dict[str, tuple[str, object]] = {
    "orders_gt_1": ("rules: {metric: orders, gt: 1}", {"A", "B"}),
    "never_ordered": ("rules: {metric: orders, eq: 0}", {"C", "G"}),
    "revenue_lifetime": ("rules: {metric: revenue, eq: 170}", {"A"}),
    "revenue_3m": ("rules: {metric: revenue, window: {last: 3m}, eq: 130}", {"A"}),
    "revenue_14d": ("rules: {metric: revenue, window: {last: 14d}, eq: 20}", {"B"}),
    "revenue_2w": ("rules: {metric: revenue, window: {last: 2w}, eq: 20}", {"B"}),
    "revenue_from": ("rules: {metric: revenue, window: {from: 2026-03-01}, eq: 30}", {"B"}),
    "revenue_jan": (
        "rules: {metric: revenue, window: {from: 2026-01-01, to: 2026-01-31}, eq: 80}",
        {"A"},
    ),
    "revenue_from_relative": ("rules: {metric: revenue, window: {from: -1m}, gte: 50}", {"A"}),
    "items_4": ("rules: {metric: items, eq: 4}", {"A"}),
    "returned_items": ("rules: {metric: items, where: {quantity: {lt: 0}}, lt: 0}", {"A"}),
    "aov_gt_50": ("rules: {metric: avg_order_value, gt: 50}", {"A"}),
    "not_aov_gt_50": ("rules: {not: {metric: avg_order_value, gt: 50}}", {"B", "C", "G"}),
    "zero_quantity_revenue": ("rules: {metric: revenue, eq: 5}", {"G"}),
    "last_order_gt_10": ("rules: {metric: days_since_last_order, gt: 10}", {"B"}),
    "first_order_90": ("rules: {metric: days_since_first_order, eq: 90}", {"A"}),
    "nordlicht_no_campaign": (
        "rules: {metric: orders, where: {brand: nordlicht, campaign_code: {is: missing}}, gte: 1}",
        {"A"},
    ),
    "brand_list": ("rules: {metric: orders, where: {brand: [STRIDE, other]}, gte: 1}", {"A", "B"}),
    "campaign_ne_sale": (
        "rules: {metric: orders, where: {campaign_code: {ne: sale}}, gte: 1}",
        {"B"},
    ),
    "points_balance": ("rules: {metric: points, gt: 1000}", {"A"}),
    "points_30d": ("rules: {metric: points, window: {last: 30d}, eq: -100}", {"A"}),
    "app_30d": ("rules: {metric: events, event: app_open, window: {last: 30d}, gte: 1}", {"A"}),
    "email_events": (
        "rules: {metric: events, event: [EMAIL_OPENED, email_clicked], gte: 1}",
        {"B"},
    ),
    "reward": ("rules: {metric: events, where: {reward: free coffee}, gte: 1}", {"A"}),
    "no_events": ("rules: {metric: events, eq: 0}", {"C", "G"}),
    "event_recency": ("rules: {metric: days_since_last_event, lte: 1}", {"A"}),
    "gender_f": ("rules: {profile: gender, eq: F}", {"A"}),
    "not_gender_f": ("rules: {not: {profile: gender, eq: f}}", {"B", "C", "G"}),
    "gender_ne_f": ("rules: {profile: gender, ne: f}", {"B", "G"}),
    "gender_in": ("rules: {profile: gender, in: [m, X]}", {"B", "G"}),
    "gender_not_in": ("rules: {profile: gender, not_in: [f]}", {"B", "G"}),
    "gender_missing": ("rules: {profile: gender, is: missing}", {"C"}),
    "email_missing": ("rules: {profile: email, is: missing}", {"B"}),
    "email_contains": ("rules: {profile: email, contains: '@X.'}", {"A", "C", "G"}),
    "email_starts": ("rules: {profile: email, starts_with: ' A'}", {"A"}),
    "age_40_45": ("rules: {profile: age, between: [40, 45]}", {"A", "B"}),
    "birthday_soon": ("rules: {profile: days_until_birthday, lte: 5}", {"A", "B"}),
    "leap_born": (
        "rules: {all: [{profile: age, eq: 26}, {profile: birth_month, eq: 2}, "
        "{profile: days_until_birthday, eq: 334}]}",
        {"G"},
    ),
    "signup_last_year": ("rules: {profile: signup_date, gte: -1y}", {"G"}),
    "signup_exact": ("rules: {profile: signup_date, eq: 2025-06-01}", {"G"}),
    "app_user_true": ("rules: {profile: app_user, eq: true}", {"A"}),
    "not_app_user": ("rules: {not: {profile: app_user, eq: true}}", {"B", "C", "G"}),
    "app_user_false": ("rules: {profile: app_user, eq: false}", {"B", "G"}),
    "any_combo": (
        "rules: {any: [{profile: gender, eq: f}, {profile: email, is: missing}]}",
        {"A", "B"},
    ),
    "vegan": ("rules: {attribute: diet, eq: VEGAN}", {"A"}),
    "diet_ne_vegan": ("rules: {attribute: diet, ne: vegan}", {"G"}),
    "diet_not_in": ("rules: {attribute: diet, not_in: [vegan, pescatarian]}", {"G"}),
    "diet_missing": ("rules: {attribute: diet, is: missing}", {"B", "C"}),
    "diet_present": ("rules: {attribute: diet, is: present}", {"A", "G"}),
    "diet_contains": ("rules: {attribute: diet, contains: VEG}", {"A", "G"}),
    "pet_cat": ("rules: {attribute: pet, eq: cat}", {"A"}),
    "pet_ne_cat": ("rules: {attribute: pet, ne: cat}", set()),
    "shoe_size_42": ("rules: {attribute: shoe_size, gte: 42}", {"G"}),
    "refers": ("rules: {segment: orders_gt_1}", {"A", "B"}),
    "with_exclude": ("rules: {metric: orders, gte: 1}\nexclude: {segment: email_missing}", {"A"}),
    "tiers": (
        "kind: tiered\ntiers:\n"
        "  - {name: gold, when: {metric: revenue, gte: 150}}\n"
        "  - {name: silver, when: {metric: orders, gte: 1}}\n"
        "  - {name: bronze, when: {profile: gender, is: present}}",
        {"A": "gold", "B": "silver", "G": "bronze"},
    ),
    "tier_silver": ("rules: {segment: tiers.silver}", {"B"}),
    "tier_any": ("rules: {segment: tiers}", {"A", "B", "G"}),
    "static_list": ("kind: static\nmembers: [A, E, Z, C]", {"A", "C"}),
    "static_excluded": ("kind: static\nmembers: [A, B]\nexclude: {profile: gender, eq: m}", {"A"}),
    "injection": (
        f"rules:\n  any:\n    - {{profile: email, eq: {EVIL!r}}}\n"
        f"    - {{attribute: diet, in: [{EVIL!r}]}}\n"
        '    - {metric: orders, where: {brand: "\'; --"}, gte: 1}',
        set(),
    ),
}


def write_feeds(landing: Path) -> None:
    deliver(landing, "customers", "2026-04-10.csv", *CUSTOMERS)
    deliver(landing, "products", "2025-01-01.csv", *PRODUCTS)
    deliver(landing, "transactions", "2026-04-01.csv", *TRANSACTIONS)
    deliver(landing, "events", "2026-04-02.csv", *EVENTS)
    deliver(landing, "customer_attributes", "2026-04-05.csv", *ATTRIBUTES)


def write_segments(folder: Path) -> None:
    for name, (text, _) in SEGMENTS.items():
        (folder / f"{name}.yml").write_text(f"title: {name}\n{text}\n")
