"""Values in segment YAML: numbers, dates (absolute or relative to D), text, booleans."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

_RELATIVE = re.compile(r"([+-])(\d{1,4})([dwmy])")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DURATION = re.compile(r"(\d{1,4})([dwmy])")
DATE_HINT = "a date (YYYY-MM-DD, or relative to D such as -30d, -4w, -3m, -1y, today)"


@dataclass(frozen=True)
class RelativeDate:
    """A date counted from the evaluation date D in calendar steps: `-3m` is D minus 3 months."""

    amount: int  # signed
    unit: str  # d, w, m, y

    def __str__(self) -> str:
        return "today" if self.amount == 0 else f"{self.amount:+d}{self.unit}"


@dataclass(frozen=True)
class Duration:
    """A window length such as `14d` or `3m` (positive)."""

    amount: int
    unit: str

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


DateValue = date | RelativeDate


def as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def as_date(value: Any) -> DateValue | None:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if text == "today":
        return RelativeDate(0, "d")
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    match = _RELATIVE.fullmatch(text)
    if match:
        sign = -1 if match.group(1) == "-" else 1
        return RelativeDate(sign * int(match.group(2)), match.group(3))
    return None


def as_duration(value: Any) -> Duration | None:
    if not isinstance(value, str):
        return None
    match = _DURATION.fullmatch(value.strip().lower())
    if not match or int(match.group(1)) == 0:
        return None
    return Duration(int(match.group(1)), match.group(2))


def as_text(value: Any) -> str | None:
    """Text for a text comparison; YAML numbers count as their text (a postal code 12345)."""
    if isinstance(value, bool | date):
        return None
    if isinstance(value, str):
        return value if "\x00" not in value else None
    if isinstance(value, int):
        return str(value)
    return None


def not_a_calendar_day(text: str) -> str | None:
    """Why a YYYY-MM-DD text is no day of the calendar (2025-02-30), or None."""
    if not _ISO_DATE.fullmatch(text.strip()):
        return None
    year, month, day = (int(part) for part in text.strip().split("-"))
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    days = calendar.monthrange(year, month)[1] if year >= 1 else 31
    if not 1 <= day <= days:
        return f"{calendar.month_name[month]} {year} has {days} days"
    return None


def describe(value: Any) -> str:
    if isinstance(value, str) and (why := not_a_calendar_day(value)):
        return f"{value!r}, which is no day of the calendar ({why})"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return f"the number {value}"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing"
    return repr(value)
