"""Typing a column in bulk gives exactly what typing each value alone gives: value and reason."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from segflow.feeds import ColumnType
from segflow.ingestion.columns import ARROW_TYPES, type_column
from segflow.ingestion.parsing import BadValue, parse_value

SPACES = ["", " ", "  ", "\t", "\u00a0", "\u2003", "\x1c", " \n"]

TEXT = {
    ColumnType.STRING: ["C1", " C1 ", "Müller", 'a"b', "x,y", "\u00a0x", "0"],
    ColumnType.BOOLEAN: [
        "true",
        "TRUE",
        " yes ",
        "Y",
        "n",
        "0",
        "1",
        "false",
        "no",
        "t",
        "2",
        "wahr",
        "true\u00a0",
        "ｙｅｓ",
        "yes please",
    ],
    ColumnType.INTEGER: [
        "0",
        "-0",
        "7",
        "007",
        "-12",
        " 42 ",
        "+5",
        "1.0",
        "1e3",
        "12a",
        "١٢",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "99999999999999999999",
        "1 000",
        "--1",
    ],
    ColumnType.DECIMAL: [
        "0",
        "-0",
        "12.5",
        "12.50",
        "-0.0001",
        "0.00005",
        "0.00015",
        "12.34567",
        "99999999999999",
        "99999999999999.9999",
        "100000000000000",
        "-99999999999999",
        "12,50",
        "1e3",
        ".5",
        "5.",
        "+1",
        " 3.25 ",
        "١.٥",
        "1 000.00",
    ],
    ColumnType.DATE: [
        "2026-11-21",
        " 2026-11-21 ",
        "2026-02-29",
        "2024-02-29",
        "2026-13-01",
        "2026-1-1",
        "0001-01-01",
        "0999-12-31",
        "9999-12-31",
        "21.11.2026",
        "2026-11-21T10:00",
        "２０２６-11-21",
        "soon",
    ],
    ColumnType.TIMESTAMP: [
        "2026-11-21",
        "2026-11-21T10:00",
        "2026-11-21 10:00",
        "2026-11-21T10:00:05",
        "2026-11-21T10:00:05.5",
        "2026-11-21T10:00:05.123456",
        "2026-11-21T10:00:05.1234567",
        "2026-11-21T10:00Z",
        "2026-11-21T10:00:05Z",
        "2026-11-21T10:00:05+01:00",
        "2026-11-21T10:00:05+0130",
        "2026-11-21T10:00:05-05",
        "2026-11-21T10:00:05.25-03:30",
        "2026-11-21T24:00",
        "2026-11-21T23:60",
        "2026-11-21T23:59:60",
        "2026-11-21T10:00+24:00",
        "2026-11-21T10:00+01:60",
        "2026-11-21+01:00",
        "2026-03-29T02:30:00",
        "2026-03-29T01:59:59",
        "2026-03-29T03:00:00",
        "2026-10-25T02:30:00",
        "2026-10-25T01:59:59",
        "2026-10-25T03:00:00",
        "2026-11-21T10",
        "2026-11-21T10:00:05 +01:00",
        "2026-02-30T10:00",
        "0999-01-01T00:00",
        "2026-11-21t10:00",
        "soon",
        "2026-11-21T10:00:05+01:00:00",
        # Arrow knows no daylight-saving time after 2037: such local times are Python's
        "2040-07-01 12:00",
        "2037-12-31T23:30",
        "2038-01-01T00:30",
        "1850-07-01T12:00",
        "2040-07-01T12:00:00+02:00",
    ],
}
ZONES = [ZoneInfo("Europe/Berlin"), ZoneInfo("UTC"), ZoneInfo("America/St_Johns")]


def one_by_one(column_type, values, zone, required):
    expected = []
    for value in values:
        try:
            typed = parse_value(column_type, value, zone)
            if typed is None and required:
                raise BadValue("missing required value")
            pa.array([typed], ARROW_TYPES[column_type])
        except BadValue as exc:
            expected.append(("bad", str(exc)))
            continue
        except OverflowError:
            expected.append(("bad", f"{typed!r} is too large"))
            continue
        expected.append(("ok", typed))
    return expected


def in_bulk(column_type, values, zone, required):
    typed, problems = type_column(column_type, pa.array(values, pa.string()), zone, required)
    return [
        ("bad", problems[i]) if i in problems else ("ok", value)
        for i, value in enumerate(typed.to_pylist())
    ]


@pytest.mark.parametrize("zone", ZONES, ids=str)
@pytest.mark.parametrize("column_type", list(TEXT), ids=str)
@pytest.mark.parametrize("required", [False, True], ids=["optional", "required"])
def test_bulk_typing_equals_typing_each_value(column_type, zone, required):
    values = [*TEXT[column_type], *SPACES, None]
    assert in_bulk(column_type, values, zone, required) == one_by_one(
        column_type, values, zone, required
    )


def random_timestamps(rng: random.Random, n: int) -> list[str]:
    """Random instants over years with clock changes, in every spelling the contract allows."""
    start = datetime(2019, 1, 1)
    out = []
    for _ in range(n):
        moment = start + timedelta(seconds=rng.randrange(8 * 365 * 86400))
        if rng.random() < 0.3:  # near a clock change, to hit skipped and repeated hours
            moment = moment.replace(month=rng.choice([3, 10]), day=rng.randrange(24, 32))
        text = moment.strftime(rng.choice(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]))
        if len(text) > 10 and rng.random() < 0.3:
            text += "." + str(rng.randrange(10**6)).zfill(rng.randrange(1, 7))[:6]
        if len(text) > 10 and rng.random() < 0.5:
            hours, minutes = rng.randrange(-12, 15), rng.choice([0, 30, 45])
            text += rng.choice(["Z", f"{hours:+03d}:{minutes:02d}", f"{hours:+03d}{minutes:02d}"])
        out.append(text)
    return out


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_bulk_timestamps_equal_python_on_random_instants(zone):
    values = random_timestamps(random.Random(15), 20_000)
    assert in_bulk(ColumnType.TIMESTAMP, values, zone, True) == one_by_one(
        ColumnType.TIMESTAMP, values, zone, True
    )


def test_bulk_numbers_equal_python_on_random_values():
    rng = random.Random(3)
    values = [
        f"{rng.choice(['', '-'])}{rng.randrange(10 ** rng.randrange(1, 16))}"
        + rng.choice(["", f".{rng.randrange(10 ** rng.randrange(1, 6))}"])
        for _ in range(20_000)
    ]
    for column_type in (ColumnType.DECIMAL, ColumnType.INTEGER):
        assert in_bulk(column_type, values, UTC, True) == one_by_one(column_type, values, UTC, True)


def test_parquet_values_of_the_column_type_are_taken_as_they_are():
    berlin = ZoneInfo("Europe/Berlin")
    moment = datetime(2026, 11, 21, 9, tzinfo=UTC)
    cases = [
        (ColumnType.INTEGER, pa.array([1, None, -3], pa.int32()), [1, None, -3]),
        (ColumnType.DATE, pa.array([date(2026, 11, 21)]), [date(2026, 11, 21)]),
        (
            ColumnType.TIMESTAMP,
            pa.array([moment], pa.timestamp("ms", tz="Europe/Berlin")),
            [moment],
        ),
        (ColumnType.DECIMAL, pa.array([Decimal("1.25")], pa.decimal128(6, 2)), [Decimal("1.25")]),
        (ColumnType.STRING, pa.array(["P1", " "], pa.string_view()), ["P1", None]),
        # 14 digits and a fraction may pass MAX_DECIMAL: typed (and refused) by `parsing`
        (ColumnType.DECIMAL, pa.array([Decimal("99999999999999.5")], pa.decimal128(18, 4)), [None]),
        # not of the column's type: typed value by value, as `parsing` does
        (ColumnType.INTEGER, pa.array([2.0, 2.5]), [2, None]),
        (ColumnType.TIMESTAMP, pa.array([datetime(2026, 11, 21, 10)]), [moment]),
    ]
    for column_type, values, expected in cases:
        typed, _ = type_column(column_type, values, berlin, False)
        assert typed.to_pylist() == expected
