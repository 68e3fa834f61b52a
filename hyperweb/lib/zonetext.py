"""Times in words, in a viewer's timezone (pure): the one rule every page follows, here for the
server (a page read without JavaScript) and in static/js/localtime.js for the browser, which
writes the same text.

The rule: a 24-hour clock, the day written out, never in digits alone, and the zone's label.
- `datetime`: `Thu 3 Dec 2026 09:45 CET`; `seconds`: `Thu 3 Dec 2026 09:45:12 CET`;
  `time`: `09:45 CET`.
- `span(start, end)`: `Thu 3 Dec 2026 11:00-13:00 CET` within one local day, else
  `Thu 3 Dec 2026 23:00 CET - Fri 4 Dec 2026 07:00 CET`.
- The label is the zone's abbreviation from the tz database (CET, CEST, PST, GMT, BST, JST), or,
  for a zone that has none (tzdata writes `-03`, `+0545`), its offset as `GMT-3`, `GMT+5:45`.
  `labels(zone, around)` lists a zone's labels by UTC offset, which the base template hands to
  localtime.js for a chosen zone, so both paths name it alike.

`rewrite(text, zone, ref)` rewrites the UTC times in a text the services wrote ("Best 2 h window
08:45-10:45 UTC", "at 22:00 UTC, every day", "start at 2026-12-02 08:45 UTC") by the same rule: a
time without a date is on the day of `ref` (UTC) and stays a time (`09:45-11:45 CET`), a range
that ends before it starts ends the next day, a dated time gets the date as above; with `days` a
time whose local day differs from its UTC day says so ("at 14:00 PST the day before, on Monday to
Friday"). In UTC the times are only reformatted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

__all__ = ["instant", "label", "labels", "rewrite", "span"]

_UTC_TEXT = re.compile(r"(\d{4}-\d{2}-\d{2} )?(\d{2}):(\d{2})(?:-(\d{2}):(\d{2}))? UTC")
_NUMERIC = re.compile(r"^([+-])(\d{2})(\d{2})?$")


def label(local: datetime) -> str:
    """The zone's label of an aware datetime: `CET`, `PST`, `UTC`, or `GMT-3` / `GMT+5:45`."""
    name = local.tzname() or ""
    numeric = _NUMERIC.match(name)
    if numeric is None and name:
        return name
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "GMT"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    return f"GMT{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else "")


def _date(local: datetime) -> str:
    return f"{local:%a} {local.day} {local:%b %Y}"


def instant(when: datetime, zone: tzinfo, style: str = "datetime") -> str:
    """`when` in `zone` by the rule above (`datetime`, `seconds` or `time`)."""
    local = when.astimezone(zone)
    if style == "time":
        return f"{local:%H:%M} {label(local)}"
    clock = f"{local:%H:%M:%S}" if style == "seconds" else f"{local:%H:%M}"
    return f"{_date(local)} {clock} {label(local)}"


def span(start: datetime, end: datetime, zone: tzinfo) -> str:
    """`Thu 3 Dec 2026 11:00-13:00 CET` (one local day), else both ends in full."""
    first, last = start.astimezone(zone), end.astimezone(zone)
    if first.date() != last.date():
        return f"{instant(start, zone)} - {instant(end, zone)}"
    if label(first) != label(last):  # a clock change inside the range
        return f"{_date(first)} {first:%H:%M} {label(first)}-{last:%H:%M} {label(last)}"
    return f"{_date(first)} {first:%H:%M}-{last:%H:%M} {label(last)}"


@lru_cache(maxsize=256)
def _labels(zone: tzinfo, year: int) -> tuple[tuple[int, str], ...]:
    seen: dict[int, str] = {}
    probe = datetime(year - 1, 1, 1, tzinfo=UTC)
    while probe.year <= year + 1:
        local = probe.astimezone(zone)
        offset = int((local.utcoffset() or timedelta(0)).total_seconds())
        seen.setdefault(offset, label(local))
        probe += timedelta(days=7)
    return tuple(sorted(seen.items()))


def labels(zone: tzinfo, around: datetime) -> str:
    """`3600=CET 7200=CEST`: the zone's labels by UTC offset (seconds) in the years around
    `around` (for localtime.js: a zone's labels as the server writes them)."""
    return " ".join(f"{offset}={name}" for offset, name in _labels(zone, around.year))


def rewrite(text: str, zone: tzinfo, ref: datetime | None = None, *, days: bool = False) -> str:
    """`text` with each `HH:MM UTC`, `HH:MM-HH:MM UTC` or `YYYY-MM-DD HH:MM UTC` in `zone`."""
    base = (ref or datetime.now(UTC)).astimezone(UTC)

    def one(match: re.Match[str]) -> str:
        day, h1, m1, h2, m2 = match.groups()
        on = datetime.strptime(day.strip(), "%Y-%m-%d").date() if day else base.date()
        start = datetime(on.year, on.month, on.day, int(h1), int(m1), tzinfo=UTC)
        local = start.astimezone(zone)
        if h2 is None:
            out = instant(start, zone, "datetime" if day else "time")
        else:
            end = datetime(on.year, on.month, on.day, int(h2), int(m2), tzinfo=UTC)
            if end < start:
                end += timedelta(days=1)
            if day:
                out = span(start, end, zone)
            else:
                last = end.astimezone(zone)
                out = f"{local:%H:%M}-{last:%H:%M} {label(last)}"
        if days and not day:
            shift = (local.date() - start.date()).days
            out += " the day before" if shift < 0 else " the day after" if shift > 0 else ""
        return out

    return _UTC_TEXT.sub(one, text)
