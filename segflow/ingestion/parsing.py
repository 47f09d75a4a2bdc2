"""Parsing of feed values into typed Python values, exactly as docs/feeds.md says.

Each parser takes the value as delivered (a CSV string, or a Parquet value of any type) and
returns the typed value, `None` for empty, or raises `BadValue` with a reason a user understands.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from segflow.feeds import ColumnType

_TRUE = frozenset({"true", "1", "yes", "y"})
_FALSE = frozenset({"false", "0", "no", "n"})
_INTEGER = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# ISO 8601: a date, then T or a space, then a time with optional fraction and offset.
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?"
)
DECIMAL_PLACES = Decimal("0.0001")  # raw amounts are kept as DECIMAL(18, 4)
MAX_DECIMAL = Decimal("99999999999999")


class BadValue(ValueError):
    """A value that breaks the feed contract; its message is the quarantine reason."""


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def parse_string(value: Any) -> str | None:
    if is_empty(value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # e.g. numeric ids in a Parquet file
    raise BadValue(f"expected text, got {type(value).__name__}")


def parse_boolean(value: Any) -> bool | None:
    if is_empty(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise BadValue(f"{value.strip()!r} is not a boolean (true/false, 1/0, yes/no, y/n)")
    raise BadValue(f"expected a boolean, got {type(value).__name__}")


@lru_cache(maxsize=65536)
def _date_from_text(text: str) -> date:
    if not _DATE.fullmatch(text):
        raise BadValue(f"{text!r} is not a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadValue(f"{text!r} is not a valid calendar date") from None


def parse_date(value: Any) -> date | None:
    if is_empty(value):
        return None
    if isinstance(value, str):
        return _date_from_text(value.strip())
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise BadValue(f"expected a date, got {type(value).__name__}")


@lru_cache(maxsize=262144)
def _timestamp_from_text(text: str, zone: tzinfo) -> datetime:
    if not _TIMESTAMP.fullmatch(text):
        raise BadValue(f"{text!r} is not an ISO 8601 timestamp")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadValue(f"{text!r} is not a valid timestamp") from None
    return _to_utc(parsed, zone)


def _to_utc(parsed: datetime, zone: tzinfo) -> datetime:
    # Without an offset a timestamp is in the project's time zone. In the hour a clock is set
    # back, fold=0 picks the first (summer-time) instant; a time skipped when the clock goes
    # forward is read with the offset before the change (PEP 495).
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def parse_timestamp(value: Any, zone: tzinfo) -> datetime | None:
    if is_empty(value):
        return None
    if isinstance(value, str):
        return _timestamp_from_text(value.strip(), zone)
    if isinstance(value, datetime):
        return _to_utc(value, zone)
    raise BadValue(f"expected a timestamp, got {type(value).__name__}")


def parse_integer(value: Any) -> int | None:
    if is_empty(value):
        return None
    if isinstance(value, bool):
        raise BadValue("expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return int(text)
        raise BadValue(f"{text!r} is not an integer")
    raise BadValue(f"expected an integer, got {type(value).__name__}")


def parse_decimal(value: Any) -> Decimal | None:
    if is_empty(value):
        return None
    if isinstance(value, bool):
        raise BadValue("expected a number, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL.fullmatch(text):
            raise BadValue(f"{text!r} is not a number (decimal point, no thousands separators)")
        number = Decimal(text)
    elif isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise BadValue(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise BadValue(f"{value!r} is not a finite number")
    else:
        raise BadValue(f"expected a number, got {type(value).__name__}")
    if abs(number) > MAX_DECIMAL:
        raise BadValue(f"{value!r} is too large")
    return number.quantize(DECIMAL_PLACES, rounding=ROUND_HALF_EVEN)


def parse_value(column_type: ColumnType, value: Any, zone: tzinfo) -> Any:
    """Parse one delivered value of a column of the given type."""
    if column_type is ColumnType.STRING:
        return parse_string(value)
    if column_type is ColumnType.TIMESTAMP:
        return parse_timestamp(value, zone)
    if column_type is ColumnType.DATE:
        return parse_date(value)
    if column_type is ColumnType.BOOLEAN:
        return parse_boolean(value)
    if column_type is ColumnType.INTEGER:
        return parse_integer(value)
    return parse_decimal(value)
