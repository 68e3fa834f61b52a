"""The site's URLs plus the ESG page, until hyperweb/urls.py includes reports.esg_urls (and, while
the dashboard is being wired, its page routes, which templates/base.html's navigation reverses)."""

from django.urls import NoReverseMatch, URLResolver, include, path
from django.urls.resolvers import RegexPattern

from hyperweb.urls import handler400, handler403, handler404, handler500  # noqa: F401
from hyperweb.urls import urlpatterns as site


def _has(name: str) -> bool:
    try:
        URLResolver(RegexPattern(r"^/"), site).reverse(name)
    except NoReverseMatch:
        return False
    return True


urlpatterns = [*site]
if not _has("overview"):
    urlpatterns.append(path("", include("hyperweb.pages_urls")))
if not _has("esg-reports"):
    urlpatterns.append(path("", include("reports.esg_urls")))
