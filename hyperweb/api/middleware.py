"""Refuse what no view should see: a too-large body (JSON 413) or a NUL in the URL (JSON 400)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from hyperweb.api.errors import json_error


def _url_has_nul(request: HttpRequest) -> bool:
    """A NUL in the decoded path, or in any decoded query parameter name or value."""
    return "\x00" in request.path or any(
        "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
    )


class BodySizeLimitMiddleware:
    """Content-Length above DATA_UPLOAD_MAX_MEMORY_SIZE (env API_MAX_BODY_BYTES) -> 413 JSON.

    Django's own check fires only when something reads request.body, and DRF parsers read the
    stream directly, so without this a huge JSON body would be read in full. File uploads
    (multipart, e.g. a CSV import on the dashboard) are left to Django's upload handlers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(400, "Content-Length header is not a number")
        if _url_has_nul(request):
            # PostgreSQL cannot compare text with U+0000: refused here, once, for every path.
            return json_error(400, "the URL must not contain NUL (%00) characters")
        if limit is not None and length > limit and not request.content_type.startswith("multipart/"):
            return json_error(
                413, f"request body of {length} bytes is larger than the limit of {limit} bytes"
            )
        return self.get_response(request)
