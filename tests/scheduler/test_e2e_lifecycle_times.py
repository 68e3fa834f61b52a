"""One rule for time on the lifecycle pages too: the backup page's archive line and runs table,
the integrity badge's hover text, the restore page and a policy's retention preview show the
viewer's time (Europe/Berlin here), as <time> elements localised by static/js/localtime.js, not
"UTC" text. Headless Debian chromium; screenshots go to var/test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from accounts.roles import ensure_roles
from tests.dashboard.conftest import PASSWORD, sign_in
from tests.dashboard.test_e2e_actions import ARTIFACTS, _page, chromium  # noqa: F401 (fixture)
from tests.scheduler.factories import BackupJobFactory, BackupPolicyFactory
from tests.scheduler.lifecycle import make_backup

pytestmark = [pytest.mark.browser]

COMPLETED = datetime(2026, 11, 30, 22, 15, tzinfo=UTC)  # 23:15 in Berlin
VERIFIED = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # 00:30 on 1 December in Berlin


@pytest.mark.django_db(transaction=True)
def test_it_shows_lifecycle_times_in_the_viewers_timezone(
    live_server: Any,
    chromium: Any,  # noqa: F811
    roots: Any,
) -> None:
    from scheduler.models import BackupJob

    ensure_roles()
    get_user_model().objects.create_superuser("admin", password=PASSWORD)
    backup = make_backup(roots)
    policy = BackupPolicyFactory()
    BackupJob.objects.filter(pk=backup.pk).update(
        completed_at=COMPLETED, verified_at=VERIFIED, integrity="verified", policy=policy
    )
    BackupJobFactory(
        operation="verify",
        subject=backup,
        status="completed",
        requested_at=VERIFIED,
        result={"verdict": "verified"},
    )

    errors: list[str] = []
    page = _page(chromium, errors, timezone_id="Europe/Berlin", locale="en-GB")
    sign_in(page, live_server.url)

    def local(selector: str) -> str:
        text = page.inner_text(selector)
        assert " UTC" not in text, (selector, text)
        return text

    page.goto(f"{live_server.url}/backups/{backup.pk}")
    integrity = local("#integrity")
    assert "00:30" in integrity and "CET" in integrity and "23:30" not in integrity, integrity
    assert page.get_attribute("#integrity time", "datetime") == "2026-11-30T23:30:00Z"  # machine-readable UTC
    runs = local("#lifecycle-runs")
    assert "00:30" in runs and "CET" in runs, runs
    page.screenshot(path=str(ARTIFACTS / "lifecycle-times-backup.png"), full_page=True)

    page.goto(f"{live_server.url}/backups/{backup.pk}/restore")
    made = local("main p.muted")
    assert "23:15" in made and "CET" in made and "22:15" not in made, made

    page.goto(f"{live_server.url}/policies/{policy.pk}/retention")
    preview = local("#retention-preview")
    assert "23:15" in preview and "CET" in preview and "Completed (UTC)" not in preview, preview
    page.screenshot(path=str(ARTIFACTS / "lifecycle-times-retention.png"), full_page=True)

    page.goto(f"{live_server.url}/backups")
    title = page.get_attribute(f"tr:has(a[href='/backups/{backup.pk}']) .badge.verified", "title")
    assert title and "00:30" in title and "CET" in title and "UTC" not in title, title
    assert not errors, errors
