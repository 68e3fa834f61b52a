"""The pages of accounts: login and logout (session login; the admin's login is routed by
hyperweb/urls.py before the admin's own URLs) and each user's preferences."""

from __future__ import annotations

from django.urls import URLPattern, path

from accounts import views

urlpatterns: list[URLPattern] = [
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("preferences", views.preferences, name="preferences"),
]
