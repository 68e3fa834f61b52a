"""End to end in headless Chromium (Debian's /usr/bin/chromium): the reports page opens on data,
"Run now" runs now and "Plan now" plans, the overview lists a policy's next runs, cancelling asks
first and works with JavaScript switched off, the zone's CSV downloads in the import format.

Screenshots go to var/test-artifacts/ (git-ignored; CI keeps them as artefacts).
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
from django.test import Client

from accounts.roles import ensure_roles
from tests.dashboard.conftest import PASSWORD, completed_job, sign_in

CHROMIUM = os.environ.get("HYPERWEB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"

pytestmark = [pytest.mark.browser]


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright import sync_api

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()
            connections.close_all()


def _page(browser: Any, errors: list[str], **context: Any) -> Any:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, **context)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    return page


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"actions-{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_it_does_what_each_action_says(live_server: Any, chromium: Any, tmp_path: Path, settings: Any) -> None:
    from django.utils import timezone

    from carbon.models import Zone
    from carbon.services import load_demo_data
    from scheduler.models import BackupJob, BackupPolicy

    ensure_roles()
    admin = get_user_model().objects.create_superuser("admin", password=PASSWORD)
    now = timezone.now()
    load_demo_data(days=2, now=now)
    completed_job(Zone.objects.get(code="DE"), when=now - timedelta(minutes=1), emitted=0.8, counterfactual=1.1)
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    (tmp_path / "db.raw").write_bytes(b"disk" * 1024)
    setup = Client()
    setup.force_login(admin)
    created = setup.post(
        "/policies/new",
        {
            "name": "Nightly db",
            "schedule": "0 */12 * * *",
            "window_hours": "8",
            "zone": "FR",
            "vm_path": str(tmp_path / "db.raw"),
            "expected_duration_hours": "1",
            "carbon_aware": "on",
            "enabled": "on",
        },
    )
    assert created.status_code == 302, created.content.decode()
    policy = BackupPolicy.objects.get()
    base = live_server.url
    errors: list[str] = []
    page = _page(chromium, errors, timezone_id="Europe/Berlin")
    sign_in(page, base)

    # Overview: the enabled policy's next runs are among the planned backups.
    upcoming = page.locator(f"table a[href='/policies/{policy.pk}']")
    assert upcoming.count() == 4, page.inner_text("main")  # every 12 h over the next 48 h
    _shot(page, "01-overview-upcoming")

    # Reports: opens on the most recent period with a backup, not on an empty quarter.
    page.goto(base + "/reports")
    assert page.locator("#id_preset").input_value() in ("month-to-date", "last-month")
    assert "This period is empty" not in page.inner_text("main")
    _shot(page, "02-reports-default")
    page.select_option("#id_preset", "year-to-date")
    page.click("button:text('Show report')")
    page.wait_for_url(re.compile(r"preset=year-to-date"))
    assert "to date (" in page.inner_text("main")
    assert not errors, errors

    # "Run now" starts a backup at once; "Plan now" waits for the cleanest start in the window.
    page.goto(f"{base}/policies/{policy.pk}")
    page.click("button:text('Run now')")
    page.wait_for_url(re.compile(r"/backups/[0-9a-f-]{36}$"))
    ran = BackupJob.objects.get(pk=page.url.rsplit("/", 1)[1])
    assert not ran.carbon_aware and abs(ran.planned_start - timezone.now()) < timedelta(minutes=1)
    assert "runs now" in page.inner_text("main")
    _shot(page, "03-policy-run-now")
    page.goto(f"{base}/policies/{policy.pk}")
    page.click("button:text('Plan now')")
    page.wait_for_url(re.compile(r"/backups/[0-9a-f-]{36}$"))
    planned = BackupJob.objects.get(pk=page.url.rsplit("/", 1)[1])
    assert planned.carbon_aware and planned.earliest_start <= planned.planned_start <= planned.latest_start
    _shot(page, "04-policy-plan-now")
    assert not errors, errors

    # The zone's readings download in the format `carbon import` reads.
    page.goto(base + "/zones/DE")
    with page.expect_download() as download:
        page.click("a:text('every reading as CSV')")
    header = Path(download.value.path()).read_text().splitlines()[0]
    assert header == "time,value,zone"
    _shot(page, "05-zone-csv")

    # Cancel asks first, and works with JavaScript switched off.
    nojs = _page(
        chromium, errors, java_script_enabled=False, storage_state=page.context.storage_state()
    )
    nojs.goto(f"{base}/backups/{planned.pk}")
    nojs.click("#cancel-button")
    nojs.wait_for_url(f"{base}/backups/{planned.pk}/cancel")
    assert "cannot be undone" in nojs.inner_text("main")
    planned.refresh_from_db()
    assert planned.status in BackupJob.WAITING  # nothing happened yet
    _shot(nojs, "06-cancel-confirm-nojs")
    nojs.click("#confirm-cancel")
    nojs.wait_for_url(f"{base}/backups/{planned.pk}")
    assert nojs.inner_text("#job-status") == "cancelled"
    _shot(nojs, "07-cancelled-nojs")
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_the_new_backup_form_estimates_from_the_vms_size_and_keeps_it_after_an_error(
    live_server: Any, chromium: Any, tmp_path: Path, settings: Any
) -> None:
    from django.utils import timezone

    from carbon.services import load_demo_data

    ensure_roles()
    get_user_model().objects.create_superuser("admin", password=PASSWORD)
    load_demo_data(days=2, now=timezone.now())
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    vm = tmp_path / "web-01.raw"
    vm.write_bytes(b"\0" * 2_500_000)  # 2.5 MB
    errors: list[str] = []
    page = _page(chromium, errors, timezone_id="Europe/Berlin")
    sign_in(page, live_server.url)

    page.goto(live_server.url + "/backups/new")
    page.select_option("#id_zone", "DE")
    page.fill("#id_vm_path", str(vm))  # no data size typed
    page.wait_for_selector("#estimate :text('Start now')")
    assert "the VM measured 2.50 MB" in page.inner_text("#estimate")
    _shot(page, "08-new-backup-measured-size")
    # A validation error: the page comes back with the same choices, and the estimate with them.
    page.fill("#id_max_delay_hours", "-3")
    page.click("#submit-backup")
    page.wait_for_selector(".errorlist")
    assert page.locator("#id_zone").input_value() == "DE"
    assert page.locator("#id_vm_path").input_value() == str(vm)
    page.wait_for_selector("#estimate :text('Start now')")
    _shot(page, "09-new-backup-after-error")
    assert not errors, errors
