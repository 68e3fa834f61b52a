"""The dashboard's login and logout pages (session login; the admin's login is routed by
hyperweb/urls.py before the admin's own URLs)."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", views.LogoutView.as_view(), name="logout"),
]
