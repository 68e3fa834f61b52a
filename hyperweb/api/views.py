"""The base view and request helpers every hyperweb API view uses (see hyperweb.api's docstring)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework import views as drf_views
from rest_framework.request import Request

from hyperweb.api.errors import api_error


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def require_body(request: Request) -> Any:
    """The parsed JSON body; a 400 when none was sent (an empty body is not `{}`)."""
    data = request.data
    if request.stream is None and not data:
        raise api_error(400, "a JSON request body is required")
    return data


def parse_body(
    request: Request, serializer_class: type[serializers.Serializer], **context: Any
) -> dict[str, Any]:
    """Validate a JSON object body with `serializer_class`; 400 naming the field otherwise."""
    data = request.data
    if not isinstance(data, dict):
        raise api_error(400, f"request body must be a JSON object, got {json_type(data)}")
    serializer = serializer_class(data=data, context={"request": request, **context})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def parse_query(
    request: Request, serializer_class: type[serializers.Serializer], **context: Any
) -> dict[str, Any]:
    """Validate query parameters (`?start=...&end=...`) with `serializer_class`."""
    serializer = serializer_class(data=request.query_params.dict(), context={"request": request, **context})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class APIView(drf_views.APIView):
    """Base class: DRF's APIView with hyperweb's defaults (auth, roles, JSON, errors from settings).

    Set `permission_classes` (IsViewer is the default), `query_serializer_class` when the view
    reads query parameters (so the schema documents its 400), and annotate the success response
    with drf_spectacular's `@extend_schema(request=..., responses=...)`.
    """

    query_serializer_class: type[serializers.Serializer] | None = None

    def body(self, serializer_class: type[serializers.Serializer], **context: Any) -> dict[str, Any]:
        return parse_body(self.request, serializer_class, **context)

    def query(
        self, serializer_class: type[serializers.Serializer] | None = None, **context: Any
    ) -> dict[str, Any]:
        serializer_class = serializer_class or self.query_serializer_class
        if serializer_class is None:
            raise TypeError(f"{type(self).__name__} has no query_serializer_class")
        return parse_query(self.request, serializer_class, **context)
