"""Refuse what no view should see: a too-large body (JSON 413) or a NUL in the URL (JSON 400).

A body sent with `Transfer-Encoding: chunked` has no Content-Length, and Django then reads it as
empty: a 10 MB chunked body would silently become `{}`. When the server has de-chunked it and
marks the stream as terminated (gunicorn sets `wsgi.input_terminated`), the body is read here up
to the limit (413 beyond it) and handed on with its real length; a server that cannot say where
such a body ends gets a 400 asking for Content-Length.
"""

from __future__ import annotations

import io
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
        if limit is not None and length > limit and not (request.content_type or "").startswith("multipart/"):
            return json_error(
                413, f"request body of {length} bytes is larger than the limit of {limit} bytes"
            )
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and not length:
            refused = _read_chunked(request, limit)
            if refused is not None:
                return refused
        return self.get_response(request)


def _read_chunked(request: HttpRequest, limit: int | None) -> HttpResponse | None:
    """Read a chunked body (at most `limit` bytes) into the request, or the error to answer."""
    if not request.META.get("wsgi.input_terminated"):
        return json_error(
            400, "this server cannot read a chunked request body: send it with a Content-Length header"
        )
    stream = request.META["wsgi.input"]
    body = stream.read(limit + 1) if limit is not None else stream.read()
    if limit is not None and len(body) > limit:
        return json_error(413, f"request body is larger than the limit of {limit} bytes")
    request.META["CONTENT_LENGTH"] = str(len(body))
    request._stream = io.BytesIO(body)  # what WSGIRequest reads request.body and request.read() from
    return None
