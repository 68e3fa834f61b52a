"""The argument grammar of `manage.py carbon`: durations, times and numbers.

Times are ISO 8601 (naive means UTC) or relative: `now`, `2h ago`, `in 30m`, `+1d`. Each parser
raises ValueError on bad input, which the command prints on one line and exits with code 2.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

from django.utils import timezone

_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")


def parse_duration(text: str, *, default_unit: str = "h") -> timedelta:
    """`90m`, `1.5h`, `1h30m`, `2 days`, or a bare number in `default_unit`."""
    raw = (text or "").strip().lower()
    try:
        number = float(raw)
    except ValueError:
        pass
    else:
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"bad duration {text!r}")
        return timedelta(seconds=number * _UNITS[default_unit])
    parts = _PART.findall(raw)
    if not parts or _PART.sub("", raw).strip() or any(unit not in _UNITS for _, unit in parts):
        raise ValueError(f"bad duration {text!r} (use e.g. 30m, 2h, 1h30m, 1d)")
    return timedelta(seconds=sum(float(n) * _UNITS[unit] for n, unit in parts))


def parse_when(text: str, now: datetime) -> datetime:
    """`now`, `2h ago`, `in 30m`, `+1d`, `-15m`, or an ISO 8601 time (naive means UTC)."""
    raw = (text or "").strip()
    low = raw.lower()
    try:
        if low == "now":
            return now
        if low.endswith(" ago"):
            return now - parse_duration(low[:-4])
        if low.startswith("in "):
            return now + parse_duration(low[3:])
        if low[:1] in "+-" and low[1:2].isdigit():
            delta = parse_duration(low[1:])
            return now + delta if low[0] == "+" else now - delta
    except ValueError:
        raise ValueError(f"bad time {text!r} (use ISO 8601, now, '2h ago' or 'in 30m')") from None
    try:
        moment = datetime.fromisoformat(raw.replace(" ", "T", 1) if "T" not in raw else raw)
    except ValueError:
        raise ValueError(f"bad time {text!r} (use ISO 8601, now, '2h ago' or 'in 30m')") from None
    return moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment.astimezone(UTC)


def parse_number(text: str, name: str, *, positive: bool = True) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"bad number for {name}: {text!r}") from None
    if not math.isfinite(value) or (positive and value <= 0) or value < 0:
        raise ValueError(
            f"{name} must be a {'positive' if positive else 'non-negative'} number, not {text!r}"
        )
    return value
