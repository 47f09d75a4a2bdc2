from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from segflow.feeds import ColumnType
from segflow.ingestion.parsing import (
    BadValue,
    parse_boolean,
    parse_date,
    parse_decimal,
    parse_integer,
    parse_string,
    parse_timestamp,
    parse_value,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize("word", ["true", "TRUE", "1", "yes", "Yes", "y", "Y", " true "])
def test_true_words(word):
    assert parse_boolean(word) is True


@pytest.mark.parametrize("word", ["false", "False", "0", "no", "NO", "n", "N"])
def test_false_words(word):
    assert parse_boolean(word) is False


@pytest.mark.parametrize("word", ["", "   ", None])
def test_empty_boolean_is_missing(word):
    assert parse_boolean(word) is None


@pytest.mark.parametrize("word", ["maybe", "t", "on", "2", "ja"])
def test_unknown_boolean_word_is_bad(word):
    with pytest.raises(BadValue, match="not a boolean"):
        parse_boolean(word)


def test_dates():
    assert parse_date("2026-11-21") == date(2026, 11, 21)
    assert parse_date(" 2026-11-21 ") == date(2026, 11, 21)
    assert parse_date(date(2024, 2, 29)) == date(2024, 2, 29)
    assert parse_date("  ") is None
    for bad in ("21.11.2026", "2026-11-31", "2026/11/21", "20261121"):
        with pytest.raises(BadValue):
            parse_date(bad)


def test_timestamp_with_offset_keeps_the_instant():
    ts = parse_timestamp("2026-11-21T23:30:00+01:00", BERLIN)
    assert ts == datetime(2026, 11, 21, 22, 30, tzinfo=UTC)
    assert parse_timestamp("2026-11-21T22:30:00Z", BERLIN) == ts
    assert parse_timestamp("2026-11-21 22:30:00.250+00:00", BERLIN).microsecond == 250000


def test_timestamp_without_offset_is_in_the_project_zone():
    # Winter: UTC+1; summer: UTC+2.
    assert parse_timestamp("2026-01-15 10:00:00", BERLIN) == datetime(2026, 1, 15, 9, tzinfo=UTC)
    assert parse_timestamp("2026-07-15T10:00", BERLIN) == datetime(2026, 7, 15, 8, tzinfo=UTC)
    assert parse_timestamp("2026-07-15 10:00:00", UTC) == datetime(2026, 7, 15, 10, tzinfo=UTC)


def test_timestamp_in_the_repeated_autumn_hour_takes_the_first():
    # 2026-10-25 02:30 happens twice in Berlin; the first is still summer time (UTC+2).
    assert parse_timestamp("2026-10-25 02:30:00", BERLIN) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


def test_naive_parquet_timestamp_is_in_the_project_zone():
    assert parse_timestamp(datetime(2026, 1, 15, 10), BERLIN) == datetime(
        2026, 1, 15, 9, tzinfo=UTC
    )


@pytest.mark.parametrize("bad", ["2026-11-21T25:00", "yesterday", "21/11/2026 10:00", "2026-02-30"])
def test_bad_timestamps(bad):
    with pytest.raises(BadValue):
        parse_timestamp(bad, BERLIN)


def test_integers():
    assert parse_integer("-3") == -3
    assert parse_integer(7) == 7
    assert parse_integer(2.0) == 2
    for bad in ("1.5", "two", "1,000", "+-1", True):
        with pytest.raises(BadValue):
            parse_integer(bad)


def test_decimals():
    assert parse_decimal("12.50") == Decimal("12.5000")
    assert parse_decimal("-3") == Decimal("-3.0000")
    assert parse_decimal(Decimal("9.95")) == Decimal("9.9500")
    for bad in ("12,50", "1,000.00", "€12", "12 EUR", "1e3", ".5", "nan"):
        with pytest.raises(BadValue):
            parse_decimal(bad)
    with pytest.raises(BadValue):
        parse_decimal(float("nan"))


def test_strings_keep_text_and_treat_spaces_as_empty():
    assert parse_string(" Anna ") == " Anna "
    assert parse_string("   ") is None
    assert parse_string(42) == "42"  # a numeric id in a Parquet file
    with pytest.raises(BadValue):
        parse_string(date(2026, 1, 1))


def test_parse_value_dispatches_on_type():
    assert parse_value(ColumnType.BOOLEAN, "y", BERLIN) is True
    assert parse_value(ColumnType.INTEGER, "5", BERLIN) == 5
