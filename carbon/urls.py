"""Dashboard pages about the grid: the overview and one page per zone."""

from django.urls import path

from carbon import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("zones/<str:code>", views.zone_detail, name="zone"),
    path("zones/<str:code>/readings.csv", views.zone_readings_csv, name="zone-readings-csv"),
]
