"""Dashboard pages of the reports app: savings and what-if."""

from django.urls import path

from reports import views

urlpatterns = [
    path("savings", views.savings, name="savings"),
    path("what-if", views.what_if, name="what-if"),
]
