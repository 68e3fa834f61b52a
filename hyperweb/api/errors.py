"""Every API failure becomes `{"error": "<message>", "timestamp": "<...Z>"}` with the right status.

- DRF views: `exception_handler` (settings.REST_FRAMEWORK["EXCEPTION_HANDLER"]) turns every
  exception, including unexpected ones, into that body. Validation errors name the field:
  `"data_size_gb: must be greater than 0"`; the per-field messages also ride in `"fields"`.
- Everything else (unknown paths, faults outside DRF): Django's handler404/handler500/... in
  hyperweb/urls.py point here. They answer JSON unless the caller is a browser asking for HTML.
- Raise `api_error(status, message)` (an APIException) from a view or helper for a one-off error.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.html import escape
from rest_framework import exceptions, status
from rest_framework.response import Response

from hyperweb.api.timestamps import now_iso

logger = logging.getLogger("hyperweb.api")


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    return {"error": message, "timestamp": now_iso(), **extra}


def error_response(status_code: int, message: str, **extra: Any) -> Response:
    return Response(error_body(message, **extra), status=status_code)


class APIError(exceptions.APIException):
    """An error with a chosen status and message."""

    wait: float  # set on a 429: the Retry-After seconds (absent otherwise)

    def __init__(self, status_code: int, message: str) -> None:
        self.status_code = status_code
        super().__init__(detail=message)


def api_error(status_code: int, message: str) -> APIError:
    return APIError(status_code, message)


def field_error(field: str, message: str) -> exceptions.ValidationError:
    """A 400 naming the field, e.g. `raise field_error("end", "must be after start")`."""
    return exceptions.ValidationError({field: [message]})


def _flatten(detail: Any, prefix: str = "") -> list[tuple[str, str]]:
    """[(field path, message)] from DRF's nested error detail."""
    if isinstance(detail, dict):
        pairs: list[tuple[str, str]] = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "detail") else str(key)
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            pairs.extend(_flatten(value, path))
        return pairs
    if isinstance(detail, list):
        pairs = []
        for index, item in enumerate(detail):
            # a list of messages for one field, or a list of nested objects (one per item)
            path = f"{prefix}[{index}]" if isinstance(item, dict | list) else prefix
            pairs.extend(_flatten(item, path))
        return pairs
    return [(prefix, str(detail))]


def validation_message(detail: Any) -> tuple[str, dict[str, list[str]]]:
    pairs = _flatten(detail)
    fields: dict[str, list[str]] = {}
    for path, message in pairs:
        fields.setdefault(path or "body", []).append(message)
    text = "; ".join(f"{path}: {message}" if path else message for path, message in pairs)
    return text or "invalid request", fields


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception, expected or not, as the JSON error body."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)

    if not isinstance(exc, exceptions.APIException):
        view = context.get("view")
        logger.exception("unhandled error in %s", type(view).__name__ if view else "API view", exc_info=exc)
        return error_response(status.HTTP_500_INTERNAL_SERVER_ERROR, "internal server error")

    headers: dict[str, str] = {}
    auth_header, wait = getattr(exc, "auth_header", None), getattr(exc, "wait", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    if wait:
        headers["Retry-After"] = str(int(wait))

    if isinstance(exc, exceptions.NotAuthenticated):
        message = (
            "authentication required: send X-API-Key, or Authorization: Bearer <token from POST /api/login>"
        )
        return Response(error_body(message), status=exc.status_code, headers=headers)
    if isinstance(exc, exceptions.ValidationError):
        message, fields = validation_message(exc.detail)
        return Response(error_body(message, fields=fields), status=exc.status_code, headers=headers)
    if isinstance(exc, exceptions.ParseError):
        message = str(exc.detail)
        if message.startswith("JSON parse error - "):
            message = "malformed JSON: " + message.removeprefix("JSON parse error - ")
        return Response(error_body(message), status=exc.status_code, headers=headers)
    if isinstance(exc.detail, dict | list):
        message, _ = validation_message(exc.detail)
    else:
        message = str(exc.detail)
    return Response(error_body(message), status=exc.status_code, headers=headers)


# --- Django-level handlers (outside DRF views) --------------------------------------------------


def wants_html(request: HttpRequest) -> bool:
    """A browser navigating (Accept lists text/html) gets a page; API clients (*/* or JSON) get JSON."""
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "application/json" not in accept.split(",")[0]


def json_error(status_code: int, message: str) -> JsonResponse:
    return JsonResponse(error_body(message), status=status_code, json_dumps_params={"separators": (",", ":")})


def _page_or_json(request: HttpRequest, status_code: int, message: str, template: str) -> HttpResponse:
    if wants_html(request):
        try:
            body: str = loader.render_to_string(template, {"message": message}, request)
        except Exception:  # no template (or a broken one): plain text, never a traceback
            # The message may hold the requested path, which the caller chose: escape it.
            body = f"<h1>{status_code}</h1><p>{escape(message)}</p>"
        return HttpResponse(body, status=status_code)
    return json_error(status_code, message)


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page_or_json(request, 400, "bad request", "400.html")


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page_or_json(request, 403, "forbidden", "403.html")


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _page_or_json(request, 404, f"no such resource: {request.path}", "404.html")


def handler500(request: HttpRequest) -> HttpResponse:
    return _page_or_json(request, 500, "internal server error", "500.html")
