"""Forecast retention: old issues thinned to the first of each UTC day, everything else kept."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import Schedule

from carbon import schedules as carbon_schedules
from carbon import services, tasks
from carbon.models import CarbonReading, Zone
from hyperweb.schedules import register_all
from tests.carbon.factories import ZoneFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=7)  # 2026-04-08 12:00
POINTS = 4  # per issue: enough to tell whole issues apart, cheap to insert


def forecast(
    zone: Zone, issued: datetime, *, source: str = "simulated", signal: str = "average"
) -> list[CarbonReading]:
    return [
        CarbonReading(
            zone=zone,
            kind="forecast",
            source=source,
            signal=signal,
            issued_at=issued,
            start=issued + timedelta(minutes=15 * i),
            end=issued + timedelta(minutes=15 * (i + 1)),
            value=300.0 + i,
        )
        for i in range(POINTS)
    ]


def hourly(start: datetime, end: datetime) -> list[datetime]:
    return [start + timedelta(hours=h) for h in range(int((end - start).total_seconds() // 3600))]


def issues(zone: Zone, **filters: object) -> Counter:
    """Points per issue time."""
    return Counter(
        CarbonReading.objects.filter(zone=zone, kind="forecast", **filters).values_list(
            "issued_at", flat=True
        )
    )


@pytest.fixture
def zone() -> Zone:
    zone = ZoneFactory(code="PRUNE")
    rows = [r for t in hourly(datetime(2026, 4, 1, tzinfo=UTC), NOW) for r in forecast(zone, t)]
    CarbonReading.objects.bulk_create(rows)
    return zone


def test_it_keeps_only_the_first_issue_of_each_utc_day_before_the_cutoff(zone):
    deleted = services.prune_forecasts(now=NOW, keep_days=7)
    old = issues(zone, issued_at__lt=CUTOFF)
    # 1-7 April whole (24 issues each), 8 April up to 11:00: all but one issue a day go
    assert deleted == (7 * 23 + 11) * POINTS
    assert sorted(old) == [datetime(2026, 4, d, tzinfo=UTC) for d in range(1, 9)]
    assert set(old.values()) == {POINTS}  # the kept issues are whole


def test_it_leaves_issues_of_the_last_keep_days_untouched(zone):
    recent_before = issues(zone, issued_at__gte=CUTOFF)
    services.prune_forecasts(now=NOW, keep_days=7)
    assert issues(zone, issued_at__gte=CUTOFF) == recent_before
    assert len(recent_before) == 7 * 24 and min(recent_before) == CUTOFF


def test_it_never_touches_actual_readings():
    zone = ZoneFactory(code="ACT")
    start = datetime(2026, 3, 1, tzinfo=UTC)
    CarbonReading.objects.bulk_create(
        CarbonReading(
            zone=zone, kind="actual", source="simulated", start=t, end=t + timedelta(hours=1), value=1
        )
        for t in hourly(start, NOW)
    )
    CarbonReading.objects.bulk_create(forecast(zone, start + timedelta(hours=1)) + forecast(zone, start))
    assert services.prune_forecasts(now=NOW, keep_days=7) == POINTS
    assert CarbonReading.objects.filter(zone=zone, kind="actual").count() == len(hourly(start, NOW))


def test_it_is_idempotent(zone):
    first = services.prune_forecasts(now=NOW, keep_days=7)
    kept = issues(zone)
    assert first > 0
    assert services.prune_forecasts(now=NOW, keep_days=7) == 0
    # a day later only that day's newly old issues go; the daily survivors stay
    assert services.prune_forecasts(now=NOW + timedelta(days=1), keep_days=7) == 23 * POINTS
    assert set(issues(zone)) <= set(kept)
    assert datetime(2026, 4, 8, tzinfo=UTC) in issues(zone)


def test_it_picks_the_first_issue_per_source_and_signal_and_utc_day():
    zone = ZoneFactory(code="MIX")
    day = datetime(2026, 4, 2, tzinfo=UTC)
    rows = []
    for t in (day + timedelta(hours=5, minutes=30), day + timedelta(hours=9), day + timedelta(hours=23)):
        rows += forecast(zone, t)  # simulated/average: first at 05:30
    for t in (day + timedelta(hours=7), day + timedelta(hours=8)):
        rows += forecast(zone, t, source="electricitymaps")
    for t in (day + timedelta(hours=6), day + timedelta(hours=10)):
        rows += forecast(zone, t, signal="marginal")
    rows += forecast(zone, day + timedelta(days=1, minutes=30))  # 00:30 next UTC day: its own first
    CarbonReading.objects.bulk_create(rows)

    assert services.prune_forecasts(now=NOW, keep_days=7) == 4 * POINTS
    assert set(issues(zone, source="simulated", signal="average")) == {
        day + timedelta(hours=5, minutes=30),
        day + timedelta(days=1, minutes=30),
    }
    assert set(issues(zone, source="electricitymaps")) == {day + timedelta(hours=7)}
    assert set(issues(zone, signal="marginal")) == {day + timedelta(hours=6)}


def test_it_defaults_to_the_retention_setting_and_refuses_less_than_a_day(zone, settings):
    settings.CARBON_FORECAST_RETENTION_DAYS = 13
    # only 1 and 2 April (before 12:00) are older than 13 days
    assert services.prune_forecasts(now=NOW) == (23 + 11) * POINTS
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="keep_days"):
            services.prune_forecasts(now=NOW, keep_days=bad)


def test_it_deletes_with_a_few_statements_not_row_by_row(zone):
    other = ZoneFactory(code="PRUNE2")
    CarbonReading.objects.bulk_create(
        r for t in hourly(datetime(2026, 4, 1, tzinfo=UTC), NOW) for r in forecast(other, t)
    )
    with CaptureQueriesContext(connection) as queries:
        services.prune_forecasts(now=NOW, keep_days=7)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    # one statement per zone and series (172 doomed issues fit one batch of 200), no row loading
    assert len(deletes) == 2
    assert len(queries.captured_queries) <= Zone.objects.count() + 4


def test_it_registers_the_daily_prune_schedule_once_by_name():
    register_all(now=datetime(2026, 4, 15, 12, 0, tzinfo=UTC))
    register_all(now=datetime(2026, 4, 16, 2, 0, tzinfo=UTC))
    schedule = Schedule.objects.get(name=carbon_schedules.PRUNE_SCHEDULE)
    assert Schedule.objects.filter(name="carbon.prune_forecasts").count() == 1
    assert (schedule.func, schedule.schedule_type, schedule.repeats) == (
        "carbon.tasks.prune_forecasts",
        Schedule.DAILY,
        -1,
    )
    # the first run at the next quiet hour, not moved by registering again
    assert schedule.next_run == datetime(2026, 4, 16, 3, 30, tzinfo=UTC)
    assert Schedule.objects.filter(name=carbon_schedules.REFRESH_SCHEDULE).count() == 1


def test_the_prune_task_prunes_with_the_setting_and_logs_it(settings, caplog):
    zone = ZoneFactory(code="TASK")
    old = datetime.now(UTC) - timedelta(days=10)
    CarbonReading.objects.bulk_create(
        forecast(zone, old.replace(hour=1)) + forecast(zone, old.replace(hour=2))
    )
    settings.CARBON_FORECAST_RETENTION_DAYS = 5
    with caplog.at_level("INFO", logger="carbon.retention"):
        result = tasks.prune_forecasts()
    assert result == {"deleted": POINTS, "keep_days": 5}
    assert set(issues(zone)) == {old.replace(hour=1)}
    assert "pruned 4 forecast rows of TASK" in caplog.text
    assert tasks.prune_forecasts(keep_days=5) == {"deleted": 0, "keep_days": 5}
