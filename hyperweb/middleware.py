"""Response headers for signed-in callers (the Content-Security-Policy is django-csp's, in settings)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


class PrivateNoStoreMiddleware:
    """Answers to a signed-in caller (session, API key or bearer token) are `private, no-store`:
    no shared proxy and no browser cache keeps a page or an API answer meant for one user (a
    shared computer's back button, a caching proxy). DRF puts the user it authenticated on the
    Django request, so API keys count too; anonymous answers (/health, static files) are untouched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


class MethodNotAllowedBodyMiddleware:
    """A page's 405 says why in words: Django's `require_POST` answers with an empty body, which a
    browser shows as a blank page (e.g. a bookmarked /backups/<id>/verify). An answer that already
    has a body (the API's JSON errors) is left as it is."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or getattr(response, "streaming", False) or response.content:
            return response
        allowed = response.get("Allow", "")
        page = request.path.rstrip("/").rsplit("/", 1)[0] or "/"
        text = (
            f"405 Method Not Allowed: {request.path} takes {allowed or 'no'} requests, not {request.method}. "
            f"It is the action of a button on {page}: open that page and use the button there.\n"
            if allowed == "POST"
            else f"405 Method Not Allowed: {request.path} takes {allowed or 'no other'} requests, not {request.method}.\n"
        )
        response.content = text.encode()
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
