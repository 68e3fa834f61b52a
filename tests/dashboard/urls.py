"""The site's URLs plus the dashboard pages, until hyperweb/urls.py includes hyperweb.pages_urls."""

from django.urls import include, path

from hyperweb.urls import handler400, handler403, handler404, handler500  # noqa: F401
from hyperweb.urls import urlpatterns as site_patterns

urlpatterns = [*site_patterns, path("", include("hyperweb.pages_urls"))]
