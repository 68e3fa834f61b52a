"""The argument grammar of `manage.py carbon`: times and numbers (durations are hyperweb.lib's).

Times are ISO 8601 (naive means UTC) or relative: `now`, `2h ago`, `in 30m`, `+1d`. Each parser
raises ValueError on bad input, which the command prints on one line and exits with code 2.
"""

from __future__ import annotations

import math
from datetime import datetime

from hyperweb.lib.durations import parse_duration
from hyperweb.lib.timefmt import parse_instant


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
        return parse_instant(raw)  # hyperweb.lib.timefmt: naive means UTC
    except ValueError:
        raise ValueError(f"bad time {text!r} (use ISO 8601, now, '2h ago' or 'in 30m')") from None


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
