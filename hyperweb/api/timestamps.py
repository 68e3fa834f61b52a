"""Timestamps on the wire: UTC with a `Z` out (at most 6 fractional digits); `Z`, offsets or naive in.

Naive means UTC: the HyperSDK Python client sends `datetime.isoformat()` of naive UTC datetimes.
Go clients send RFC 3339 with up to 9 fractional digits; the extra digits are cut, not rounded.

Every timestamp that comes in lies in [EARLIEST, LATEST): `0001-01-01T00:00:00+01:00` does not
exist in UTC, and a time near year 9999 overflows as soon as hyperweb adds a window, a duration
or a day to it. The bound is checked once, here, for the API, the forms and the commands.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

# More than 6 fractional digits (Go's RFC3339Nano): keep the first 6.
_EXTRA_DIGITS = re.compile(r"(\.\d{6})\d+")


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
RANGE_TEXT = "between 1970-01-01T00:00:00Z and 2100-01-01T00:00:00Z"


def check_range(moment: datetime) -> datetime:
    """`moment` if it lies in [EARLIEST, LATEST) (naive = UTC); ValueError otherwise."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not EARLIEST <= aware < LATEST:
        raise ValueError(f"must be {RANGE_TEXT}")
    return moment


def parse_timestamp(value: str) -> datetime:
    """Parse an ISO 8601 / RFC 3339 timestamp into an aware UTC datetime; ValueError if it is not
    one, or if it lies outside [EARLIEST, LATEST)."""
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 timestamp string")
    text = _EXTRA_DIGITS.sub(r"\1", value.strip())
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    if len(text) < 10:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp (e.g. 2026-01-31T22:00:00Z)") from None
    try:
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError(f"{value!r} is out of range: a timestamp must be {RANGE_TEXT}") from None
    try:
        return check_range(parsed)
    except ValueError:
        raise ValueError(f"{value!r} is out of range: a timestamp must be {RANGE_TEXT}") from None


def format_timestamp(value: datetime | date) -> str:
    """`2026-01-31T22:00:00Z` / `2026-01-31T22:00:00.123456Z`; naive datetimes are taken as UTC."""
    if not isinstance(value, datetime):  # a plain date: midnight UTC
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    else:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"


def utcnow() -> datetime:
    return datetime.now(UTC)


def now_iso() -> str:
    """The `timestamp` every response carries."""
    return format_timestamp(utcnow())


def go_duration(seconds: float) -> str:
    """`3h2m1s` like Go's time.Duration.String() in whole seconds (truncated), as HyperSDK writes
    its uptime and estimated_remaining."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
