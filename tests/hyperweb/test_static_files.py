"""Static files and page weight: hashed, pre-compressed static files with immutable caching,
gzipped pages, the cartesian plotly.js bundle, a favicon, Redoc without a CDN."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path
from typing import Any

import brotli
import pytest
from django.conf import settings
from django.core.management import call_command
from django.template import engines
from django.test import Client, RequestFactory, override_settings
from whitenoise.middleware import WhiteNoiseMiddleware

STATIC = Path(settings.BASE_DIR) / "static"
HASHED = {"BACKEND": "hyperweb.staticstorage.HashedCompressedStorage"}


def _collected(tmp_path: Path) -> dict[str, Any]:
    """collectstatic of a few of the site's own files into a fresh STATIC_ROOT (the whole set,
    with the API docs' bundles, takes half a minute; `make run` does that)."""
    source = tmp_path / "src"
    for name in ("css/hyperweb.css", "js/localtime.js", "img/favicon.svg"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(STATIC / name, source / name)
    return {
        "STATIC_ROOT": tmp_path / "root",
        "STATICFILES_DIRS": [source],
        "STATICFILES_FINDERS": ["django.contrib.staticfiles.finders.FileSystemFinder"],
        "STORAGES": {**settings.STORAGES, "staticfiles": HASHED},
        "WHITENOISE_USE_FINDERS": False,
    }


def test_it_serves_hashed_compressed_static_files_cached_for_a_year(tmp_path: Path) -> None:
    with override_settings(**_collected(tmp_path)):
        call_command("collectstatic", "--noinput", verbosity=0)
        url = engines["django"].from_string("{% load static %}{% static 'css/hyperweb.css' %}").render({})
        assert re.fullmatch(r"/static/css/hyperweb\.[0-9a-f]{12}\.css", url), url
        root = tmp_path / "root"
        name = url.removeprefix("/static/")
        assert (root / f"{name}.gz").exists() and (root / f"{name}.br").exists()
        assert not (root / "css/hyperweb.css").exists()  # only the hashed copies are kept

        static = WhiteNoiseMiddleware(lambda request: None)
        original = (STATIC / "css/hyperweb.css").read_bytes()
        for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
            response = static(RequestFactory().get(url, HTTP_ACCEPT_ENCODING=f"{encoding}, deflate"))
            assert response.status_code == 200
            assert response["Content-Encoding"] == encoding
            body = b"".join(response.streaming_content)
            assert decode(body) == original and len(body) < len(original) / 2
            cache_control = response["Cache-Control"]
            assert "immutable" in cache_control
            max_age = int(re.search(r"max-age=(\d+)", cache_control)[1])
            assert max_age >= 365 * 24 * 3600


def test_it_falls_back_to_plain_names_before_any_collectstatic(tmp_path: Path) -> None:
    with override_settings(STATIC_ROOT=tmp_path / "empty", STORAGES={**settings.STORAGES, "staticfiles": HASHED}):
        (tmp_path / "empty").mkdir()
        url = engines["django"].from_string("{% load static %}{% static 'css/hyperweb.css' %}").render({})
    assert url == "/static/css/hyperweb.css"


@pytest.mark.django_db
def test_it_gzips_pages_for_browsers_that_accept_it(client: Client) -> None:
    plain = client.get("/login")
    compressed = client.get("/login", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert "Content-Encoding" not in plain
    assert compressed["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.content).decode().count("<form") == plain.content.decode().count("<form")
    assert "Accept-Encoding" in compressed["Vary"]


@pytest.mark.django_db
def test_it_serves_a_favicon(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x00\x00\x01\x00")  # an ICO file
    assert 'rel="icon" href="/static/img/favicon.svg"' in client.get("/login").content.decode()


@pytest.mark.django_db
def test_it_loads_redocs_logo_from_this_server(client: Client) -> None:
    html = client.get("/redoc").content.decode()
    assert 'src="/static/js/redoc_logo.js" data-logo="/static/img/redoc-logo.svg"' in html
    assert html.index("redoc_logo.js") < html.index("redoc.standalone")
    script = (STATIC / "js/redoc_logo.js").read_text()
    bundle = Path(
        __import__("drf_spectacular_sidecar").__file__
    ).parent.joinpath("static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js")
    # The URL the shim replaces is the one Redoc's bundle really uses.
    cdn = re.search(r'CDN_LOGO = "([^"]+)"', script)[1]
    assert cdn in bundle.read_text()


def test_it_ships_the_cartesian_plotly_bundle_with_its_licence() -> None:
    vendor = STATIC / "vendor/plotly"
    head = (vendor / "plotly-cartesian.min.js").read_text()[:200]
    assert "plotly.js (cartesian - minified) v3.1.0" in head
    assert "MIT License" in (vendor / "LICENSE").read_text()
    assert (vendor / "plotly-cartesian.min.js").stat().st_size < 1_400_000
