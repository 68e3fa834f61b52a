"""JSON in. `curl -d '{...}'` sends form content-type; HyperSDK scripts rely on the body being read
as JSON anyway, so any content type is parsed as JSON (CSRF is not weakened: session requests
still need the CSRF token, and API keys are never sent by a browser on its own)."""

from __future__ import annotations

from rest_framework.parsers import JSONParser as DRFJSONParser


class JSONParser(DRFJSONParser):
    media_type = "application/json"


class AnyContentTypeJSONParser(DRFJSONParser):
    media_type = "*/*"
