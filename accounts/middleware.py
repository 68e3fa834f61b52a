"""Pages in the viewer's timezone: the signed-in user's preference, read at every request.

A page's server-rendered times (the `when` tag, the services' "08:45 UTC" texts) follow Django's
current timezone, which this middleware activates from the user's preference (UTC without one:
the browser's zone is known only to JavaScript). The REST API (DRF views, whose DateTimeFields
follow the current timezone too), CSV and PDF files stay in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.views import APIView

from accounts.preferences import viewer_zone_name


class ViewerTimezoneMiddleware:
    """Sets `request.viewer_timezone` (the chosen IANA name, "" for none) and activates it for
    page views; every request ends in UTC again."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(self, request: HttpRequest, view_func: Any, args: Any, kwargs: Any) -> None:
        view_class = getattr(view_func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            return None  # the API answers in UTC whoever asks
        name = viewer_zone_name(getattr(request, "user", None))
        request.viewer_timezone = name  # type: ignore[attr-defined]  # read by the context processor
        if name:
            timezone.activate(ZoneInfo(name))
        return None
