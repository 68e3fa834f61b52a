"""One format for every time a page shows, in headless Chromium with the locale a new user in the
US has (en-US, whose own formats are "12/03/2026", "11:00 AM" and "GMT+1"), in two browser
timezones: the backup page (its facts, headline, decision table and event log), the new-backup
estimate, a recurring backup's page and the no-JavaScript rendering all write

    Thu 3 Dec 2026 09:45 CET   (seconds in the event log: Thu 3 Dec 2026 09:45:12 CET)
    09:45 CET                  (a time of a day already named)
    Thu 3 Dec 2026 11:00-13:00 CET

on a 24-hour clock with the zone's abbreviation (the tz database's, as the server writes it), and
the times agree with each other. The expected texts are built here with strftime, not with
hyperweb's formatter. Screenshots go to var/test-artifacts/.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import UserPreference
from accounts.roles import ensure_roles
from carbon.services import load_demo_data
from scheduler.models import BackupJob
from scheduler.services import submit_jobs
from tests.dashboard.conftest import PASSWORD, sign_in
from tests.dashboard.test_e2e_actions import ARTIFACTS, _page, chromium  # noqa: F401 (fixture)
from tests.scheduler.factories import BackupPolicyFactory, zone

pytestmark = [pytest.mark.browser]

# What no time on a page may look like any more: en-US dates, a 12-hour clock, Intl's GMT+1.
FORBIDDEN = re.compile(
    r"\b\d{1,2}/\d{1,2}/\d{4}\b|\b\d{1,2}:\d{2}\s?[AP]M\b|\bGMT[+-]\d|\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}"
)
DAY = r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}"


def full(when: datetime, tz: ZoneInfo, seconds: bool = False) -> str:
    local = when.astimezone(tz)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{local:%a} {local.day} {local:%b %Y} {clock} {local:%Z}"


def clock(when: datetime, tz: ZoneInfo) -> str:
    return f"{when.astimezone(tz):%H:%M %Z}"


def span(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    a, b = start.astimezone(tz), end.astimezone(tz)
    if a.date() != b.date():
        return f"{full(start, tz)} - {full(end, tz)}"
    return f"{a:%a} {a.day} {a:%b %Y} {a:%H:%M}-{b:%H:%M %Z}"


def _submit(now: datetime) -> BackupJob:
    load_demo_data(days=2, now=now)
    metadata = {
        "carbon_aware": True,
        "carbon_zone": "DE",
        "carbon_max_delay": 12 * 3600 * 10**9,
        "expected_duration_hours": 2,
        "data_size_gb": 200,
        "executor": "hypersdk",  # nothing runs: no source file needed
    }
    outcome = submit_jobs([{"vm_path": "/vms/web-01.qcow2", "name": "web-01", "metadata": metadata}], now=now)
    assert outcome.job_ids, outcome.errors
    return BackupJob.objects.get(pk=outcome.job_ids[0])


def _times_on(page: Any) -> list[str]:
    """The text of every <time> and range on the page."""
    return page.eval_on_selector_all(
        "main time[datetime], main [data-start][data-end]", "ts => ts.map(t => t.textContent)"
    )


def _assert_one_format(page: Any, label: str) -> None:
    text = page.inner_text("main")
    assert not FORBIDDEN.findall(text), FORBIDDEN.findall(text)
    shape = re.compile(
        rf"^({DAY} )?\d{{2}}:\d{{2}}(:\d{{2}})?(-\d{{2}}:\d{{2}})? {label}$|^{DAY} \d{{2}}:\d{{2}} {label} - {DAY} \d{{2}}:\d{{2}} {label}$"
    )
    times = _times_on(page)
    assert times and all(shape.match(t) for t in times), [t for t in times if not shape.match(t)]


@pytest.fixture
def admin_user(db: None) -> Any:
    ensure_roles()
    return get_user_model().objects.create_superuser("admin", password=PASSWORD)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("browser_tz", ["Europe/Berlin", "America/Los_Angeles"])
def test_every_time_is_in_one_format_and_they_agree(
    live_server: Any,
    chromium: Any,  # noqa: F811
    admin_user: Any,
    settings: Any,
    browser_tz: str,
) -> None:
    settings.HYPERSDK_URL = "http://127.0.0.1:9"  # the backup is planned hours ahead: nothing runs it
    tz = ZoneInfo(browser_tz)
    now = timezone.now().replace(microsecond=0)
    job = _submit(now)
    label = f"{now.astimezone(tz):%Z}"  # CET or PST in December (CEST / PDT in summer)
    errors: list[str] = []
    page = _page(chromium, errors, timezone_id=browser_tz, locale="en-US")
    sign_in(page, live_server.url)
    shot = browser_tz.replace("/", "-")

    # The backup page: its facts, headline, decision table and event log.
    start, end = job.planned_start, job.planned_start + job.expected_duration
    page.goto(f"{live_server.url}/backups/{job.pk}")
    page.wait_for_selector("div.hw-chart .main-svg")
    page.screenshot(path=str(ARTIFACTS / f"time-format-backup-{shot}.png"), full_page=True)
    _assert_one_format(page, label)
    assert page.inner_text("dt:has-text('Planned start') + dd") == full(start, tz)
    assert page.inner_text("dt:has-text('Requested') + dd").startswith(full(job.requested_at, tz))
    assert page.inner_text("dt:has-text('May start') + dd") == span(job.earliest_start, job.latest_start, tz)
    if " window " in job.decision["reason"]:
        assert f"window {start.astimezone(tz):%H:%M}-{clock(end, tz)}" in page.inner_text("#why-reason")
    assert page.inner_text("tr:has-text('Chosen') td:nth-child(2)") == span(start, end, tz)
    # The chart's axis: hours on a 24-hour clock, each day named once, as everywhere else.
    ticks = page.eval_on_selector_all("div.hw-chart .xtick text", "ts => ts.map(t => t.textContent)")
    assert ticks and all(re.fullmatch(rf"\d{{2}}:\d{{2}}({DAY})?", t) for t in ticks), ticks
    assert any(re.search(DAY, t) for t in ticks), ticks
    events = page.inner_text("#events").splitlines()
    first = job.events.order_by("timestamp", "pk").first()
    assert events[0].startswith(f"{full(first.timestamp, tz, seconds=True)} INFO"), events[0]

    # The new-backup estimate: its window as a range, and its advice on the same start.
    page.goto(f"{live_server.url}/backups/new")
    page.select_option("#id_zone", "DE")
    page.fill("#id_data_size_gb", "200")
    page.fill("#id_expected_duration_hours", "2")
    page.fill("#id_max_delay_hours", "12")
    if not page.is_checked("#id_carbon_aware"):
        page.check("#id_carbon_aware")
    with page.expect_response(lambda r: "/carbon/estimate" in r.url and r.status == 200) as answer:
        page.fill("#id_data_size_gb", "201")
    estimate = answer.value.json()
    page.wait_for_function("() => !document.getElementById('estimate').textContent.includes('Estimating')")
    page.screenshot(path=str(ARTIFACTS / f"time-format-estimate-{shot}.png"), full_page=True)
    best = datetime.fromisoformat(estimate["best_time"].replace("Z", "+00:00"))
    best_end = datetime.fromisoformat(estimate["best_end"].replace("Z", "+00:00"))
    text = page.inner_text("#estimate")
    assert not FORBIDDEN.findall(text), text
    if estimate["savings_kg_co2"] > 0 and estimate["delay_minutes"] > 0:
        assert page.inner_text("#estimate-window") == span(best, best_end, tz), text
        assert f"start at {full(best, tz)}" in text, (text, estimate["recommendation"])

    # A recurring backup's page: its schedule, next runs, window and run history.
    fires = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), UTC).replace(hour=22)
    fires = fires if fires > now else fires + timedelta(days=1)
    policy = BackupPolicyFactory(
        name="nightly",
        schedule="0 22 * * *",
        zone=zone("DE"),
        window_hours=8.0,
        window_start=datetime(2026, 1, 1, 22, 0).time(),
        next_run_at=fires,
    )
    job.policy = policy
    job.save(update_fields=["policy"])
    page.goto(f"{live_server.url}/policies/{policy.pk}")
    page.wait_for_selector("#schedule-text")
    page.screenshot(path=str(ARTIFACTS / f"time-format-policy-{shot}.png"), full_page=True)
    _assert_one_format(page, label)
    assert page.get_attribute("#id_window_start", "type") != "time"  # en-US would show 10:00 PM
    assert page.input_value("#id_window_start") == "22:00"
    assert page.inner_text("dt:has-text('Next run') + dd") == full(fires, tz)
    schedule = page.inner_text("#schedule-text")
    assert f"at {clock(fires, tz)}" in schedule, schedule
    assert f"Next: {full(fires, tz)}, {full(fires + timedelta(days=1), tz)}" in schedule, schedule
    window = page.inner_text("#window-text")
    assert f"from {full(fires, tz)} to {full(fires + timedelta(hours=8), tz)}" in window, window
    assert f"opens at {clock(fires, tz)}" in window, window
    assert full(job.requested_at, tz) in page.inner_text("main ul")
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("chosen", ["Europe/Berlin", "Asia/Tokyo"])
def test_with_and_without_javascript_a_chosen_zone_reads_the_same(
    live_server: Any,
    chromium: Any,  # noqa: F811
    admin_user: Any,
    settings: Any,
    chosen: str,
) -> None:
    """For a timezone chosen on Preferences the server writes every time and the browser rewrites
    it: both give the same text, abbreviation included (Intl alone says GMT+1 for Berlin in
    en-US and GMT+9 for Tokyo; the tz database CET and JST)."""
    settings.HYPERSDK_URL = "http://127.0.0.1:9"
    UserPreference.objects.create(user=admin_user, timezone=chosen)
    job = _submit(timezone.now().replace(microsecond=0))
    tz = ZoneInfo(chosen)
    seen = {}
    for js in (True, False):
        errors: list[str] = []
        page = _page(
            chromium, errors, timezone_id="America/Los_Angeles", locale="en-US", java_script_enabled=js
        )
        sign_in(page, live_server.url)
        page.goto(f"{live_server.url}/backups/{job.pk}")
        page.screenshot(
            path=str(ARTIFACTS / f"time-format-chosen-{chosen.replace('/', '-')}-js-{js}.png"), full_page=True
        )
        seen[js] = (_times_on(page), page.inner_text("#why-reason"), page.inner_text("#events"))
        _assert_one_format(page, f"{job.planned_start.astimezone(tz):%Z}")
        assert page.inner_text("dt:has-text('Planned start') + dd") == full(job.planned_start, tz)
        assert not errors, errors
        page.context.close()
    assert seen[True] == seen[False]
