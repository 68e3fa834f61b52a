"""Timestamps on the wire: UTC with a `Z` out (at most 6 fractional digits); `Z`, offsets or naive in.

The rules (and the [EARLIEST, LATEST) range every incoming timestamp must lie in) are
hyperweb.lib.timefmt's, shared with the forms and the commands; this module names them for the API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from hyperweb.lib.durations import go_duration
from hyperweb.lib.timefmt import EARLIEST, LATEST, RANGE_TEXT, check_range, format_utc, parse_timestamp

__all__ = [
    "EARLIEST",
    "LATEST",
    "RANGE_TEXT",
    "check_range",
    "format_timestamp",
    "go_duration",
    "now_iso",
    "parse_timestamp",
    "utcnow",
]


def format_timestamp(value: datetime | date) -> str:
    """`2026-01-31T22:00:00Z` / `2026-01-31T22:00:00.123456Z`; naive datetimes are taken as UTC."""
    return format_utc(value)


def utcnow() -> datetime:
    return datetime.now(UTC)


def now_iso() -> str:
    """The `timestamp` every response carries."""
    return format_utc(utcnow())
