"""JSON in. `curl -d '{...}'` sends form content-type; HyperSDK scripts rely on the body being read
as JSON anyway, so any content type is parsed as JSON (CSRF is not weakened: session requests
still need the CSRF token, and API keys are never sent by a browser on its own).

What no view should ever see is refused here, once, as a 400 naming where it is in the body:
- a NUL character (\\u0000) in a key or string: PostgreSQL cannot store it in text or JSONB;
- a lone UTF-16 surrogate (`"x\\ud800y"`): valid JSON escapes, but not a character, so it cannot
  be encoded as UTF-8 by any database driver;
- a number outside what a float holds: Python reads `1e400` as infinity, and an integer with
  hundreds of digits cannot become a float;
- nesting deeper than MAX_DEPTH: `[[[[...` would reach a RecursionError in the decoder.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser as DRFJSONParser

# No request hyperweb understands nests deeper than a few levels; 64 leaves room for any client.
MAX_DEPTH = 64
MAX_NUMBER = sys.float_info.max  # an integer beyond it cannot become a float (OverflowError)


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain NUL (\\u0000) characters"
    for char in text:
        if "\ud800" <= char <= "\udfff":
            return f"must not contain a lone UTF-16 surrogate (\\u{ord(char):04x})"
    return None


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def find_problem(value: Any, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """(where, what) for the first value no view may see (see the module docstring), else None."""
    if depth > MAX_DEPTH:
        return path or "body", f"is nested more than {MAX_DEPTH} levels deep"
    if isinstance(value, str):
        problem = _string_problem(value)
        return (path or "body", problem) if problem else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return path or "body", "is not a finite number (out of range)"
        return None
    if isinstance(value, int):
        if abs(value) > MAX_NUMBER:
            return path or "body", "is out of range (larger than any float)"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _string_problem(key)
            if problem:
                return path or "body", f"has a key that {problem}"
            found = find_problem(item, _join(path, key), depth + 1)
            if found:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = find_problem(item, _join(path, index), depth + 1)
            if found:
                return found
    return None


def _max_depth(text: bytes) -> int:
    """How deeply the brackets of a JSON text nest (strings skipped), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


class _JSONBodyParser(DRFJSONParser):
    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        # The body is at most API_MAX_BODY_BYTES (middleware): one pass over it is cheap, and it
        # keeps a bracket bomb away from the recursive decoder.
        if _max_depth(raw) > MAX_DEPTH:
            raise ParseError(f"JSON parse error - the body is nested more than {MAX_DEPTH} levels deep")
        try:
            data = json.loads(raw.decode(encoding), parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        found = find_problem(data)
        if found:
            where, what = found
            raise ValidationError({where: [what]})
        return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class JSONParser(_JSONBodyParser):
    media_type = "application/json"


class AnyContentTypeJSONParser(_JSONBodyParser):
    """Any other content type, read as JSON. Not a JSONParser subclass, so the OpenAPI schema
    (SPECTACULAR_SETTINGS["PARSER_WHITELIST"]) documents JSON bodies only."""

    media_type = "*/*"
