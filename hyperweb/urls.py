"""Site URLs. API paths sit at the host root without trailing slashes (HyperSDK clients use urljoin).

Each app owns its routes: the API first (auth, docs, /carbon/*, the service's /health, /status and
/capabilities with /jobs/* and /schedules, /reports/*.csv|pdf), then the HTML pages: login, the dashboard's (overview, zones, savings,
what-if, reports), carbon's readings CSV, scheduler's backup and policy pages, alerts, metrics.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularSwaggerSplitView,
    SpectacularYAMLAPIView,
)

from accounts import views
from hyperweb.api.docs import LocalRedocView

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("accounts.api.urls")),  # /api/login, /api/logout
    path("openapi.yaml", SpectacularYAMLAPIView.as_view(), name="openapi-yaml"),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-json"),
    # The split view serves Swagger UI's init script from /docs?script: no inline script (CSP).
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="openapi-yaml"), name="api-docs"),
    path("redoc", LocalRedocView.as_view(url_name="openapi-yaml"), name="api-redoc"),
    # Every login form goes through accounts.services.check_password's throttle, the admin's too.
    path("admin/login/", views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("", include("carbon.api.urls")),
    path("", include("scheduler.api.urls")),
    path("", include("reports.api.urls")),
    # HTML pages (session login): the dashboard's, then those of one app alone
    path("", include("accounts.urls")),  # /login, /logout, /preferences
    path("", include("dashboard.urls")),
    path("", include("carbon.urls")),
    path("", include("scheduler.urls")),
    path("", include("alerts.urls")),
    path("", include("metrics.urls")),
]
admin.site.login_form = views.ThrottledAdminAuthenticationForm

handler400 = "hyperweb.api.errors.handler400"
handler403 = "hyperweb.api.errors.handler403"
handler404 = "hyperweb.api.errors.handler404"
handler500 = "hyperweb.api.errors.handler500"
