"""Serializer fields for the wire conventions (see hyperweb.api)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from drf_spectacular.drainage import set_override
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
    """A float that refuses NaN and infinities (JSON has no such numbers; Python's json accepts them).

    `positive=True` refuses 0 and below ("must be greater than 0"); with `max_value` (see
    hyperweb.api.limits) both are written into the OpenAPI schema, so the schema states the rule
    the server enforces.
    """

    default_error_messages = {
        "max_value": "must be at most {max_value:g}",
        "min_value": "must be at least {min_value:g}",
    }

    def __init__(self, *, positive: bool = False, **kwargs: Any) -> None:
        self.positive = positive
        super().__init__(**kwargs)
        schema: dict[str, Any] = {"type": "number", "format": "double"}
        if positive:
            schema.update(minimum=0, exclusiveMinimum=True)
        elif self.min_value is not None:
            schema["minimum"] = self.min_value
        if self.max_value is not None:
            schema["maximum"] = self.max_value
        set_override(self, "field", schema)

    def to_internal_value(self, data: Any) -> float:
        try:
            number = super().to_internal_value(data)
        except OverflowError:  # float() of an integer with hundreds of digits
            self.fail("invalid")
        if number != number or number in (float("inf"), float("-inf")):
            self.fail("invalid")
        if self.positive and number <= 0:
            raise serializers.ValidationError("must be greater than 0")
        return number


class StrictFloatField(FiniteFloatField):
    """A number that must arrive as a JSON number (not "12" and not true)."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)
