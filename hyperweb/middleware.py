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
