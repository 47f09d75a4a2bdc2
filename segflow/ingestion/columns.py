"""Typing a whole column of delivered values at once, exactly as `parsing` types one value.

Arrow's compute kernels type the common, canonical spellings (`2026-11-21`, `12.50`, `true`,
`2026-11-21T10:00:00+01:00`) in bulk. Everything else — an error, an unusual but valid spelling,
Unicode digits or spaces, a local time skipped by a clock change — goes to `parsing`, value by
value, so the result and every quarantine reason are the same as typing each value alone. The
fast forms are a strict subset of what `parsing` accepts; tests/unit/test_columns.py holds the
two against each other.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.lib.stride_tricks import sliding_window_view

from segflow.feeds import ColumnType
from segflow.ingestion.parsing import BadValue, parse_value

ARROW_TYPES = {
    ColumnType.STRING: pa.string(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    ColumnType.INTEGER: pa.int64(),
    ColumnType.DECIMAL: pa.decimal128(18, 4),
}

_ASCII_SPACE = " \t\n\r\x0b\x0c"
_INTEGER = r"^-?[0-9]{1,18}$"
_DECIMAL = r"^-?[0-9]{1,13}(\.[0-9]{1,4})?$"  # below 10^13, at most 4 places
_TIMESTAMP = (
    r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$"
)
_DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 23, 24]
_NAIVE_FROM = -2_208_988_800_000_000  # 1900-01-01 as microseconds since 1970
_NAIVE_UNTIL = 2_145_916_800_000_000  # 2038-01-01
_TRUE = ["true", "1", "yes", "y"]
_FALSE = ["false", "0", "no", "n"]

Problems = dict[int, str]  # row index -> the reason its value is bad


def type_column(
    column_type: ColumnType, values: pa.Array, zone: tzinfo, required: bool
) -> tuple[pa.Array, Problems]:
    """The column typed as `ARROW_TYPES[column_type]` (null where bad), and its bad values."""
    if pa.types.is_large_string(values.type) or pa.types.is_string_view(values.type):
        values = values.cast(pa.string())
    if pa.types.is_string(values.type):
        typed, fallback = _fast_text(column_type, values, zone)
    else:
        typed, fallback = _fast_typed(column_type, values)
    typed, problems = _by_value(column_type, values, typed, fallback, zone)
    if required:
        for index in pc.indices_nonzero(pc.is_null(typed)).to_pylist():
            problems.setdefault(index, "missing required value")
    return typed, problems


def _fast_text(column_type: ColumnType, text: pa.Array, zone: tzinfo) -> tuple[pa.Array, pa.Array]:
    """(typed values, mask of values left to `parsing`) for a column of text."""
    target = ARROW_TYPES[column_type]
    if column_type is ColumnType.STRING:
        # Python's str.isspace and utf8proc's agree on every code point (measured).
        empty = pc.or_kleene(pc.equal(text, ""), pc.utf8_is_space(text))
        typed = pc.if_else(empty, pa.scalar(None, pa.string()), text)
        return typed, _all(len(text), False)
    trimmed = pc.utf8_trim(text, _ASCII_SPACE)
    empty = pc.fill_null(pc.equal(trimmed, ""), True)
    if column_type is ColumnType.BOOLEAN:
        word = pc.ascii_lower(trimmed)
        true, false = pc.is_in(word, pa.array(_TRUE)), pc.is_in(word, pa.array(_FALSE))
        typed = pc.if_else(true, True, pc.if_else(false, False, pa.scalar(None, pa.bool_())))
        fast = pc.or_(true, false)
    elif column_type is ColumnType.INTEGER:
        fast = _matches(trimmed, _INTEGER)
        typed = _cast_where(trimmed, fast, target)
    elif column_type is ColumnType.DECIMAL:
        fast = _matches(trimmed, _DECIMAL)
        typed = _cast_where(trimmed, fast, target)
    elif column_type is ColumnType.DATE:
        micros, _, read, _ = _fixed_width_timestamps(trimmed)
        fast = pc.and_(read, pc.equal(pc.utf8_length(trimmed), 10))
        days = pc.divide(micros, 86_400_000_000).cast(pa.int32())
        typed = pc.if_else(fast, days, pa.scalar(None, pa.int32())).cast(pa.date32())
    else:
        typed, fast = _timestamps(trimmed, zone)
    fallback = pc.and_(pc.invert(fast), pc.invert(empty))
    return typed, fallback


def _timestamps(trimmed: pa.Array, zone: tzinfo) -> tuple[pa.Array, pa.Array]:
    """ISO 8601 timestamps in UTC; naive ones read in `zone` (the earlier instant in the hour a
    clock is set back). A local time a clock skips is left to `parsing` (PEP 495 reads it with
    the offset before the change; Arrow cannot)."""
    local, offset, fast, aware = _fixed_width_timestamps(trimmed)
    if not pc.all(pc.or_(fast, pc.equal(trimmed, ""))).as_py():
        local, offset, fast, aware = _any_width_timestamps(trimmed)
    return _to_utc(local, offset, fast, aware, zone)


def _fixed_width_timestamps(
    trimmed: pa.Array,
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """The usual spellings, read by position with numpy: `YYYY-MM-DD`, then `[T ]HH:MM`,
    `:SS`, and `Z` or `+HH:MM`. (local microseconds, offset microseconds, read, has offset)."""
    size = len(trimmed)
    if trimmed.null_count:
        trimmed = pc.fill_null(trimmed, "")
    offsets = np.frombuffer(trimmed.buffers()[1], np.int32)[
        trimmed.offset : trimmed.offset + size + 1
    ]
    data = np.frombuffer(trimmed.buffers()[2], np.uint8)
    # Each value's first 25 bytes as a row of a window view (the data padded so the last value
    # has them): indexing it by row copies those bytes, without an index per byte.
    windows = sliding_window_view(np.concatenate([data, np.zeros(25, np.uint8)]), 25)
    starts, lengths = offsets[:-1], np.diff(offsets)
    local = np.zeros(size, np.int64)
    offset = np.zeros(size, np.int64)
    read = np.zeros(size, np.bool_)
    aware = np.zeros(size, np.bool_)
    for width in (10, 16, 19, 20, 25):
        rows = np.flatnonzero(lengths == width)
        if not len(rows):
            continue
        chars = windows[starts[rows], :width]
        digit = chars.astype(np.int16) - ord("0")

        def number(*positions: int, digit: np.ndarray = digit) -> np.ndarray:
            value = np.zeros(len(digit), np.int64)
            for position in positions:
                value = value * 10 + digit[:, position]
            return value

        digits = [p for p in _DIGIT_POSITIONS if p < width]
        ok = np.all((chars[:, digits] - np.uint8(ord("0"))) <= 9, axis=1)  # below "0" wraps
        ok &= (chars[:, 4] == ord("-")) & (chars[:, 7] == ord("-")) & (digit[:, 0] > 0)
        year, month, day = number(0, 1, 2, 3), number(5, 6), number(8, 9)
        ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= _days_in_month(year, month))
        micros = _days_from_civil(year, month, day) * 86_400_000_000
        if width >= 16:
            ok &= np.isin(chars[:, 10], [ord("T"), ord(" ")]) & (chars[:, 13] == ord(":"))
            hour, minute = number(11, 12), number(14, 15)
            ok &= (hour < 24) & (minute < 60)
            micros += (hour * 3600 + minute * 60) * 1_000_000
        if width >= 19:
            second = number(17, 18)
            ok &= (chars[:, 16] == ord(":")) & (second < 60)
            micros += second * 1_000_000
        if width == 20:
            ok &= chars[:, 19] == ord("Z")
            aware[rows] = True
        if width == 25:
            sign = np.where(chars[:, 19] == ord("-"), -1, 1)
            hours, minutes = number(20, 21), number(23, 24)
            ok &= np.isin(chars[:, 19], [ord("+"), ord("-")]) & (chars[:, 22] == ord(":"))
            ok &= (hours < 24) & (minutes < 60)
            offset[rows] = sign * (hours * 3600 + minutes * 60) * 1_000_000
            aware[rows] = True
        local[rows] = micros
        read[rows] = ok
    return pa.array(local), pa.array(offset), pa.array(read), pa.array(aware)


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)]
    return days + ((month == 2) & leap)


def _days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year = year - (month <= 2)
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _any_width_timestamps(
    trimmed: pa.Array,
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array]:
    """Every spelling `_TIMESTAMP` allows, with Arrow's string kernels (slower)."""
    candidate = _matches(trimmed, _TIMESTAMP)
    text = pc.if_else(candidate, trimmed, pa.scalar(None, pa.string()))
    day = _calendar_day(pc.utf8_slice_codeunits(text, 0, 10)).cast(pa.timestamp("us"))
    rest = pc.utf8_slice_codeunits(text, 10)  # "", or "T10:00[:00[.5]][Z|+01:00]"
    has_time = pc.greater(pc.utf8_length(rest), 0)
    hours = _int_or_zero(pc.utf8_slice_codeunits(rest, 1, 3))
    minutes = _int_or_zero(pc.utf8_slice_codeunits(rest, 4, 6))
    tail = pc.utf8_slice_codeunits(rest, 6)  # "", ":00", ":00.5", "Z", "+01:00", ":00-0130"
    clock = pc.replace_substring_regex(tail, r"[Z+-].*$", "")  # "", ":00" or ":00.5"
    offset = pc.replace_substring_regex(tail, r"^[^Z+-]*", "")  # "", "Z", "+01", "-01:30"
    aware = pc.greater(pc.utf8_length(offset), 0)
    seconds = _int_or_zero(pc.utf8_slice_codeunits(clock, 1, 3))
    fraction = pc.utf8_slice_codeunits(clock, 4)
    micros = _int_or_zero(pc.utf8_rpad(fraction, 6, "0"))
    sign = pc.if_else(pc.starts_with(offset, "-"), -1, 1)
    offset_hours = _int_or_zero(pc.utf8_slice_codeunits(offset, 1, 3))
    offset_minutes = _int_or_zero(
        pc.if_else(pc.greater(pc.utf8_length(offset), 3), pc.utf8_slice_codeunits(offset, -2), "")
    )
    in_range = _and(
        pc.is_valid(day),
        pc.less(hours, 24),
        pc.less(minutes, 60),
        pc.less(seconds, 60),
        pc.less(offset_hours, 24),
        pc.less(offset_minutes, 60),
    )
    micros_of_day = _sum(
        pc.multiply(hours, 3_600_000_000),
        pc.multiply(minutes, 60_000_000),
        pc.multiply(seconds, 1_000_000),
        micros,
    )
    offset_micros = pc.multiply(
        sign,
        _sum(pc.multiply(offset_hours, 3_600_000_000), pc.multiply(offset_minutes, 60_000_000)),
    )
    local = pc.add(day.cast(pa.int64()), pc.if_else(has_time, micros_of_day, 0))
    fast = pc.fill_null(pc.and_(candidate, in_range), False)
    return local, offset_micros, fast, aware


