"""Web requests never wait on a remote carbon provider (issue: one silent provider stalled the
web server). Every request runs inside `carbon.services.fetching.web_request()`: a read that
finds a zone's data due for a refresh answers from what is stored (flagged stale when old) and
queues the refresh for the workers instead of asking the provider itself."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from carbon.services.fetching import web_request


class ProviderWaitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with web_request():
            return self.get_response(request)
