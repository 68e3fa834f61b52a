from __future__ import annotations

from django.urls import URLPattern, path

from metrics import views

urlpatterns: list[URLPattern] = [
    path("metrics", views.metrics, name="metrics"),
]
