"""The Content-Security-Policy in a real browser (Debian's chromium via Playwright): Swagger UI,
Redoc, the Django admin and every chart page still work, with no CSP violation reported."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from tests.dashboard.conftest import PASSWORD, completed_job

CHROMIUM = os.environ.get("HYPERWEB_CHROMIUM", "/usr/bin/chromium")
pytestmark = [pytest.mark.browser]

# Runs before any page script (Playwright injects it outside the page's CSP): every violation the
# browser reports is kept on the window, as well as in the console.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[str]]]:
    from playwright import sync_api

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        context.add_init_script(RECORD_VIOLATIONS)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        # Failed loads are checked by URL (the console's "Failed to load resource" names none);
        # /favicon.ico is served from static/root/ (pages without an icon link ask for it).
        page.on(
            "response",
            lambda r: errors.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None,
        )
        try:
            yield page, errors
        finally:
            context.close()
            browser.close()
            connections.close_all()


def _clean(page: Any, errors: list[str], where: str) -> None:
    violations = page.evaluate("window.__csp")
    assert violations == [], f"{where}: {violations}"
    unexpected = [e for e in errors if "Failed to load resource" not in e]
    assert unexpected == [], f"{where}: {errors}"
    errors.clear()


@pytest.mark.django_db(transaction=True)
def test_the_api_docs_admin_and_charts_work_under_the_policy(live_server: Any, page: Any) -> None:
    from django.utils import timezone

    from carbon.models import Zone
    from carbon.services import load_demo_data

    browser, errors = page
    now = timezone.now()
    load_demo_data(days=2, now=now)
    job = completed_job(Zone.objects.get(code="DE"), when=now - timedelta(hours=2), emitted=0.8, counterfactual=1.1)
    get_user_model().objects.create_superuser("admin", password=PASSWORD)
    base = live_server.url

    # Swagger UI: its bundle and its init script (from /docs?script) run and draw the operations.
    response = browser.goto(base + "/docs")
    assert "Content-Security-Policy" in {k.title(): v for k, v in response.headers.items()}
    browser.wait_for_selector(".swagger-ui .opblock-tag", timeout=30_000)
    assert browser.locator(".swagger-ui .opblock").count() > 10
    _clean(browser, errors, "/docs")

    # Redoc: its standalone bundle (and its search worker) draw the operations.
    browser.goto(base + "/redoc")
    browser.wait_for_selector("redoc .api-content h1, redoc [data-section-id]", timeout=30_000)
    browser.wait_for_load_state("networkidle")
    _clean(browser, errors, "/redoc")
    # Its vendor logo (a CDN URL inside the bundle) is drawn from this server instead.
    logo = browser.locator("img[alt='redocly logo']")
    assert logo.count() == 1 and logo.get_attribute("src").startswith("/static/img/redoc-logo")

    # The Django admin: its login (through the throttle) and its index.
    browser.goto(base + "/admin/login/?next=/admin/")
    browser.fill("#id_username", "admin")
    browser.fill("#id_password", PASSWORD)
    browser.click("input[type=submit]")
    browser.wait_for_url(base + "/admin/")
    browser.goto(base + "/admin/scheduler/backupjob/")
    browser.wait_for_selector("#result_list")
    _clean(browser, errors, "/admin/")

    # Every chart page: plotly.js draws each chart from its JSON data block.
    for url in ("/", "/zones/DE", f"/backups/{job.pk}", "/savings", "/what-if?zone=DE&duration_hours=1&flexibility_hours=8&days=30"):
        browser.goto(base + url)
        browser.wait_for_load_state("load")
        charts = browser.locator("div.hw-chart").count()
        if url != f"/backups/{job.pk}":
            assert charts > 0, url
        # (wait_for_function would evaluate a string in the page, which the policy refuses)
        for chart_id in browser.eval_on_selector_all("div.hw-chart", "divs => divs.map(d => d.id)"):
            browser.wait_for_selector(f"#{chart_id} .main-svg")
        _clean(browser, errors, url)
