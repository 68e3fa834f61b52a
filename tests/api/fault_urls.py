"""A URLconf for the fault tests: the site's URLs plus views that fail on purpose."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from hyperweb.api.views import APIView
from hyperweb.urls import handler404, handler500  # noqa: F401
from hyperweb.urls import urlpatterns as site_urlpatterns


class BrokenAPIView(APIView):
    def get(self, request: Request) -> Response:
        raise RuntimeError("secret detail that must not leak")


def broken_plain_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret detail that must not leak")


urlpatterns = [
    path("broken/api", BrokenAPIView.as_view()),
    path("broken/plain", broken_plain_view),
    *site_urlpatterns,
]
