"""Turning what a person typed (API query, form, command line) into a checked Period (pure).

One place for the rules, so the API's 400, the page's form error and the command's exit 2 say
the same thing:
- `period` = 2026 | 2026-Q3 | 2026-09, or `start` and `end`;
- a bare date as `end` includes that whole day (end = the next midnight); a date-time `end` is
  excluded; times without a zone are UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hyperweb.lib.timefmt import RANGE_TEXT, OutOfRange, parse_timestamp
from reports.esg.periods import (
    Period,
    ReportInputError,
    check_period,
    month_period,
    parse_period,
    quarter_period,
    year_period,
)


def parse_moment(text: str, *, name: str, end: bool = False) -> datetime:
    """`2026-07-01` or `2026-07-01T12:00:00Z` -> an aware UTC datetime (see the module docstring).

    Dates outside hyperweb's timestamp range (1970 to 2100) are refused: `9999-12-31` as an end
    would otherwise overflow when its next midnight is computed.
    """
    value = text.strip()
    try:
        moment = parse_timestamp(value)  # hyperweb.lib.timefmt: a date alone is its midnight UTC
    except OutOfRange:
        raise ReportInputError(
            f"{name} {text!r} is out of range: it must be {RANGE_TEXT}", field=name
        ) from None
    except ValueError:
        raise ReportInputError(
            f"{name} {text!r} is not a date (2026-07-01) or a date-time (2026-07-01T00:00:00Z)", field=name
        ) from None
    return moment + timedelta(days=1) if end and len(value) == 10 else moment


def period_from_inputs(
    *, start: str | None = None, end: str | None = None, period: str | None = None, max_days: int
) -> Period:
    """The checked period from either `period` or `start` + `end` (ReportInputError otherwise)."""
    start, end, period = (start or "").strip(), (end or "").strip(), (period or "").strip()
    if period:
        if start or end:
            raise ReportInputError("give either period or start and end, not both", field="period")
        return check_period(parse_period(period), max_days=max_days)
    if not start or not end:
        missing = "start" if not start else "end"
        raise ReportInputError(
            f"{missing} is required (or give period=2026-Q3, 2026-09 or 2026)", field=missing
        )
    chosen = Period(parse_moment(start, name="start"), parse_moment(end, name="end", end=True))
    if chosen.end <= chosen.start:  # said with the caller's own words, not the exclusive instant
        raise ReportInputError(f"end ({end}) must be after start ({start})", field="end")
    return check_period(_named(chosen), max_days=max_days)


def _named(period: Period) -> Period:
    """A custom range that is exactly a month, quarter or year is labelled as one."""
    s = period.start
    if (s.day, s.hour, s.minute, s.second, s.microsecond) != (1, 0, 0, 0, 0):
        return period
    for candidate in (
        year_period(s.year),
        quarter_period(s.year, (s.month - 1) // 3 + 1),
        month_period(s.year, s.month),
    ):
        if candidate.start == period.start and candidate.end == period.end:
            return candidate
    return period
