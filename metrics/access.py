"""Who may scrape /metrics: a bearer token (METRICS_TOKEN, compared in constant time) or a
connecting address inside METRICS_ALLOW_IPS. The address is the socket's (REMOTE_ADDR), never a
header a client can write: behind a proxy, allow the proxy's address or use the token."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _allowed_address(request: HttpRequest) -> bool:
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return False
    for item in settings.METRICS_ALLOW_IPS:
        network = ipaddress.ip_network(item, strict=False)
        if address.version == network.version and address in network:
            return True
    return False


def _bearer(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION") or ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def refused(request: HttpRequest) -> tuple[int, str] | None:
    """None when the request may read the metrics, else (status, message)."""
    token = _bearer(request)
    configured = settings.METRICS_TOKEN
    if token is not None:
        if configured and hmac.compare_digest(token.encode(), configured.encode()):
            return None
        return 401, "invalid metrics token"
    if _allowed_address(request):
        return None
    if configured:
        return 401, "authentication required: send Authorization: Bearer <METRICS_TOKEN>"
    return 403, "metrics are not open to this address (METRICS_ALLOW_IPS) and no METRICS_TOKEN is set"
