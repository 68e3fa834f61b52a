"""The dashboard's reports page: pickers, preview with charts, download links, form errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from dashboard.forms import ReportForm
from reports.esg.periods import PRESETS, Period, latest_preset_with, preset_period, quarter_period


@pytest.fixture(autouse=True)
def _page_urls(settings):
    # tests.reports.urls is the site's own URLs now (hyperweb/urls.py routes the ESG page)
    settings.ROOT_URLCONF = "tests.reports.urls"


@pytest.fixture
def viewer_browser(viewer_user) -> Client:
    client = Client()
    client.force_login(viewer_user)
    return client


def test_it_sends_anonymous_visitors_to_the_login_page(client, db) -> None:
    response = client.get("/reports")
    assert response.status_code == 302 and response["Location"].startswith("/login")


def test_it_refuses_outsiders(client, outsider_user) -> None:
    client.force_login(outsider_user)
    assert client.get("/reports").status_code == 403


def test_it_previews_a_custom_range_with_charts_and_downloads(viewer_browser, esg_fixture) -> None:
    response = viewer_browser.get("/reports?preset=custom&start=2026-07-01&end=2026-09-30&zone=DE")
    assert response.status_code == 200
    html = response.content.decode().replace("\xa0", " ")  # quantities keep their unit on the line
    assert "2026-Q3" in html and "zone DE" in html
    assert html.count("<svg") == 2
    assert "65.0 g CO2e" in html  # DE: A 0.045 + B 0.020
    assert (
        'href="/reports/esg.pdf?start=2026-07-01T00%3A00%3A00Z&amp;end=2026-10-01T00%3A00%3A00Z&amp;zone=DE"'
        in html
    )
    assert "/reports/esg.csv?" in html and "/reports/esg-summary.csv?" in html


def test_it_opens_on_month_to_date_without_any_backup(viewer_browser, db) -> None:
    html = viewer_browser.get("/reports").content.decode()
    assert "Backup emissions report" in html
    assert "This period is empty" in html
    assert '<option value="month-to-date" selected>Month to date</option>' in html


def test_it_opens_on_the_most_recent_period_that_has_data(viewer_browser, esg_fixture) -> None:
    from django.utils import timezone

    from scheduler.models import BackupJob

    # The fixture's backups are in 2026-Q3/Q4; move vm-a to a second ago: this month has data now.
    BackupJob.objects.filter(pk=esg_fixture.a).update(completed_at=timezone.now() - timedelta(seconds=1))
    html = viewer_browser.get("/reports").content.decode()
    assert '<option value="month-to-date" selected>Month to date</option>' in html
    assert "This period is empty" not in html
    assert "to date (" in html  # the period's label spells its days


@pytest.mark.parametrize(
    ("latest", "preset"),
    [
        (datetime(2026, 12, 2, 0, 30, tzinfo=UTC), "month-to-date"),
        (datetime(2026, 11, 30, 23, 59, tzinfo=UTC), "last-month"),
        (datetime(2026, 10, 1, 0, 0, tzinfo=UTC), "quarter-to-date"),
        (datetime(2026, 9, 30, 23, 59, tzinfo=UTC), "last-quarter"),
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), "year-to-date"),
        (datetime(2025, 12, 3, 0, 0, tzinfo=UTC), "last-12-months"),
        (datetime(2025, 12, 2, 23, 59, tzinfo=UTC), "last-year"),
        (datetime(2024, 6, 1, tzinfo=UTC), "month-to-date"),  # no preset reaches it: the empty month
        (None, "month-to-date"),
    ],
)
def test_it_picks_the_most_recent_preset_that_holds_the_latest_backup(latest, preset) -> None:
    assert latest_preset_with(latest, date(2026, 12, 2)) == preset


def test_it_spells_every_preset_period() -> None:
    today = date(2026, 2, 29 - 1)  # 2026-02-28
    got = {name: preset_period(name, today) for name, _ in PRESETS}
    end = datetime(2026, 3, 1, tzinfo=UTC)
    assert got["month-to-date"] == Period(datetime(2026, 2, 1, tzinfo=UTC), end, "month-to-date")
    assert got["quarter-to-date"].start == datetime(2026, 1, 1, tzinfo=UTC) and got["quarter-to-date"].end == end
    assert got["year-to-date"].start == datetime(2026, 1, 1, tzinfo=UTC)
    assert got["last-month"] == Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC), "month")
    assert got["last-quarter"].label == "2025-Q4" and got["last-year"].label == "2025"
    assert got["last-12-months"] == Period(datetime(2025, 3, 1, tzinfo=UTC), end, "last-12-months")
    assert got["last-12-months"].days == 365
    assert got["month-to-date"].label == "2026-02 to date (2026-02-01 to 2026-02-28)"
    assert got["quarter-to-date"].label == "2026-Q1 to date (2026-01-01 to 2026-02-28)"
    assert preset_period("last-12-months", date(2028, 2, 29)).days == 366


def test_it_refuses_an_unknown_preset(viewer_browser, db) -> None:
    response = viewer_browser.get("/reports?preset=last-decade")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("preset=custom&start=2026-09-30&end=2026-07-01", "must be after start"),
        ("preset=custom&start=2026-07-01", "end is required"),
        ("preset=custom&start=2020-01-01&end=2026-07-01", "at most 366 days"),
        ("preset=last-quarter&zone=DE&policy=x", "Select a valid choice"),
    ],
)
def test_it_shows_bad_input_as_a_form_error(viewer_browser, db, query, words) -> None:
    response = viewer_browser.get(f"/reports?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert words in html and 'class="errorlist"' in html
    assert "Download PDF" not in html


def test_it_offers_zones_and_policies_to_pick(esg_fixture) -> None:
    form = ReportForm(
        {"preset": "custom", "start": "2026-07-01", "end": "2026-09-30", "policy": esg_fixture.policy_id}
    )
    period, scope = form.resolve(today=None)
    assert period == quarter_period(2026, 3)
    assert scope.kind == "policy" and scope.policy_name == "nightly"
    assert ("DE", "DE") in form.fields["zone"].choices


def test_the_preview_is_a_utc_document_whatever_the_viewers_timezone(viewer_browser, viewer_user, esg_fixture) -> None:
    """The report adds up UTC days: its preview keeps every time in UTC, labelled, in the pages'
    format, even for a viewer who chose another timezone (localtime.js keeps data-zone)."""
    import re

    from accounts.models import UserPreference

    UserPreference.objects.create(user=viewer_user, timezone="Europe/Berlin")
    html = viewer_browser.get("/reports?preset=custom&start=2026-07-01&end=2026-09-30&zone=DE").content.decode()
    times = re.findall(r'<time datetime="[^"]+Z" data-style="datetime" data-zone="UTC"[^>]*>([^<]+)</time>', html)
    assert len(times) >= 3 and html.count("<time ") == len(times), html.count("<time ")
    assert all(re.fullmatch(r"\w{3} \d{1,2} \w{3} \d{4} \d{2}:\d{2} UTC", t) for t in times), times
    assert "<th>Requested (UTC)</th><th>Started (UTC)</th>" in html
    assert "All dates and times in this report are UTC" in html
