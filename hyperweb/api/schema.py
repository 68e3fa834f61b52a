"""OpenAPI generation: every operation documents the error responses it can really give.

`AutoSchema` adds the `{"error", "timestamp"}` body for 400 (operations with a body or query
parameters), 401/403 (authenticated operations), 404 (paths with an id), 413 (operations with a
body), 429 (where the view sets `throttled_responses = True`), 500, and any codes listed in the
view's `extra_error_codes` (e.g. ("503",)), so views only annotate
their success response.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

_DESCRIPTIONS = {
    "400": "Bad input: the message names the field and the problem",
    "401": "Not authenticated (no, or an invalid, X-API-Key / Bearer token / session)",
    "403": "Authenticated, but the role does not allow this (or the CSRF token is missing)",
    "404": "No such resource",
    "413": "Request body larger than the limit",
    "409": "Conflict with the current state: the message says what (e.g. files exist, the backup is damaged)",
    "429": "Too many failed logins; retry after the Retry-After header's seconds",
    "500": "Server fault (details are logged, never returned)",
    "503": "No data: the providers failed and nothing usable is stored",
}


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="what went wrong, naming the field where there is one")
    timestamp = serializers.DateTimeField(help_text="UTC, Z suffix")
    fields = serializers.DictField(  # type: ignore[assignment]  # a field named like a Serializer attribute (the metaclass takes it out)
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="validation errors only: messages per field",
    )


class AutoSchema(SpectacularAutoSchema):
    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        # A view that refuses a missing body (hyperweb.api.views.require_body) sets
        # `body_required = True`; a raw-dict request schema would otherwise read as optional.
        body = super()._get_request_body(direction)
        if body is not None and getattr(self.view, "body_required", False) and self.method in ("POST", "PUT"):
            body["required"] = True
        return body

    # drf-spectacular's signature (no path, method); the DRF stubs type DRF's own inspector.
    def get_description(self) -> str:  # type: ignore[override]
        # The handler method's docstring, else the view class's own one: never a base class's
        # docstring (those describe how to write views, not what the endpoint does).
        handler = getattr(self.view, self.method.lower(), None)
        doc = getattr(handler, "__doc__", None) or type(self.view).__dict__.get("__doc__")
        return inspect.cleandoc(doc) if doc else ""

    def _error_codes(self) -> list[str]:
        codes = []
        has_body = self.method in ("POST", "PUT", "PATCH")
        if (
            has_body
            or self._get_filter_parameters()
            or self.get_override_parameters()
            or self._has_query_serializer()
        ):
            codes.append("400")
        if not all(isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        if has_body:
            codes.append("413")
        if getattr(self.view, "throttled_responses", False):
            codes.append("429")
        codes.append("500")
        codes += [code for code in getattr(self.view, "extra_error_codes", ()) if code not in codes]
        return codes

    def _has_query_serializer(self) -> bool:
        return getattr(self.view, "query_serializer_class", None) is not None

    def _get_response_bodies(self, direction: Literal["request", "response"] = "response") -> dict[str, Any]:
        bodies = super()._get_response_bodies(direction)
        if direction != "response":
            return bodies
        for code in self._error_codes():
            if code not in bodies:
                bodies[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                bodies[code]["description"] = _DESCRIPTIONS[code]
        return bodies