def _to_utc(
    local: pa.Array, offset: pa.Array, fast: pa.Array, aware: pa.Array, zone: tzinfo
) -> tuple[pa.Array, pa.Array]:
    target = ARROW_TYPES[ColumnType.TIMESTAMP]
    local = pc.if_else(fast, local, pa.scalar(None, pa.int64()))
    utc_if_aware = pc.subtract(local, offset).cast(target)
    key = getattr(zone, "key", None)
    if key is None:  # not a named zone: naive timestamps are left to `parsing`
        return utc_if_aware, _fill(pc.and_(fast, aware))
    if key == "UTC" or not pc.any(pc.and_(fast, pc.invert(aware))).as_py():
        return utc_if_aware, fast  # no offset is the same as +00:00, or every value has one
    wall = local.cast(pa.timestamp("us"))
    try:
        earliest = pc.assume_timezone(wall, key, ambiguous="earliest", nonexistent="earliest")
        latest = pc.assume_timezone(wall, key, ambiguous="earliest", nonexistent="latest")
    except pa.ArrowException:  # a zone Arrow's database does not know: left to `parsing`
        return utc_if_aware, _fill(pc.and_(fast, aware))
    skipped = pc.not_equal(earliest, latest)
    # Arrow applies no daylight-saving rules after 2037 (the zone files' explicit transitions
    # end there): local times outside 1900-2037 are left to `parsing`.
    in_tables = pc.and_(pc.greater_equal(local, _NAIVE_FROM), pc.less(local, _NAIVE_UNTIL))
    naive_ok = pc.and_(pc.invert(pc.fill_null(skipped, False)), pc.fill_null(in_tables, False))
    naive = pc.cast(earliest, target)
    typed = pc.if_else(aware, utc_if_aware, naive)
    fast = pc.and_(fast, pc.or_(aware, naive_ok))
    return typed, _fill(fast)


