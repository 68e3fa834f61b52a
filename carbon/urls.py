"""carbon's own page: a zone's readings as CSV (the overview and zone page are the dashboard's)."""

from django.urls import path

from carbon import views

urlpatterns = [
    path("zones/<str:code>/readings.csv", views.zone_readings_csv, name="zone-readings-csv"),
]
