"""hyperweb.lib.timefmt (instants written and read) and hyperweb.lib.csvstream."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from hyperweb.lib.csvstream import Echo, LineWriter, csv_lines
from hyperweb.lib.timefmt import OutOfRange, format_utc, parse_instant, parse_timestamp

MOMENT = datetime(2026, 1, 31, 22, 0, 5, 123456, tzinfo=UTC)
WHOLE = datetime(2026, 1, 31, 22, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "value, timespec, expected",
    [
        (MOMENT, "auto", "2026-01-31T22:00:05.123456Z"),
        (WHOLE, "auto", "2026-01-31T22:00:05Z"),
        (MOMENT, "seconds", "2026-01-31T22:00:05Z"),  # cut, not rounded, as strftime did
        (MOMENT, "minutes", "2026-01-31T22:00Z"),
        (WHOLE, "microseconds", "2026-01-31T22:00:05.000000Z"),
        (MOMENT.astimezone(timezone(timedelta(hours=1))), "auto", "2026-01-31T22:00:05.123456Z"),
        (MOMENT.astimezone(ZoneInfo("Europe/Berlin")), "seconds", "2026-01-31T22:00:05Z"),
        (MOMENT.astimezone(ZoneInfo("UTC")), "auto", "2026-01-31T22:00:05.123456Z"),
        (MOMENT.replace(tzinfo=None), "auto", "2026-01-31T22:00:05.123456Z"),  # naive is UTC
        (date(2026, 1, 31), "auto", "2026-01-31T00:00:00Z"),
    ],
)
def test_it_writes_utc_with_a_z(value, timespec, expected) -> None:
    assert format_utc(value, timespec) == expected


@pytest.mark.parametrize("value", [MOMENT, WHOLE, MOMENT.astimezone(ZoneInfo("Asia/Tokyo"))])
def test_it_writes_what_the_hand_written_formatters_wrote(value: datetime) -> None:
    assert format_utc(value, "seconds") == value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert format_utc(value, "minutes") == value.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
    assert format_utc(value) == value.astimezone(UTC).isoformat().replace("+00:00", "Z")


ACCEPTED = [
    ("2026-01-31T22:00:00Z", datetime(2026, 1, 31, 22, tzinfo=UTC)),
    ("2026-01-31T22:00:00z", datetime(2026, 1, 31, 22, tzinfo=UTC)),
    ("2026-01-31T22:00Z", datetime(2026, 1, 31, 22, tzinfo=UTC)),
    ("2026-01-31T23:00:00+01:00", datetime(2026, 1, 31, 22, tzinfo=UTC)),
    ("2026-01-31T22:00:00", datetime(2026, 1, 31, 22, tzinfo=UTC)),  # naive is UTC (HyperSDK)
    ("2026-01-31 22:00", datetime(2026, 1, 31, 22, tzinfo=UTC)),
    ("2026-01-31", datetime(2026, 1, 31, tzinfo=UTC)),  # a date is its midnight UTC
    ("  2026-01-31T22:00:00Z ", datetime(2026, 1, 31, 22, tzinfo=UTC)),
    ("2026-01-31T22:00:00.123456789Z", datetime(2026, 1, 31, 22, 0, 0, 123456, tzinfo=UTC)),  # Go
    ("2026-01-31T22:00:00.5Z", datetime(2026, 1, 31, 22, 0, 0, 500000, tzinfo=UTC)),
]

REJECTED = ["", "yesterday", "2026-13-01", "2026-01-32", "20260131", "2026", "31/01/2026", "2026-01-31T25:00"]


@pytest.mark.parametrize("text, expected", ACCEPTED)
def test_it_reads_iso_8601(text: str, expected: datetime) -> None:
    parsed = parse_instant(text)
    assert parsed == expected and parsed.tzinfo is UTC
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", REJECTED)
def test_it_refuses_naming_the_text(text: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO 8601 timestamp") as info:
        parse_instant(text)
    assert repr(text) in str(info.value)
    assert not isinstance(info.value, OutOfRange)


def test_it_refuses_what_is_not_text() -> None:
    with pytest.raises(ValueError, match="must be an ISO 8601 timestamp string"):
        parse_instant(1234)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z", "2100-01-01T00:00:00Z", "9999-12-31"]
)
def test_timestamps_outside_1970_to_2100_are_out_of_range(text: str) -> None:
    with pytest.raises(OutOfRange, match="out of range: a timestamp must be between 1970"):
        parse_timestamp(text)


def test_it_round_trips() -> None:
    for value in (MOMENT, WHOLE):
        assert parse_instant(format_utc(value)) == value


def test_csv_lines_stream_one_line_at_a_time() -> None:
    assert Echo().write("x") == "x"
    assert LineWriter().writerow(["a", "b,c"]) == 'a,"b,c"\r\n'
    lines = csv_lines(iter([[1, 2.5], ["x", None]]), header=["n", "v"])
    assert next(lines) == "n,v\r\n"
    assert list(lines) == ["1,2.5\r\n", "x,\r\n"]


def test_it_writes_minutes_for_people() -> None:
    from hyperweb.lib.timefmt import format_utc_short

    assert format_utc_short(MOMENT) == "2026-01-31 22:00Z"
    assert format_utc_short(MOMENT.astimezone(ZoneInfo("Asia/Tokyo"))) == "2026-01-31 22:00Z"
    assert format_utc_short(MOMENT.replace(tzinfo=None)) == "2026-01-31 22:00Z"
