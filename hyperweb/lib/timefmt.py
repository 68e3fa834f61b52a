"""Instants in text: written as UTC with a `Z`, read from ISO 8601 (pure).

Written: `2026-01-31T22:00:00Z`, with `timespec` as `datetime.isoformat` takes it (`auto` adds the
microseconds only when there are any). A naive datetime is taken as UTC, a date as its midnight.

Read: `2026-01-31T22:00:00Z`, an offset (`+01:00`, converted to UTC), naive (meaning UTC: the
HyperSDK Python client sends `datetime.isoformat()` of naive UTC datetimes), a date alone
(midnight UTC) or a space instead of the `T`. Go clients send RFC 3339 with up to 9 fractional
digits; the digits past the 6th are cut, not rounded. Anything else is a ValueError naming the
text.

Every timestamp hyperweb takes in lies in [EARLIEST, LATEST): `0001-01-01T00:00:00+01:00` does
not exist in UTC, and a time near year 9999 overflows as soon as hyperweb adds a window, a
duration or a day to it. `parse_timestamp` checks the bound once, for the API, the forms and the
commands.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "EARLIEST",
    "EXAMPLE",
    "LATEST",
    "RANGE_TEXT",
    "OutOfRange",
    "check_range",
    "format_utc",
    "format_utc_short",
    "parse_instant",
    "parse_timestamp",
]

EXAMPLE = "2026-01-31T22:00:00Z"
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
RANGE_TEXT = "between 1970-01-01T00:00:00Z and 2100-01-01T00:00:00Z"
_ZERO = timedelta(0)
# More than 6 fractional digits (Go's RFC3339Nano): keep the first 6.
_EXTRA_DIGITS = re.compile(r"(\.\d{6})\d+")


class OutOfRange(ValueError):
    """An ISO 8601 text whose instant does not exist in UTC (before year 1 or after 9999)."""


def format_utc(value: datetime | date, timespec: str = "auto") -> str:
    """`2026-01-31T22:00:00Z` (`timespec` as datetime.isoformat: auto, minutes, seconds,
    milliseconds, microseconds). Naive datetimes are UTC; a date is its midnight UTC."""
    if isinstance(value, datetime) and value.tzinfo is UTC:  # the usual case, first (CSV exports)
        return value.isoformat(timespec=timespec)[:-6] + "Z"
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day).isoformat(timespec=timespec) + "Z"
    offset = value.utcoffset()
    if offset is None:
        return value.isoformat(timespec=timespec) + "Z"
    if offset != _ZERO:
        value = value.astimezone(UTC)
    # isoformat then cutting "+00:00" is several times faster than strftime (CSV exports call
    # this for every cell of 100,000 rows).
    return value.isoformat(timespec=timespec)[:-6] + "Z"


def format_utc_short(value: datetime) -> str:
    """`2026-01-31 22:00Z`: minutes, for messages people read (naive is UTC)."""
    if value.tzinfo is not None and value.utcoffset() != _ZERO:
        value = value.astimezone(UTC)
    return f"{value:%Y-%m-%d %H:%M}Z"


def parse_instant(value: object) -> datetime:
    """An ISO 8601 / RFC 3339 instant as an aware UTC datetime (see the module docstring);
    ValueError naming the text otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"must be an ISO 8601 timestamp string (e.g. {EXAMPLE}), not {value!r}")
    text = _EXTRA_DIGITS.sub(r"\1", value.strip())
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    if len(text) < 10:  # 20260131 (basic format) or less: not a form anyone sends
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp (e.g. {EXAMPLE})")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp (e.g. {EXAMPLE})") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise OutOfRange(f"{value!r} is out of range: a timestamp must be {RANGE_TEXT}") from None


def check_range(moment: datetime) -> datetime:
    """`moment` if it lies in [EARLIEST, LATEST) (naive = UTC); ValueError otherwise."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not EARLIEST <= aware < LATEST:
        raise ValueError(f"must be {RANGE_TEXT}")
    return moment


def parse_timestamp(value: object) -> datetime:
    """`parse_instant`, refusing an instant outside [EARLIEST, LATEST) with OutOfRange."""
    parsed = parse_instant(value)
    try:
        return check_range(parsed)
    except ValueError:
        raise OutOfRange(f"{value!r} is out of range: a timestamp must be {RANGE_TEXT}") from None
