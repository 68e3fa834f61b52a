"""GET /metrics: Prometheus text format, for a bearer token or an allow-listed address."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from hyperweb.api.timestamps import now_iso
from metrics.access import refused
from metrics.collector import render


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    denial = refused(request)
    if denial is not None:
        status, message = denial
        response: HttpResponse = JsonResponse({"error": message, "timestamp": now_iso()}, status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = render()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
