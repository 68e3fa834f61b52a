"""The dashboard's page routes (HTML, session login), kept apart from the API's root paths.

hyperweb/urls.py includes this module; reports.urls (savings, what-if) is already included
there on its own, so it is not repeated here.
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from hyperweb import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("", include("carbon.urls")),
    path("", include("scheduler.urls")),
]
