"""One rule for time, in headless Chromium in two browser timezones (Europe/Berlin and
America/Los_Angeles) and with a timezone chosen on the preferences page (which wins over the
browser's): the headline ("Best 2 h window ..."), the decision table and the chart's axis of the
same backup show the same local times, the event log too, and the chart's hover names the zone's
own local time; a recurring backup's "Runs at ..." agrees with its "Next: ..." on the list and on
its page; the API stays in UTC.

Screenshots go to var/test-artifacts/ (git-ignored; CI keeps them as artefacts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from accounts.models import UserPreference
from accounts.roles import ensure_roles
from carbon.services import load_demo_data
from scheduler.forms import next_runs
from scheduler.models import BackupJob
from scheduler.services import submit_jobs
from tests.dashboard.conftest import PASSWORD, sign_in
from tests.dashboard.test_e2e_actions import ARTIFACTS, _page, chromium  # noqa: F401 (fixture)
from tests.scheduler.factories import BackupPolicyFactory, zone

pytestmark = [pytest.mark.browser]

AXIS_AND_SHAPES = """() => {
  const div = document.querySelector('div.hw-chart');
  return {title: div.layout.xaxis.title.text, shapes: div.layout.shapes.map(s => [s.x0, s.x1]),
          ticks: [...div.querySelectorAll('.xtick text')].map(t => t.textContent)};
}"""


HOVER = """() => {
  const div = document.querySelector('div.hw-chart');
  return div.data.filter(t => t.customdata).map(t => ({template: t.hovertemplate, first: t.customdata[0], x: t.x[0]}));
}"""


@dataclass
class Viewer:
    """An admin signed in through the login page in headless Chromium in `browser_tz`, with
    `chosen` as the preferences page's timezone if any; `tz` is the one the pages must show."""

    user: Any
    page: Any
    errors: list[str]
    tz: str


