"""The ESG reports page (dashboard, session login, viewer role)."""

from django.urls import path

from reports import esg_views

urlpatterns = [
    path("reports", esg_views.esg_report, name="esg-reports"),
]
