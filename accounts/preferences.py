"""Each user's display timezone: chosen on the preferences page, read afresh at every request.

The preference row is the only truth: a change on one device shows on every other at its next
page load. Reading it costs no query of its own: the login backend (accounts.backends) reads each
request's user with their preference in one join. accounts.middleware activates the zone for the
page's server-rendered times; the base template puts it on <html data-timezone>, where
static/js/localtime.js reads it (no choice: the browser's timezone, and UTC without JavaScript).
The API, CSV and PDF files stay in UTC.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import available_timezones

from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest

from accounts.models import UserPreference


@cache
def timezone_names() -> tuple[str, ...]:
    """Every IANA name this server knows (the tz database), sorted; "UTC" among them."""
    return tuple(sorted(name for name in available_timezones() if "/" in name or name == "UTC"))


@cache
def _known() -> frozenset[str]:
    return frozenset(timezone_names())


def timezone_of(user: User) -> str:
    """The user's chosen timezone, or "" for the browser's."""
    pref = UserPreference.objects.filter(user=user).values_list("timezone", flat=True).first()
    return pref or ""


def viewer_zone_name(user: Any) -> str:
    """The signed-in user's chosen timezone ("" for none, for anyone else, or for a name this
    server does not know), from the preference read with the user (no query of its own)."""
    if user is None or not user.is_authenticated:
        return ""
    try:
        name = user.preference.timezone
    except ObjectDoesNotExist:
        return ""
    return name if name in _known() else ""


def save_timezone(request: HttpRequest, name: str) -> None:
    UserPreference.objects.update_or_create(user=request.user, defaults={"timezone": name})


def viewer_timezone(request: HttpRequest) -> dict[str, str]:
    """Context processor: `viewer_timezone`, the signed-in user's choice ("" for the browser's)."""
    name = getattr(request, "viewer_timezone", None)
    if name is None:  # a page rendered without a view (e.g. a 404 from the URL resolver)
        name = viewer_zone_name(getattr(request, "user", None))
    return {"viewer_timezone": name}
