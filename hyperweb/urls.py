"""Site URLs. API paths sit at the host root without trailing slashes (HyperSDK clients use urljoin).

Other apps' URL modules are included when they exist, so each app owns its own routes:
scheduler.api.urls (/jobs/*, /schedules), reports.urls, dashboard.urls (pages).
"""

from __future__ import annotations

import importlib.util

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularSwaggerView,
    SpectacularYAMLAPIView,
)

from accounts.api.views import LoginView, LogoutView
from hyperweb.api.docs import LocalRedocView
from hyperweb.api.service_views import BenchConstantView, CapabilitiesView, HealthView, StatusView

OPTIONAL_URLCONFS = ("scheduler.api.urls", "reports.api.urls", "reports.urls", "dashboard.urls")


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False


urlpatterns: list[URLPattern | URLResolver] = [
    path("health", HealthView.as_view(), name="api-health"),
    path("status", StatusView.as_view(), name="api-status"),
    path("capabilities", CapabilitiesView.as_view(), name="api-capabilities"),
    path("api/login", LoginView.as_view(), name="api-login"),
    path("api/logout", LogoutView.as_view(), name="api-logout"),
    path("openapi.yaml", SpectacularYAMLAPIView.as_view(), name="openapi-yaml"),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-json"),
    path("docs", SpectacularSwaggerView.as_view(url_name="openapi-yaml"), name="api-docs"),
    path("redoc", LocalRedocView.as_view(url_name="openapi-yaml"), name="api-redoc"),
    path("admin/", admin.site.urls),
    path("", include("carbon.api.urls")),
]
urlpatterns += [path("", include(module)) for module in OPTIONAL_URLCONFS if _exists(module)]
if settings.BENCH_ENDPOINT:
    urlpatterns.append(path("bench/constant", BenchConstantView.as_view(), name="bench-constant"))

handler400 = "hyperweb.api.errors.handler400"
handler403 = "hyperweb.api.errors.handler403"
handler404 = "hyperweb.api.errors.handler404"
handler500 = "hyperweb.api.errors.handler500"
