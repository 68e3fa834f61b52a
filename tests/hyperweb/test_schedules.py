"""hyperweb.schedules: every app's django-q2 schedules, registered by name in one place."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils.module_loading import import_string
from django_q.models import Schedule

from hyperweb import schedules

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
FIELDS = ("name", "func", "schedule_type", "minutes", "cron", "repeats", "next_run")

EXPECTED = {
    "carbon.refresh_all_zones": ("carbon.tasks.refresh_all_zones", Schedule.MINUTES),
    "carbon.prune_forecasts": ("carbon.tasks.prune_forecasts", Schedule.DAILY),
    "scheduler.dispatch_due": ("scheduler.tasks.dispatch_due", Schedule.CRON),
    "scheduler.replan_waiting": ("scheduler.tasks.replan_waiting", Schedule.MINUTES),
    "scheduler.lifecycle": ("scheduler.tasks.lifecycle_tick", Schedule.MINUTES),
    "alerts.retry_deliveries": ("alerts.tasks.retry_deliveries", Schedule.MINUTES),
    "alerts.run_checks": ("alerts.tasks.run_checks", Schedule.MINUTES),
    "alerts.weekly_digest": ("alerts.tasks.weekly_digest", Schedule.CRON),
}


def rows() -> list[tuple]:
    return list(Schedule.objects.order_by("name").values_list(*FIELDS))


def test_running_it_twice_yields_the_same_schedules_and_every_expected_one_exists() -> None:
    names = schedules.register_all(now=NOW)
    first = rows()
    assert sorted(names) == sorted(EXPECTED)
    assert schedules.register_all(now=NOW) == names
    assert rows() == first
    assert {name: (func, kind) for name, func, kind, *_ in first} == EXPECTED
    for func, _kind in EXPECTED.values():
        assert callable(import_string(func))
    assert all(row[FIELDS.index("repeats")] == -1 for row in first)


def test_it_follows_the_settings_and_removes_a_schedule_switched_off(settings) -> None:
    schedules.register_all(now=NOW)
    settings.CARBON_REFRESH_MINUTES = 5
    settings.BACKUP_DISPATCH_SECONDS = 120
    settings.ALERT_DIGEST_CRON = ""
    schedules.register_all(now=NOW)
    assert Schedule.objects.get(name="carbon.refresh_all_zones").minutes == 5
    assert Schedule.objects.get(name="scheduler.replan_waiting").minutes == 5
    assert Schedule.objects.get(name="scheduler.dispatch_due").cron == "*/2 * * * *"
    assert not Schedule.objects.filter(name="alerts.weekly_digest").exists()
    assert Schedule.objects.count() == len(EXPECTED) - 1


def test_a_name_contributed_twice_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schedules, "_CONTRIBUTIONS", dict(schedules._CONTRIBUTIONS))

    @schedules.contributes
    def again(now: datetime) -> list[schedules.Periodic]:
        return [schedules.Periodic("carbon.refresh_all_zones", "carbon.tasks.refresh_all_zones", schedules.MINUTES)]

    with pytest.raises(ValueError, match="schedules registered twice: carbon.refresh_all_zones"):
        schedules.register_all(now=NOW)
    assert not Schedule.objects.exists()
