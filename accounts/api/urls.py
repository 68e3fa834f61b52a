"""POST /api/login and POST /api/logout at the host root (bearer tokens for scripts)."""

from django.urls import path

from accounts.api import views

urlpatterns = [
    path("api/login", views.LoginView.as_view(), name="api-login"),
    path("api/logout", views.LogoutView.as_view(), name="api-logout"),
]
