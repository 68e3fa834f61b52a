"""Each user's display timezone: chosen on the preferences page, kept in the session.

The choice is copied into the session when the user signs in and when they save it, so rendering
a page costs no query; the base template puts it on <html data-timezone>, where
static/js/localtime.js reads it (no choice: the browser's timezone). The API and CSV stay in UTC.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from zoneinfo import available_timezones

from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import UserPreference

SESSION_KEY = "viewer_timezone"


@cache
def timezone_names() -> tuple[str, ...]:
    """Every IANA name this server knows (the tz database), sorted; "UTC" among them."""
    return tuple(sorted(name for name in available_timezones() if "/" in name or name == "UTC"))


def timezone_of(user: User) -> str:
    """The user's chosen timezone, or "" for the browser's."""
    pref = UserPreference.objects.filter(user=user).values_list("timezone", flat=True).first()
    return pref or ""


def save_timezone(request: HttpRequest, name: str) -> None:
    UserPreference.objects.update_or_create(user=request.user, defaults={"timezone": name})
    request.session[SESSION_KEY] = name


@receiver(user_logged_in, dispatch_uid="accounts.preferences.copy_timezone")
def _copy_on_login(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = timezone_of(user)


def viewer_timezone(request: HttpRequest) -> dict[str, str]:
    """Context processor: `viewer_timezone`, the signed-in user's choice ("" for the browser's)."""
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    if session is None or user is None or not user.is_authenticated:
        return {"viewer_timezone": ""}
    if SESSION_KEY not in session:  # a session from before the setting existed
        session[SESSION_KEY] = timezone_of(user)
    name = session[SESSION_KEY]
    return {"viewer_timezone": name if name in timezone_names() else ""}
