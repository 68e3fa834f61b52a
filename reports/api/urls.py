"""ESG report downloads (API: API key, bearer token or session; viewer role)."""

from django.urls import path

from reports.api import views

urlpatterns = [
    path("reports/esg.csv", views.ESGCsvView.as_view(), name="esg-csv"),
    path("reports/esg-summary.csv", views.ESGSummaryCsvView.as_view(), name="esg-summary-csv"),
    path("reports/esg.pdf", views.ESGPdfView.as_view(), name="esg-pdf"),
]
