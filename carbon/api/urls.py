"""/carbon/* at the host root, no trailing slashes (as the HyperSDK clients call them: docs/API.md).
POST /carbon/report reads the scheduler's jobs too, so scheduler/api/urls.py routes it."""

from django.urls import path

from carbon.api import views

urlpatterns = [
    path("carbon/status", views.CarbonStatusView.as_view(), name="carbon-status"),
    path("carbon/zones", views.ZoneListView.as_view(), name="carbon-zones"),
    path("carbon/zones/<str:zone_id>", views.ZoneDetailView.as_view(), name="carbon-zone"),
    path(
        "carbon/zones/<str:zone_id>/intensity",
        views.ZoneIntensityView.as_view(),
        name="carbon-zone-intensity",
    ),
    path("carbon/estimate", views.EstimateView.as_view(), name="carbon-estimate"),
]
