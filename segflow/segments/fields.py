"""The fixed vocabulary of the segment language: subjects, columns, metrics and their types.

Every identifier that reaches SQL comes from these tables, never from YAML text.
"""

from __future__ import annotations

from enum import StrEnum


class FieldType(StrEnum):
    TEXT = "text"  # compared trimmed and case-insensitively
    ID = "id"  # compared exactly
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"


PROFILE_FIELDS: dict[str, FieldType] = {
    "customer_id": FieldType.ID,
    "email": FieldType.TEXT,
    "first_name": FieldType.TEXT,
    "last_name": FieldType.TEXT,
    "gender": FieldType.TEXT,
    "birth_date": FieldType.DATE,
    "signup_date": FieldType.DATE,
    "signup_store": FieldType.TEXT,
    "language": FieldType.TEXT,
    "country": FieldType.TEXT,
    "postal_code": FieldType.TEXT,
    "app_user": FieldType.BOOLEAN,
    "login_method": FieldType.TEXT,
    "email_opt_in": FieldType.BOOLEAN,
    "push_opt_in": FieldType.BOOLEAN,
    "is_employee": FieldType.BOOLEAN,
    "status": FieldType.TEXT,
    # derived at D
    "age": FieldType.NUMBER,
    "days_since_signup": FieldType.NUMBER,
    "days_until_birthday": FieldType.NUMBER,
    "birth_month": FieldType.NUMBER,
}

SALES_COLUMNS: dict[str, FieldType] = {
    "brand": FieldType.TEXT,
    "collection": FieldType.TEXT,
    "department": FieldType.TEXT,
    "category": FieldType.TEXT,
    "target_group": FieldType.TEXT,
    "color": FieldType.TEXT,
    "season": FieldType.TEXT,
    "product_id": FieldType.ID,
    "store_id": FieldType.ID,
    "transaction_id": FieldType.ID,
    "channel": FieldType.TEXT,
    "campaign_code": FieldType.TEXT,
    "quantity": FieldType.NUMBER,
    "amount": FieldType.NUMBER,
}

EVENT_COLUMNS: dict[str, FieldType] = {
    "event_type": FieldType.TEXT,
    "points": FieldType.NUMBER,
    "reward": FieldType.TEXT,
    "challenge": FieldType.TEXT,
    "account": FieldType.TEXT,
    "channel": FieldType.TEXT,
}

SALES_METRICS = (
    "orders",
    "revenue",
    "items",
    "avg_order_value",
    "days_since_last_order",
    "days_since_first_order",
)
LOYALTY_METRICS = ("events", "points", "days_since_last_event")
METRICS = SALES_METRICS + LOYALTY_METRICS
# Count and sum metrics are 0 when nothing happened; the others are then missing.
ZERO_WHEN_NOTHING = frozenset({"orders", "revenue", "items", "events", "points"})

ORDERED_OPS = ("gt", "gte", "lt", "lte")
COMPARISONS = ("eq", "ne", *ORDERED_OPS, "between", "in", "not_in", "contains", "starts_with", "is")
