"""JSON in. `curl -d '{...}'` sends form content-type; HyperSDK scripts rely on the body being read
as JSON anyway, so any content type is parsed as JSON (CSRF is not weakened: session requests
still need the CSRF token, and API keys are never sent by a browser on its own).

A NUL character (\\u0000) is refused in any key or string: PostgreSQL cannot store it in text or
JSONB, so accepting it would turn a bad request into a server fault on the scale-out database.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in key or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class JSONParser(DRFJSONParser):
    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if _has_nul(data):
            raise ParseError("JSON parse error - strings must not contain NUL (\\u0000) characters")
        return data


class AnyContentTypeJSONParser(JSONParser):
    media_type = "*/*"
