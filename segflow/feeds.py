"""The feed contract (docs/feeds.md) as data: columns, types, required flags, keys."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColumnType(StrEnum):
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    INTEGER = "integer"
    DECIMAL = "decimal"


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = False


@dataclass(frozen=True)
class Feed:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def table(self) -> str:
        """The raw table this feed loads into (schema `raw`)."""
        return f"raw.{self.name}"


TEXT, BOOL, DATE, TS, INT, NUM = (
    ColumnType.STRING,
    ColumnType.BOOLEAN,
    ColumnType.DATE,
    ColumnType.TIMESTAMP,
    ColumnType.INTEGER,
    ColumnType.DECIMAL,
)


def _cols(*specs: tuple) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


CUSTOMERS = Feed(
    "customers",
    _cols(
        ("customer_id", TEXT, True),
        ("email", TEXT),
        ("first_name", TEXT),
        ("last_name", TEXT),
        ("gender", TEXT),
        ("birth_date", DATE),
        ("signup_date", DATE, True),
        ("signup_store", TEXT),
        ("language", TEXT),
        ("country", TEXT),
        ("postal_code", TEXT),
        ("app_user", BOOL),
        ("login_method", TEXT),
        ("email_opt_in", BOOL),
        ("push_opt_in", BOOL),
        ("is_employee", BOOL),
        ("status", TEXT),
        ("updated_at", TS, True),
        ("erased_at", TS),
    ),
    key=("customer_id", "updated_at"),
)

CUSTOMER_ATTRIBUTES = Feed(
    "customer_attributes",
    _cols(
        ("customer_id", TEXT, True),
        ("attribute", TEXT, True),
        ("value", TEXT, True),
        ("updated_at", TS, True),
        ("deleted", BOOL),
    ),
    key=("customer_id", "attribute", "value", "updated_at"),
)

PRODUCTS = Feed(
    "products",
    _cols(
        ("product_id", TEXT, True),
        ("name", TEXT),
        ("brand", TEXT),
        ("collection", TEXT),
        ("department", TEXT),
        ("category", TEXT),
        ("target_group", TEXT),
        ("color", TEXT),
        ("season", TEXT),
        ("updated_at", TS),
    ),
    key=("product_id",),
)

TRANSACTIONS = Feed(
    "transactions",
    _cols(
        ("transaction_id", TEXT, True),
        ("line_id", TEXT, True),
        ("customer_id", TEXT),
        ("occurred_at", TS, True),
        ("store_id", TEXT),
        ("channel", TEXT),
        ("product_id", TEXT, True),
        ("quantity", INT, True),
        ("amount", NUM, True),
        ("currency", TEXT),
        ("campaign_code", TEXT),
    ),
    key=("transaction_id", "line_id"),
)

EVENTS = Feed(
    "events",
    _cols(
        ("event_id", TEXT, True),
        ("customer_id", TEXT, True),
        ("occurred_at", TS, True),
        ("event_type", TEXT, True),
        ("points", INT),
        ("reward", TEXT),
        ("challenge", TEXT),
        ("account", TEXT),
        ("channel", TEXT),
    ),
    key=("event_id",),
)

FEEDS: dict[str, Feed] = {
    f.name: f for f in (CUSTOMERS, CUSTOMER_ATTRIBUTES, PRODUCTS, TRANSACTIONS, EVENTS)
}

# Personal columns of an erased customer are not kept, not even in the raw tables.
PERSONAL_COLUMNS = ("email", "first_name", "last_name", "birth_date", "postal_code")
