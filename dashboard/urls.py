"""The dashboard's pages (HTML, session login): overview, zone page, savings, what-if, reports."""

from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("zones/<str:code>", views.zone_detail, name="zone"),
    path("savings", views.savings, name="savings"),
    path("what-if", views.what_if, name="what-if"),
    path("reports", views.esg_report, name="esg-reports"),
]
