"""Serializer fields for the wire conventions (see hyperweb.api)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.drainage import set_override
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hyperweb.api.timestamps import format_timestamp, parse_timestamp
from hyperweb.api.views import json_type

# The years a timestamp coming in may name, as a pattern the OpenAPI schema carries: the server
# takes 1970-01-01T00:00:00Z to 2100-01-01T00:00:00Z (hyperweb.api.timestamps); the pattern
# keeps a year of margin at both ends so that any offset stays inside.
YEAR_PATTERN = r"^(197[1-9]|19[89][0-9]|20[0-8][0-9]|209[0-8])-"
TIMESTAMP_SCHEMA = {
    "type": "string",
    "format": "date-time",
    "pattern": YEAR_PATTERN,
    "description": "RFC 3339; Z, an offset, or none (UTC); between 1970 and 2100",
}
NON_BLANK = r"\S"


class StrictCharField(serializers.CharField):
    """A string that must arrive as a JSON string: DRF's CharField would take 5 as "5", which
    the schema (type: string) calls invalid."""

    default_error_messages = {"not_a_string": "must be a string, got {kind}"}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string", kind=json_type(data))
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false only (DRF's BooleanField also takes 0, 1, "yes", ...), for JSON bodies."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON integer (not "12", not 12.0), for JSON bodies."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def non_blank(**kwargs: Any) -> serializers.CharField:
    """A string that must hold more than whitespace, and says so in the schema (minLength 1 and
    the pattern \\S): whitespace is trimmed, so "  " would be refused as blank."""
    validators = [*kwargs.pop("validators", []), RegexValidator(NON_BLANK, message="must not be blank")]
    return StrictCharField(min_length=1, validators=validators, **kwargs)


class PatternCharField(serializers.CharField):
    """A string documented with a pattern (the part of the rule JSON Schema can state); the
    server's own parsing stays the check."""

    def __init__(self, *, schema_pattern: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        set_override(self, "field", {"type": "string", "pattern": schema_pattern})


@extend_schema_field(TIMESTAMP_SCHEMA)
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
