from __future__ import annotations

from django.urls import URLPattern, path

from alerts import views

urlpatterns: list[URLPattern] = [
    path("alerts/preferences", views.preferences, name="alert-preferences"),
]
