"""The one duration grammar of hyperweb's commands (pure).

A duration is one or more parts `<number><unit>`, optionally spaced, case-insensitive:

    90m  90min  2h  1.5h  1h30m  1h 30m  1d  2 days  1w  45s  1h30m0s (Go's time.Duration)

units: s, sec, second(s); m, min, mins, minute(s); h, hr, hrs, hour(s); d, day(s); w, week(s).
A bare number (`90`, `1.5`: digits, no sign or exponent) is hours in every command (`bare_unit`
names another unit for a caller whose bare numbers always meant one). Anything else (`-2h`,
`1h30`, `2x`, `PT2H`, `1e3`, `soon`) is refused with a ValueError naming the text.
docs/OPERATIONS.md, "Durations and times", documents it once; every command's --help points there.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["EXAMPLES", "HELP", "UNITS", "go_duration", "parse_duration", "parse_hours", "readable_duration"]

UNITS: dict[str, int] = {
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
EXAMPLES = "90m, 2h, 1h30m or 1d"
# What each command's --help says about its durations (the grammar itself is documented once).
HELP = f"a duration such as {EXAMPLES}; a bare number is hours (docs/OPERATIONS.md, 'Durations and times')"

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")


def parse_duration(text: str | None, *, bare_unit: str = "h", positive: bool = False) -> timedelta:
    """`text` in the grammar above as a timedelta (>= 0, or > 0 with `positive`); a bare number
    is in `bare_unit`. ValueError naming the text otherwise."""
    raw = (text or "").strip().lower()
    if _NUMBER.fullmatch(raw):
        seconds = float(raw) * UNITS[bare_unit]
    else:
        parts = _PART.findall(raw)
        if not parts or _PART.sub("", raw).strip() or any(unit not in UNITS for _, unit in parts):
            raise ValueError(
                f"bad duration {text!r}: it is not a duration such as {EXAMPLES} "
                "(docs/OPERATIONS.md, 'Durations and times')"
            )
        seconds = sum(float(n) * UNITS[unit] for n, unit in parts)
    try:
        value = timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"bad duration {text!r}: it is too long") from None
    if positive and value <= timedelta(0):
        raise ValueError(f"bad duration {text!r}: it must be more than 0")
    return value


def parse_hours(text: str | None, *, positive: bool = False) -> float:
    """The same grammar, in hours (a bare number is hours)."""
    return parse_duration(text, positive=positive).total_seconds() / 3600


def go_duration(seconds: float) -> str:
    """`3h2m1s` like Go's time.Duration.String() in whole seconds (truncated), as HyperSDK writes
    its uptime and estimated_remaining (and as parse_duration reads back)."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def readable_duration(seconds: float) -> str:
    """A measured duration for people, in the unit that suits it: `76.6 ms`, `12.3 s`,
    `1 h 2 min 5 s` (a backup's result on its page)."""
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    whole = round(seconds)
    parts = [(whole // 3600, "h"), (whole % 3600 // 60, "min"), (whole % 60, "s")]
    return " ".join(f"{n} {unit}" for n, unit in parts if n)
