"""JSON out: compact UTF-8, datetimes as `...Z`, NaN/Infinity refused (they are not JSON)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from rest_framework.renderers import JSONRenderer as DRFJSONRenderer
from rest_framework.utils.encoders import JSONEncoder as DRFJSONEncoder

from hyperweb.api.timestamps import format_timestamp


class JSONEncoder(DRFJSONEncoder):
    def default(self, obj: Any) -> Any:
        if isinstance(obj, datetime):
            return format_timestamp(obj)
        if isinstance(obj, date):
            return obj.isoformat()
        if isinstance(obj, set | frozenset):
            return sorted(obj)
        return super().default(obj)


class JSONRenderer(DRFJSONRenderer):
    encoder_class = JSONEncoder
    charset = None  # application/json is UTF-8 by definition (RFC 8259); no charset parameter
