"""Bounded lists: a `limit` parameter with a default and a maximum, and a clear 400 past it."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from hyperweb.api.errors import field_error
from hyperweb.api.fields import StrictIntegerField


def limit_field(default: int, maximum: int, *, body: bool = False, **kwargs: Any) -> serializers.IntegerField:
    """A serializer field for `limit`: 1..maximum, default `default` (`body`: a JSON integer only;
    query parameters are text)."""
    field_class = StrictIntegerField if body else serializers.IntegerField
    return field_class(
        min_value=1,
        max_value=maximum,
        default=default,
        help_text=f"at most {maximum} (default {default})",
        **kwargs,
    )


def check_cap(count: int, cap: int, *, field: str, what: str) -> None:
    """Refuse (400 naming `field`) a result that would hold more than `cap` items."""
    if count > cap:
        raise field_error(field, f"the request matches {count} {what}, more than the cap of {cap}; narrow it")
