"""End to end in headless Chromium (Playwright, Debian's /usr/bin/chromium) against a live server.

One walk through the product as a new admin would take it: log in, read the tiles and a chart,
submit a backup and see why it was planned, cancel it, watch another run and be accounted, set up
a recurring backup, look at the savings and the what-if. Every page must load without a
JavaScript error, and a screenshot of each is saved in var/screenshots/ (CI keeps it as an
artifact). No browser is downloaded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections

from accounts.roles import ensure_roles
from tests.dashboard.conftest import PASSWORD, completed_job

CHROMIUM = os.environ.get("HYPERWEB_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

# No skip when chromium is missing: the test fails (make test installs Debian's chromium).
pytestmark = [pytest.mark.browser]


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[str]]]:
    """A page in a fresh headless Chromium, and the list its console and page errors go to."""
    from playwright import sync_api

    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the test
    # and its fixtures are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Paris")
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        try:
            yield page, errors
        finally:
            context.close()
            browser.close()
            # ORM calls made while Playwright's loop runs get their own database connection (the
            # connection handler is context-local); close it here, or it stays open to the end.
            connections.close_all()


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _visit(page: Any, errors: list[str], url: str, name: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    _shot(page, name)
    assert not errors, f"{name}: {errors}"


@pytest.mark.django_db(transaction=True)
def test_it_walks_through_the_dashboard(
    live_server: Any, browser_page: Any, tmp_path: Path, settings: Any
) -> None:
    from carbon.models import Zone
    from carbon.services import load_demo_data
    from carbon.zones import DEFAULT_ZONES
    from scheduler.executors.demo import create_demo_vms

    page, errors = browser_page
    # Earlier transactional tests flush the database, the migrated default zones with it.
    for zone in DEFAULT_ZONES:
        Zone.objects.get_or_create(code=zone["code"], defaults={k: v for k, v in zone.items() if k != "code"})
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    settings.BACKUP_TARGET_ROOT = tmp_path / "backups"
    vm = create_demo_vms(tmp_path)[0]
    ensure_roles()
    get_user_model().objects.create_superuser("admin", password=PASSWORD)
    from django.utils import timezone

    now = timezone.now()
    load_demo_data(days=2, now=now)
    completed_job(Zone.objects.get(code="DE"), when=now - timedelta(hours=2), emitted=0.8, counterfactual=1.1)
    base = live_server.url

    # Log in: the overview asks for it first.
    page.goto(base + "/")
    assert "/login" in page.url
    _shot(page, "01-login")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")

    # Overview: a tile per zone, sparklines drawn by plotly.js, the month's figures.
    page.wait_for_selector(".tile .plot-container .main-svg")
    assert page.locator(".tile").count() == Zone.objects.filter(active=True).count()
    assert page.locator(".tile .badge.simulated").count() > 0
    assert "backups run" in page.inner_text("main")
    _shot(page, "02-overview")
    assert not errors, errors

    # Zone page: the history and forecast chart.
    page.click("a[href='/zones/DE']")
    page.wait_for_selector(".plot-container .main-svg")
    assert "Forecast accuracy" in page.inner_text("main")
    _shot(page, "03-zone")
    assert not errors, errors

    # New backup: the live estimate, then submit and see why it was planned when.
    page.goto(base + "/backups/new")
    page.select_option("#id_zone", "DE")
    page.fill("#id_vm_path", str(vm))
    page.fill("#id_data_size_gb", "500")
    page.fill("#id_max_delay_hours", "12")
    page.wait_for_selector("#estimate :text('Start now')")
    estimate = page.inner_text("#estimate")
    assert re.search(r"Start now: [\d.,]+ (g|kg|t) CO2", estimate), estimate
    _shot(page, "04-backup-new")
    page.click("#submit-backup")
    page.wait_for_url(re.compile(r"/backups/[0-9a-f-]{36}$"))
    assert page.inner_text("#job-status") in ("scheduled", "pending")
    assert "Start now" in page.inner_text("main")  # the comparison table of the decision
    page.wait_for_selector(".plot-container .main-svg")
    _shot(page, "05-backup-planned")
    assert not errors, errors

    # Cancel it (an operator action): a confirmation page first, then a POST with the CSRF token.
    page.click("#cancel-button")
    page.wait_for_selector("#confirm-cancel")
    _shot(page, "06-backup-cancel-confirm")
    page.click("#confirm-cancel")
    page.wait_for_selector("#job-status:text('cancelled')")
    _shot(page, "06-backup-cancelled")

    # A backup that runs at once: watch it run (the worker is this test, calling the task the
    # queue would call), then see its accounting appear without reloading by hand.
    page.goto(base + "/backups/new")
    page.select_option("#id_zone", "FR")
    page.fill("#id_vm_path", str(vm))
    page.uncheck("#id_carbon_aware")
    page.click("#submit-backup")
    page.wait_for_url(re.compile(r"/backups/[0-9a-f-]{36}$"))
    assert page.inner_text("#job-status") == "pending"
    from scheduler.tasks import run_job

    backup_url = page.url
    assert run_job(page.url.rsplit("/", 1)[1]) == "completed"
    page.wait_for_selector("#job-status:text('completed')")  # progress.js polled and reloaded
    assert "Avoided" in page.inner_text("main")
    _shot(page, "07-backup-completed")
    # The Archive card sits a gap below the Backup and Progress cards, not against them.
    above = page.locator("main > .row").bounding_box()
    archive = page.locator("#lifecycle").bounding_box()
    assert archive["y"] - (above["y"] + above["height"]) >= 12, (above, archive)
    assert not errors, errors

    # Backups list.
    _visit(page, errors, base + "/backups", "08-backups")
    assert page.locator("#backups tbody tr").count() == 3

    # A recurring backup: the cron and the window explained in words while typing.
    page.goto(base + "/policies/new")
    page.fill("#id_name", "Nightly web-01")
    page.fill("#id_schedule", "30 1 * * 1-5")
    page.wait_for_selector("#schedule-text:text('Monday to Friday')")
    page.fill("#id_window_hours", "6")
    page.select_option("#id_zone", "FR")
    page.fill("#id_vm_path", str(vm))
    _shot(page, "09-policy-new")
    page.click("#save-policy")
    page.wait_for_url(re.compile(r"/policies/[0-9a-z]+$"))
    assert "created" in page.inner_text(".messages")
    _visit(page, errors, base + "/policies", "10-policies")
    assert "Nightly web-01" in page.inner_text("main")

    # Savings and what-if.
    _visit(page, errors, base + "/savings", "11-savings")
    assert page.locator(".plot-container").count() >= 3
    _visit(page, errors, base + "/what-if?zone=DE&duration_hours=1&flexibility_hours=8&days=30", "12-what-if")
    assert "median saving" in page.inner_text("main")
    # The replay went to the workers; once one has run it, the page (reloading itself, no script
    # needed) shows it.
    assert "The workers are replaying" in page.inner_text("#replay-pending")
    from reports.tasks import compute_replay

    assert compute_replay(Zone.objects.get(code="DE").pk, 1.0, 8.0) == "DE 1 h / 8 h: not enough history"
    page.wait_for_selector("#replay-none", timeout=10_000)  # two days of data: too little to replay
    _shot(page, "12-what-if-replayed")
    assert "Not enough stored history to replay" in page.inner_text("main")
    assert not page.locator("#replay-pending").count()
    assert not errors, errors

    # On a phone: nothing wider than the screen; the keyboard reaches the skip link first.
    page.set_viewport_size({"width": 390, "height": 844})
    _visit(page, errors, base + "/", "13-overview-phone")
    page.wait_for_selector(".tile .plot-container")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    # The backup page's long VM and target paths wrap rather than widen the page.
    _visit(page, errors, backup_url, "14-backup-phone")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
