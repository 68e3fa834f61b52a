from __future__ import annotations

from django.urls import URLPattern, path

from accounts import views

urlpatterns: list[URLPattern] = [
    path("preferences", views.preferences, name="preferences"),
]