def _fast_typed(column_type: ColumnType, values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Parquet values already of the column's type are taken as they are; the rest go to
    `parsing` (which reads integers as text, whole floats as integers, and so on)."""
    target, kind = ARROW_TYPES[column_type], values.type
    same = (
        (column_type is ColumnType.BOOLEAN and pa.types.is_boolean(kind))
        or (column_type is ColumnType.INTEGER and pa.types.is_integer(kind) and kind != pa.uint64())
        or (column_type is ColumnType.DATE and pa.types.is_date32(kind))
        or (
            column_type is ColumnType.TIMESTAMP
            and pa.types.is_timestamp(kind)
            and kind.tz is not None
        )
        or (
            column_type is ColumnType.DECIMAL
            and pa.types.is_decimal(kind)
            and kind.scale <= 4
            and kind.precision - kind.scale <= 13  # below 10^13: within MAX_DECIMAL
        )
    )
    if same:  # (nanoseconds are cut to the microseconds the warehouse keeps)
        return values.cast(target, safe=False), _all(len(values), False)
    return pa.nulls(len(values), target), pc.is_valid(values)


def _by_value(
    column_type: ColumnType,
    values: pa.Array,
    typed: pa.Array,
    fallback: pa.Array,
    zone: tzinfo,
) -> tuple[pa.Array, Problems]:
    """Type the values the fast path left, one by one, and merge them in."""
    problems: Problems = {}
    indices = pc.indices_nonzero(fallback).to_pylist()
    if not indices:
        return typed, problems
    accepted: list[int] = []
    parsed: list[Any] = []
    for index, value in zip(indices, values.take(indices).to_pylist(), strict=True):
        try:
            result = parse_value(column_type, value, zone)
        except BadValue as exc:
            problems[index] = str(exc)
            continue
        accepted.append(index)
        parsed.append(result)
    if accepted:
        try:
            replacement = pa.array(parsed, ARROW_TYPES[column_type])
        except (pa.ArrowException, OverflowError):  # e.g. an integer beyond 64 bits
            replacement, accepted = _each_fitting(parsed, accepted, column_type, problems)
        mask = np.zeros(len(typed), np.bool_)
        mask[accepted] = True
        typed = pc.replace_with_mask(typed, pa.array(mask), replacement)
    return typed, problems


def _each_fitting(
    parsed: list[Any], accepted: list[int], column_type: ColumnType, problems: Problems
) -> tuple[pa.Array, list[int]]:
    kept_values, kept = [], []
    for index, value in zip(accepted, parsed, strict=True):
        try:
            pa.array([value], ARROW_TYPES[column_type])
        except (pa.ArrowException, OverflowError):
            problems[index] = f"{value!r} is too large"
            continue
        kept_values.append(value)
        kept.append(index)
    return pa.array(kept_values, ARROW_TYPES[column_type]), kept


# -- small helpers over Arrow arrays -------------------------------------------------------


def _all(length: int, value: bool) -> pa.Array:
    return pa.repeat(value, length)


def _fill(mask: pa.Array) -> pa.Array:
    return pc.fill_null(mask, False)


def _matches(text: pa.Array, pattern: str) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(text, pattern), False)


def _cast_where(text: pa.Array, where: pa.Array, target: pa.DataType) -> pa.Array:
    return pc.if_else(where, text, pa.scalar(None, pa.string())).cast(target)


def _calendar_day(text: pa.Array) -> pa.Array:
    """`YYYY-MM-DD` as a timestamp[s], null unless it is a real calendar day (strptime reads
    2026-02-30 as 2026-03-02: the day it read must print as the text it was given)."""
    day = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    same = pc.equal(pc.strftime(day, format="%Y-%m-%d"), text)
    return pc.if_else(pc.fill_null(same, False), day, pa.scalar(None, day.type))


def _int_or_zero(text: pa.Array) -> pa.Array:
    digits = pc.if_else(pc.equal(text, ""), "0", text)
    return pc.fill_null(
        pc.if_else(pc.match_substring_regex(digits, r"^[0-9]+$"), digits, "0").cast(pa.int64()), 0
    )


def _and(*masks: pa.Array) -> pa.Array:
    result = masks[0]
    for mask in masks[1:]:
        result = pc.and_(result, mask)
    return result


def _sum(*arrays: pa.Array) -> pa.Array:
    result = arrays[0]
    for array in arrays[1:]:
        result = pc.add(result, array)
    return result
