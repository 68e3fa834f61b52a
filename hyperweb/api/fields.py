"""Serializer fields for the wire conventions (see hyperweb.api)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hyperweb.api.timestamps import format_timestamp, parse_timestamp


@extend_schema_field(OpenApiTypes.DATETIME)
class TimestampField(serializers.Field):
    """A UTC timestamp: accepts `Z`, offsets and naive (= UTC) input, writes `...Z` output."""

    default_error_messages = {"invalid": "{problem}"}

    def to_internal_value(self, data: Any) -> datetime:
        try:
            return parse_timestamp(data)
        except ValueError as exc:
            self.fail("invalid", problem=str(exc))

    def to_representation(self, value: datetime) -> str:
        return format_timestamp(value)


class FiniteFloatField(serializers.FloatField):
    """A float that refuses NaN and infinities (JSON has no such numbers; Python's json accepts them)."""

    def to_internal_value(self, data: Any) -> float:
        number = super().to_internal_value(data)
        if number != number or number in (float("inf"), float("-inf")):
            self.fail("invalid")
        return number


class StrictFloatField(FiniteFloatField):
    """A number that must arrive as a JSON number (not "12" and not true)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)
