"""The site's URLs (hyperweb/urls.py now routes the ESG page and every dashboard page itself)."""

from hyperweb.urls import handler400, handler403, handler404, handler500  # noqa: F401
from hyperweb.urls import urlpatterns as site

urlpatterns = [*site]
