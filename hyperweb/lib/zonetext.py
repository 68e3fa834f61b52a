"""Times in words, in a viewer's timezone (pure): what static/js/localtime.js does in the browser,
done on the server for a page read without JavaScript.

`instant(when, zone, style)` writes an instant as `2026-12-02 09:45 CET` (`time`: `09:45 CET`,
`seconds`: `2026-12-02 09:45:00 CET`). `rewrite(text, zone, ref)` rewrites the UTC times in a text
the services wrote ("Best 2 h window 08:45-10:45 UTC", "at 22:00 UTC, every day") into `zone`: a
time without a date is on the day of `ref` (UTC), a range that ends before it starts ends the next
day, and with `days` a time whose local day differs from its UTC day says so ("at 14:00 PST the
day before, on Monday to Friday"). In UTC the text is returned as it is.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

__all__ = ["instant", "rewrite"]

_UTC_TEXT = re.compile(r"(\d{4}-\d{2}-\d{2} )?(\d{2}):(\d{2})(?:-(\d{2}):(\d{2}))? UTC")
_STYLES = {"time": "%H:%M %Z", "seconds": "%Y-%m-%d %H:%M:%S %Z", "datetime": "%Y-%m-%d %H:%M %Z"}


def _is_utc(zone: tzinfo) -> bool:
    probe = datetime(2026, 1, 1, tzinfo=UTC)
    return zone.utcoffset(probe) == timedelta(0) and zone.utcoffset(probe.replace(month=7)) == timedelta(0)


def instant(when: datetime, zone: tzinfo, style: str = "datetime") -> str:
    """`when` in `zone` with the zone's abbreviation (UTC: `... UTC`)."""
    return when.astimezone(zone).strftime(_STYLES.get(style, _STYLES["datetime"]))


def rewrite(text: str, zone: tzinfo, ref: datetime | None = None, *, days: bool = False) -> str:
    """`text` with each `HH:MM UTC`, `HH:MM-HH:MM UTC` or `YYYY-MM-DD HH:MM UTC` in `zone`."""
    if _is_utc(zone):
        return text
    base = (ref or datetime.now(UTC)).astimezone(UTC)

    def one(match: re.Match[str]) -> str:
        day, h1, m1, h2, m2 = match.groups()
        on = datetime.strptime(day.strip(), "%Y-%m-%d").date() if day else base.date()
        start = datetime(on.year, on.month, on.day, int(h1), int(m1), tzinfo=UTC)
        local = start.astimezone(zone)
        out = f"{local:%H:%M}"
        if h2 is not None:
            end = datetime(on.year, on.month, on.day, int(h2), int(m2), tzinfo=UTC)
            if end < start:
                end += timedelta(days=1)
            out += f"-{end.astimezone(zone):%H:%M}"
        if day:
            out = f"{local:%Y-%m-%d} {out}"
        out += f" {local:%Z}"
        if days and not day:
            shift = (local.date() - start.date()).days
            out += " the day before" if shift < 0 else " the day after" if shift > 0 else ""
        return out

    return _UTC_TEXT.sub(one, text)
