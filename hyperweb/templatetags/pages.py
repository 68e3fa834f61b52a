"""Template helpers for the dashboard pages: times, numbers, badges.

Times are rendered inside a <time datetime="...Z"> element (the attribute always UTC) in Django's
current timezone: the one the signed-in user chose (accounts.middleware activates it), else UTC,
each with its zone's abbreviation. static/js/localtime.js rewrites the text from the attribute into
the viewer's timezone (the chosen one, else the browser's), and the title (shown on hover) keeps
the zone's local time, so a page reads right without JavaScript and better with it. Texts the
services write in UTC ("window 08:45-10:45 UTC") go through `in_viewer_zone`, which rewrites them
the same way; their element keeps the UTC text in data-utc-original, which the script starts from
(a time is never converted twice).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.roles import ROLES, Someone, role_of
from hyperweb.lib import units, zonetext
from hyperweb.lib.timefmt import format_utc

register = template.Library()


def _tz(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _zone_title(utc: datetime, zone_tz: str | None) -> str:
    local_zone = _tz(zone_tz)
    return f"{zonetext.instant(utc, local_zone)} ({zone_tz or 'UTC'}, the zone's time)"


@register.simple_tag
def when(
    value: datetime | None, zone_tz: str | None = None, style: str = "datetime", in_zone: str = ""
) -> SafeString | str:
    """A <time> element: the time in the current timezone (the viewer's choice, else UTC), the
    viewer's time via JS, the zone's local time on hover; `in_zone` ("UTC") pins it to that zone
    (a report's times), on the server and in the browser alike."""
    if value is None:
        return "—"
    utc = value.astimezone(UTC)
    shown = _tz(in_zone) if in_zone else timezone.get_current_timezone()
    return format_html(
        '<time datetime="{}" data-style="{}"{} title="{}">{}</time>',
        format_utc(utc),
        style,
        format_html(' data-zone="{}"', in_zone) if in_zone else "",
        _zone_title(utc, zone_tz),
        zonetext.instant(utc, shown, style),
    )


@register.simple_tag
def span(start: datetime | None, end: datetime | None, zone_tz: str | None = None) -> SafeString | str:
    """A range of times ("Thu 3 Dec 2026 11:00-13:00 CET"), written by the same rule as `when`
    (localtime.js rewrites it from data-start and data-end in the viewer's zone)."""
    if start is None or end is None:
        return when(start or end, zone_tz)
    return format_html(
        '<span class="span" data-start="{}" data-end="{}" title="{}">{}</span>',
        format_utc(start),
        format_utc(end),
        f"{_zone_title(start.astimezone(UTC), zone_tz)} to {zonetext.instant(end, _tz(zone_tz), 'time')}",
        zonetext.span(start, end, timezone.get_current_timezone()),
    )


@register.simple_tag
def zone_labels(name: str | None) -> str:
    """`3600=CET 7200=CEST`: the labels of a chosen timezone, for <html data-timezone-labels>."""
    return zonetext.labels(_tz(name), datetime.now(UTC)) if name else ""


def _ref(value: object) -> datetime | None:
    return value if isinstance(value, datetime) else None


@register.filter
def in_viewer_zone(text: str | None, ref: object = None) -> str:
    """A service's text with its UTC times ("08:45-10:45 UTC") in the current timezone; a time
    without a date is on the day of `ref` (a datetime), else today."""
    return zonetext.rewrite(str(text or ""), timezone.get_current_timezone(), _ref(ref))


@register.filter
def in_viewer_zone_days(text: str | None, ref: object = None) -> str:
    """`in_viewer_zone` for a schedule ("at 01:30 UTC, on Monday to Friday"): a time on another
    day locally says so ("at 17:30 PST the day before, ...")."""
    return zonetext.rewrite(str(text or ""), timezone.get_current_timezone(), _ref(ref), days=True)


@register.filter
def utc_stamp(value: datetime | None) -> str:
    """`2026-12-02 08:45 UTC` whatever the current timezone (texts that say UTC)."""
    return "" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


@register.filter
def utc_month(value: datetime | None) -> str:
    """`2026-12`: the UTC month (reports add up UTC months, whatever the viewer's timezone)."""
    return "" if value is None else f"{value.astimezone(UTC):%Y-%m}"


@register.filter
def utc_iso(value: datetime | None) -> str:
    """`2026-12-02T08:45:00Z` whatever the current timezone (attributes scripts read)."""
    return "" if value is None else format_utc(value)


@register.filter
def viewer_stamp(value: datetime | None) -> str:
    """`Thu 2 Dec 2026 09:45 CET`: the time in the current timezone, with its abbreviation."""
    return "" if value is None else zonetext.instant(value, timezone.get_current_timezone())


def _together(text: str) -> str:
    """A quantity on a page stays on one line: its spaces become no-break spaces ("< 0.01 g")."""
    return text.replace(" ", "\u00a0")


@register.filter
def co2(kg: float | None) -> str:
    """A mass of CO2 with its unit, g, kg or t as its size suits (hyperweb.lib.units)."""
    return _together(units.co2(kg))


@register.filter
def co2_g(grams: float | None) -> str:
    """A mass of CO2 given in grams, written as co2 writes kilograms."""
    return co2(None if grams is None else grams / 1000)


@register.filter
def kwh(value: float | None) -> str:
    """Energy in Wh, kWh or MWh as its size suits (hyperweb.lib.units)."""
    return _together(units.energy(value))


@register.filter
def gb(value: float | None) -> str:
    """A data size given in GB (10^9 bytes), in decimal SI units (hyperweb.lib.units)."""
    return _together(units.data_gb(value))


@register.filter
def data_bytes(value: float | None) -> str:
    """A byte count in decimal SI units (315 MB), never binary units under SI names."""
    return _together(units.data_bytes(value))


@register.filter
def basename(path: str | None) -> str:
    """The last part of a VM path (the list shows names, the backup page the full path)."""
    return (path or "").rstrip("/").rsplit("/", 1)[-1] or (path or "")


@register.filter
def quality_class(quality: str | None) -> str:
    return "q-" + (quality or "unknown").replace(" ", "-")


@register.filter
def hours(value: object) -> str:
    """A timedelta as hours ("1.5 h"), or minutes below an hour ("1 min", not "0.0166667 h")."""
    seconds = getattr(value, "total_seconds", None)
    if seconds is None:
        return "—"
    if seconds() < 3600:
        return f"{round(seconds() / 60, 1):g} min"
    return f"{round(seconds() / 3600, 2):g} h"


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: object) -> str:
    """The current query string with some parameters replaced (pagination and sorting links)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + params.urlencode() if params else "?"


@register.simple_tag
def user_role(user: Someone | None) -> str:
    """The user's role name ("viewer", "operator", "admin") or "" for none."""
    return role_of(user) or ""


@register.filter
def at_least(role: str, wanted: str) -> bool:
    """`{% if role|at_least:"operator" %}`: role ranking as accounts.roles defines it."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(wanted)


_OPERATION_NOUNS = {"backup": "backup", "restore": "restore", "verify": "verification"}


@register.filter
def operation_noun(job: object) -> str:
    """What a run is, in words: "backup", "restore" or "verification" (buttons, headings)."""
    return _OPERATION_NOUNS.get(str(getattr(job, "operation", "backup")), "backup")