@pytest.fixture
def viewer(
    live_server: Any,
    chromium: Any,  # noqa: F811
    browser_tz: str,
    chosen: str,
    settings: Any,
) -> Viewer:
    settings.HYPERSDK_URL = "http://127.0.0.1:9"  # the backup is planned hours ahead: nothing runs it
    ensure_roles()
    admin = get_user_model().objects.create_superuser("admin", password=PASSWORD)
    if chosen:
        UserPreference.objects.create(user=admin, timezone=chosen)
    errors: list[str] = []
    page = _page(chromium, errors, timezone_id=browser_tz, locale="en-GB")
    sign_in(page, live_server.url)
    return Viewer(user=admin, page=page, errors=errors, tz=chosen or browser_tz)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("browser_tz", "chosen"),
    [
        ("Europe/Berlin", ""),
        ("America/Los_Angeles", ""),
        # The preferences page's choice wins over the browser's, whichever way round.
        ("Europe/Berlin", "America/Los_Angeles"),
        ("America/Los_Angeles", "Europe/Berlin"),
    ],
)
def test_it_shows_one_backup_in_the_viewers_timezone_everywhere(
    live_server: Any, viewer: Viewer, browser_tz: str, chosen: str
) -> None:
    page, errors, tz = viewer.page, viewer.errors, viewer.tz
    now = timezone.now().replace(microsecond=0)
    load_demo_data(days=2, now=now)
    outcome = submit_jobs(
        [
            {
                "vm_path": "/vms/web-01.qcow2",
                "name": "web-01",
                "metadata": {
                    "carbon_aware": True,
                    "carbon_zone": "DE",
                    "carbon_max_delay": 12 * 3600 * 10**9,
                    "expected_duration_hours": 2,
                    "data_size_gb": 200,
                    "executor": "hypersdk",  # nothing runs: no source file needed
                },
            }
        ],
        now=now,
    )
    assert outcome.job_ids, outcome.errors
    job = BackupJob.objects.get(pk=outcome.job_ids[0])
    assert " UTC" in job.decision["reason"], job.decision["reason"]
    local = ZoneInfo(tz)
    start = job.planned_start.astimezone(local)
    end = (job.planned_start + job.expected_duration).astimezone(local)

    page.goto(f"{live_server.url}/backups/{job.pk}")
    page.wait_for_selector("div.hw-chart .main-svg")

    # The footer names the viewer's zone.
    assert tz in page.inner_text("footer")
    # Headline: the planner's UTC text, rewritten in the viewer's time (UTC on hover).
    headline = page.inner_text("#why-reason")
    span = f"{start:%H:%M}-{end:%H:%M}"
    if " window " in job.decision["reason"]:
        assert span in headline, (headline, span)
    assert "UTC" not in headline, headline
    assert page.get_attribute("#why-reason", "title") == job.decision["reason"]
    # Table: the chosen run starts and ends at the same local times.
    chosen_row = page.inner_text("tr:has-text('Chosen') td:nth-child(2)")
    assert f"{start:%H:%M}" in chosen_row and f"{end:%H:%M}" in chosen_row, (chosen_row, span)
    # Chart: axis titled with the viewer's zone; the chosen run's band at the same wall-clock times.
    chart = page.evaluate(AXIS_AND_SHAPES)
    assert chart["title"] == tz
    assert [f"{start:%Y-%m-%d %H:%M:%S}", f"{end:%Y-%m-%d %H:%M:%S}"] in chart["shapes"], chart["shapes"]
    assert any(re.fullmatch(r"\d{2}:\d{2}", t) or ":" in t for t in chart["ticks"]), chart["ticks"]
    assert _axis_hours(chart["ticks"]) <= {f"{h:02d}:00" for h in range(24)}
    # Hover: each value beside the zone's own local time (DE: Europe/Berlin, whatever the viewer's).
    hover = page.evaluate(HOVER)
    assert hover, "no trace carries the zone's local time"
    for trace in hover:
        assert "%{customdata} Europe/Berlin" in trace["template"], trace
        first = datetime.strptime(trace["x"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=local)
        assert trace["first"].startswith(f"{first.astimezone(ZoneInfo('Europe/Berlin')):%H:%M}"), trace
    # Event log: local times with the zone's name, not a bare Z.
    first_event = page.inner_text("#events time")
    submitted = job.events.order_by("timestamp", "pk").first().timestamp.astimezone(local)
    assert f"{submitted:%H:%M:%S}" in first_event and "Z" not in first_event, first_event
    name = f"{browser_tz}-chose-{chosen or 'nothing'}".replace("/", "-")
    page.screenshot(path=str(ARTIFACTS / f"timezone-{name}.png"), full_page=True)
    # A zone's page: the axis in the viewer's zone, the zone's own time (here Los Angeles) on hover.
    page.goto(f"{live_server.url}/zones/US-CAL-CISO")
    page.wait_for_selector("div.hw-chart .main-svg")
    assert page.evaluate(AXIS_AND_SHAPES)["title"] == tz
    hover = page.evaluate(HOVER)
    assert hover and all("%{customdata} America/Los_Angeles" in t["template"] for t in hover), hover
    for trace in hover:
        first = datetime.strptime(trace["x"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=local)
        assert trace["first"].startswith(f"{first.astimezone(ZoneInfo('America/Los_Angeles')):%H:%M}"), trace
    assert not errors, errors

    # The API says UTC whatever the viewer's zone.
    api = Client()
    api.force_login(viewer.user)
    body = api.get(f"/jobs/{job.pk}").json()
    planned = body.get("planned_start") or body.get("job", {}).get("planned_start")
    assert planned is None or planned.endswith("Z")
    assert job.planned_start - now <= timedelta(hours=12)


def _axis_hours(ticks: list[str]) -> set[str]:
    """The hh:mm of an axis's tick labels ("06:00", "Dec 2, 2026"...)."""
    return {m.group(0) for t in ticks for m in [re.search(r"\d{2}:\d{2}", t)] if m}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("browser_tz", "chosen", "schedule"),
    [
        ("Europe/Berlin", "", "0 22 * * *"),
        ("America/Los_Angeles", "", "0 22 * * *"),
        ("Europe/Berlin", "America/Los_Angeles", "0 22 * * *"),
        # 01:30 UTC on weekdays is the evening before in Los Angeles: the words say so.
        ("America/Los_Angeles", "", "30 1 * * 1-5"),
    ],
)
def test_a_policys_runs_at_agrees_with_its_next_run(
    live_server: Any, viewer: Viewer, browser_tz: str, chosen: str, schedule: str
) -> None:
    page, errors = viewer.page, viewer.errors
    local = ZoneInfo(viewer.tz)
    first = next_runs(schedule, now=timezone.now())[0]
    policy = BackupPolicyFactory(name="nightly", schedule=schedule, zone=zone("DE"), next_run_at=first)
    at = f"{first.astimezone(local):%H:%M}"
    shift = (first.astimezone(local).date() - first.date()).days
    said = {-1: " the day before", 0: "", 1: " the day after"}[shift]

    page.goto(f"{live_server.url}/policies")
    row = page.locator("tr:has-text('nightly')")
    when, next_run = row.locator("td").nth(1).inner_text(), row.locator("td").nth(4).inner_text()
    assert f"at {at} " in when and "UTC" not in when, (when, at)
    assert ("the day" in when) == bool(said) and said in when, (when, said)
    assert at in next_run and "UTC" not in next_run, (next_run, at)
    cron = schedule.replace(" ", "_").replace("*", "x")
    shot = f"policy-times-{browser_tz}-{chosen or 'browser'}-{cron}.png".replace("/", "-")
    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)

    page.goto(f"{live_server.url}/policies/{policy.pk}")
    text = page.inner_text("#schedule-text")
    runs, _, upcoming = text.partition("Next:")
    assert f"at {at} " in runs and "UTC" not in text, (text, at)
    assert ("the day" in runs) == bool(said) and said in runs, (runs, said)
    assert upcoming.count(at) == 3, (text, at)  # the next three runs, each at the same local time
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_without_javascript_a_chosen_timezone_is_rendered_by_the_server(
    live_server: Any,
    chromium: Any,  # noqa: F811
    settings: Any,
) -> None:
    """A browser without JavaScript (here in Berlin) for a user who chose America/Los_Angeles:
    the headline and the table of a backup page are in Los Angeles time, named, from the server;
    the <time datetime> attributes stay UTC."""
    settings.HYPERSDK_URL = "http://127.0.0.1:9"  # the backup is planned hours ahead: nothing runs it
    ensure_roles()
    admin = get_user_model().objects.create_superuser("admin", password=PASSWORD)
    UserPreference.objects.create(user=admin, timezone="America/Los_Angeles")
    now = timezone.now().replace(microsecond=0)
    load_demo_data(days=2, now=now)
    metadata = {
        "carbon_aware": True,
        "carbon_zone": "DE",
        "carbon_max_delay": 12 * 3600 * 10**9,
        "expected_duration_hours": 2,
        "data_size_gb": 200,
        "executor": "hypersdk",
    }
    outcome = submit_jobs([{"vm_path": "/vms/web-01.qcow2", "name": "web-01", "metadata": metadata}], now=now)
    assert outcome.job_ids, outcome.errors
    job = BackupJob.objects.get(pk=outcome.job_ids[0])
    la = ZoneInfo("America/Los_Angeles")
    start, end = job.planned_start.astimezone(la), (job.planned_start + job.expected_duration).astimezone(la)
    abbrev = start.strftime("%Z")  # PST or PDT

    errors: list[str] = []
    page = _page(chromium, errors, timezone_id="Europe/Berlin", locale="en-GB", java_script_enabled=False)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/backups/{job.pk}")

    assert "America/Los_Angeles" in page.inner_text("footer")
    headline = page.inner_text("#why-reason")
    assert "UTC" not in headline and abbrev in headline, headline
    if " window " in job.decision["reason"]:
        assert f"{start:%H:%M}-{end:%H:%M} {abbrev}" in headline, (headline, job.decision["reason"])
    assert page.get_attribute("#why-reason", "title") == job.decision["reason"]  # UTC on hover
    chosen_row = page.inner_text("tr:has-text('Chosen') td:nth-child(2)")
    day = f"{start:%a} {start.day} {start:%b %Y}"  # the rule: Thu 3 Dec 2026 02:00-04:00 PST
    assert f"{day} {start:%H:%M}" in chosen_row and f"{end:%H:%M} {abbrev}" in chosen_row, chosen_row
    assert "UTC" not in chosen_row
    stamps = page.eval_on_selector_all("time[datetime]", "ts => ts.map(t => t.getAttribute('datetime'))")
    assert stamps and all(s.endswith("Z") for s in stamps), stamps
    first_event = page.inner_text("#events time")
    assert abbrev in first_event and "Z" not in first_event.replace(abbrev, ""), first_event
    page.screenshot(path=str(ARTIFACTS / "timezone-no-javascript-America-Los_Angeles.png"), full_page=True)
    assert not errors, errors
