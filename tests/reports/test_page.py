"""The dashboard's reports page: pickers, preview with charts, download links, form errors."""

from __future__ import annotations

import pytest
from django.test import Client

from reports.esg.periods import quarter_period
from reports.esg_views import ReportForm


@pytest.fixture(autouse=True)
def _page_urls(settings):
    # hyperweb/urls.py does not include reports.esg_urls yet (asked of its owner)
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
    html = response.content.decode()
    assert "2026-Q3" in html and "zone DE" in html
    assert html.count("<svg") == 2
    assert "0.065 kg CO2e" in html  # DE: A 0.045 + B 0.020
    assert (
        'href="/reports/esg.pdf?start=2026-07-01T00%3A00%3A00Z&amp;end=2026-10-01T00%3A00%3A00Z&amp;zone=DE"'
        in html
    )
    assert "/reports/esg.csv?" in html and "/reports/esg-summary.csv?" in html


def test_it_defaults_to_last_quarter(viewer_browser, db) -> None:
    html = viewer_browser.get("/reports").content.decode()
    assert "Backup emissions report" in html
    assert "This period is empty" in html


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
