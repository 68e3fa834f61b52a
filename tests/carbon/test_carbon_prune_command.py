"""`manage.py carbon prune`: deletes old forecast issues (each UTC day's first kept), --json, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from carbon.models import CarbonReading
from tests.carbon.factories import ZoneFactory

pytestmark = pytest.mark.django_db

AT = "2026-04-15T12:00:00Z"
NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def zone():
    zone = ZoneFactory(code="CLI")
    start = NOW - timedelta(days=5)  # 10 April 12:00, hourly issues of 2 points each until now
    CarbonReading.objects.bulk_create(
        CarbonReading(
            zone=zone,
            kind="forecast",
            source="simulated",
            issued_at=start + timedelta(hours=h),
            start=start + timedelta(hours=h, minutes=15 * i),
            end=start + timedelta(hours=h, minutes=15 * (i + 1)),
            value=250,
        )
        for h in range(5 * 24)
        for i in range(2)
    )
    return zone


def carbon(*args: str) -> str:
    out = StringIO()
    call_command("carbon", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_prunes_and_reports_as_json(zone):
    data = json.loads(carbon("prune", "--keep-days", "2", "--at", AT, "--json"))
    # before 13 April 12:00: 10 April 12:00-23:00 (11 go), 11 and 12 April (23 each), 13 April 01-11 (11)
    assert data["deleted"] == (11 + 23 + 23 + 11) * 2
    assert (data["keep_days"], data["cutoff"], data["as_of"]) == (
        2,
        "2026-04-13T12:00:00Z",
        AT.replace("+00:00", "Z"),
    )
    assert data["remaining"] == CarbonReading.objects.filter(kind="forecast").count() == (120 - 68) * 2
    assert data["seconds"] >= 0
    # idempotent
    assert json.loads(carbon("prune", "--keep-days", "2", "--at", AT, "--json"))["deleted"] == 0


def test_it_prunes_with_the_setting_by_default_and_prints_a_line(zone, settings):
    settings.CARBON_FORECAST_RETENTION_DAYS = 4
    text = carbon("prune", "--at", AT)
    assert text.startswith("Pruned 44 forecast rows issued before 2026-04-11 12:00 UTC")
    assert "first issue of each UTC day kept" in text and "\x1b[" not in text


@pytest.mark.parametrize("bad", ["0", "-3", "1.5", "week"])
def test_it_refuses_a_bad_keep_days_with_exit_code_2(zone, bad):
    with pytest.raises(CommandError) as caught:
        carbon("prune", f"--keep-days={bad}", "--at", AT)
    assert caught.value.returncode == 2 and "--keep-days" in str(caught.value)
    assert CarbonReading.objects.count() == 240
