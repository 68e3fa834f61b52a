"""Redoc without drf-spectacular's Google Fonts links: every asset comes from this server."""

from __future__ import annotations

from typing import Any

from django.template import engines
from drf_spectacular.views import SpectacularRedocView
from rest_framework.renderers import TemplateHTMLRenderer

# drf-spectacular's redoc.html minus its fonts.googleapis.com links (Redoc falls back to system fonts),
# plus redoc_logo.js, which points Redoc's CDN logo at a local copy.
REDOC_HTML = """{% load static %}<!DOCTYPE html>
<html>
  <head>
    <title>{{ title|default:"Redoc" }}</title>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="{{ schema_url }}"></redoc>
    <script src="{% static 'js/redoc_logo.js' %}" data-logo="{% static 'img/redoc-logo.svg' %}"></script>
    <script src="{{ redoc_standalone }}"></script>
  </body>
</html>
"""


class _InlineRedocRenderer(TemplateHTMLRenderer):
    def resolve_template(self, template_names: Any) -> Any:
        return engines["django"].from_string(REDOC_HTML)


class LocalRedocView(SpectacularRedocView):
    renderer_classes = [_InlineRedocRenderer]
