"""Security headers on every page: a Content-Security-Policy allowing scripts from this server only
(no inline script executes), and signed-in responses never stored by a cache (issue 11, item 5)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from tests.dashboard.conftest import completed_job

DASHBOARD = ["/", "/zones/DE", "/backups", "/backups/new", "/policies", "/policies/new", "/savings", "/what-if"]
PUBLIC = ["/login", "/admin/login/", "/docs", "/redoc", "/health", "/openapi.yaml", "/no/such/page"]


def _policy(response: Any) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _assert_strict(response: Any) -> dict[str, list[str]]:
    policy = _policy(response)
    scripts = policy.get("script-src", policy.get("default-src"))
    assert "'self'" in scripts
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    return policy


def _inline_scripts(html: str, nonce: str | None) -> list[str]:
    """<script> elements that would execute inline: no src, not a JSON data block, no valid nonce."""
    found = []
    for attrs in re.findall(r"<script\b([^>]*)>", html, flags=re.I):
        if re.search(r"\bsrc=", attrs) or re.search(r'type="application/json"', attrs):
            continue
        if nonce and f'nonce="{nonce}"' in attrs:
            continue
        found.append(attrs)
    return found


@pytest.fixture
def data(db: None) -> None:
    from carbon.models import Zone
    from carbon.services import load_demo_data

    now = datetime.now(UTC)
    load_demo_data(days=2, now=now)
    completed_job(Zone.objects.get(code="DE"), when=now, emitted=0.8, counterfactual=1.1)


@pytest.mark.parametrize("url", PUBLIC)
def test_every_public_page_has_a_strict_policy_and_no_inline_script(client: Client, url: str) -> None:
    response = client.get(url)
    policy = _assert_strict(response)
    nonce = next((v[7:-1] for v in policy["script-src"] if v.startswith("'nonce-")), None)
    if "html" in response.get("Content-Type", ""):
        assert _inline_scripts(response.content.decode(), nonce) == []


@pytest.mark.parametrize("url", DASHBOARD)
def test_every_signed_in_page_has_the_policy_and_is_never_stored(admin_client: Client, data: None, url: str) -> None:
    response = admin_client.get(url)
    assert response.status_code == 200
    policy = _assert_strict(response)
    nonce = next((v[7:-1] for v in policy["script-src"] if v.startswith("'nonce-")), None)
    assert _inline_scripts(response.content.decode(), nonce) == []
    cache_control = response["Cache-Control"]
    assert "no-store" in cache_control and "private" in cache_control


def test_charts_are_json_data_blocks_drawn_by_a_served_script(admin_client: Client, data: None) -> None:
    body = admin_client.get("/zones/DE").content.decode()
    assert 'class="plotly-graph-div hw-chart"' in body
    assert re.search(r'<script type="application/json" id="chart-[0-9a-f]+-figure">\{"figure"', body)
    assert "/static/js/charts.js" in body and re.search(r"/static/[^\"]*plotly[^\"]*\.js", body)
    assert "Plotly.newPlot" not in body


def test_swagger_ui_loads_its_init_script_from_the_server(client: Client) -> None:
    body = client.get("/docs").content.decode()
    script = re.search(r'<script src="(/docs\?[^"]*script[^"]*)"', body)
    assert script, body
    response = client.get(script.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    assert "SwaggerUIBundle" in response.content.decode()


def test_api_answers_to_a_signed_in_caller_are_never_stored(viewer_api: Any, anon_api: Any) -> None:
    response = viewer_api.get("/status")
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert "no-store" not in anon_api.get("/health").get("Cache-Control", "")


def test_the_login_page_is_not_stored_either(client: Client) -> None:
    assert "no-store" in client.get("/login")["Cache-Control"]
