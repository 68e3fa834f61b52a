"""The periodic checks (target space, stale carbon data, backups waiting past their deadline), the
weekly digest, and the schedules that run them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts import checks
from alerts.models import Alert, Kind
from tests.scheduler.factories import BackupJobFactory, add_readings, zone

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture(autouse=True)
def _target(settings, tmp_path):
    settings.BACKUP_TARGET_ROOT = tmp_path / "backups"  # not created yet: its parent's filesystem


def test_it_alerts_when_the_target_has_less_free_space_than_the_threshold(settings) -> None:
    settings.ALERT_TARGET_MIN_FREE_PERCENT = 100  # any real disk has less than 100 % free
    low = checks.check_targets(NOW)

    assert len(low) == 1 and low[0].free_percent < 100
    alert = Alert.objects.get(kind=Kind.TARGET_FULL)
    assert alert.subject.startswith("Backup target nearly full: ")
    assert alert.payload["threshold_percent"] == 100 and alert.payload["free_bytes"] == low[0].free_bytes


def test_it_stays_quiet_above_the_threshold_and_repeats_once_per_period(settings) -> None:
    settings.ALERT_TARGET_MIN_FREE_PERCENT = 0
    assert checks.check_targets(NOW) == [] and not Alert.objects.exists()

    settings.ALERT_TARGET_MIN_FREE_PERCENT = 100
    settings.ALERT_REPEAT_HOURS = 24
    checks.check_targets(NOW)
    checks.check_targets(NOW + timedelta(minutes=5))  # the next check: same period, no new alert
    assert Alert.objects.filter(kind=Kind.TARGET_FULL).count() == 1
    checks.check_targets(NOW + timedelta(days=1))
    assert Alert.objects.filter(kind=Kind.TARGET_FULL).count() == 2


def test_it_alerts_when_a_zone_has_been_stale_longer_than_the_threshold(settings) -> None:
    from carbon.models import FetchAttempt, Zone

    Zone.objects.exclude(code__in=["DE", "FR"]).update(active=False)
    settings.CARBON_STALE_MINUTES = 90
    settings.ALERT_PROVIDER_STALE_MINUTES = 120
    de, fr = zone("DE"), zone("FR")
    # DE's newest reading ended 4 h ago: stale for 4 h - 90 min = 150 min > 120 min.
    add_readings(de, NOW - timedelta(hours=6), [300, 310])
    FetchAttempt.objects.create(
        zone=de, provider="electricitymaps", what="current", at=NOW, ok=False, error="HTTP 503"
    )
    # FR's ended 3 h ago: stale for 90 min, not yet past the threshold.
    add_readings(fr, NOW - timedelta(hours=4), [50])

    stale = checks.check_providers(NOW)

    assert [(s.zone, s.stale_minutes) for s in stale] == [("DE", 150.0)]
    alert = Alert.objects.get(kind=Kind.PROVIDER_STALE)
    assert alert.payload == {
        "zone": "DE",
        "newest_reading_end": (NOW - timedelta(hours=4)).isoformat(),
        "stale_minutes": 150.0,
        "threshold_minutes": 120,
    }
    assert "electricitymaps" in alert.body and "HTTP 503" in alert.body


def test_a_zone_with_no_data_at_all_is_stale(settings) -> None:
    from carbon.models import Zone

    Zone.objects.exclude(code="JP").update(active=False)
    zone("JP")
    stale = checks.check_providers(NOW)
    assert [s.zone for s in stale] == ["JP"] and stale[0].newest_end is None
    assert Alert.objects.get(kind=Kind.PROVIDER_STALE).payload["newest_reading_end"] is None


def test_it_alerts_once_for_a_backup_still_waiting_past_its_deadline() -> None:
    late = BackupJobFactory(
        status="scheduled", requested_at=NOW - timedelta(hours=5), latest_start=NOW - timedelta(minutes=2)
    )
    soon = BackupJobFactory(
        status="scheduled", requested_at=NOW - timedelta(hours=5), latest_start=NOW - timedelta(seconds=30)
    )  # within the grace
    BackupJobFactory(
        status="pending", attempts=1, requested_at=NOW - timedelta(hours=5)
    )  # a retry: not a new miss
    BackupJobFactory(status="failed", requested_at=NOW - timedelta(hours=5))

    assert checks.check_deadlines(NOW) == [late.id]
    assert checks.check_deadlines(NOW + timedelta(minutes=5)) == [soon.id]  # now past it too
    assert checks.check_deadlines(NOW + timedelta(minutes=10)) == []
    assert set(Alert.objects.filter(kind=Kind.DEADLINE_MISSED).values_list("job_id", flat=True)) == {
        late.id,
        soon.id,
    }


def accounted(name: str, completed: datetime, emitted: float, counterfactual: float, **extra):
    return BackupJobFactory(
        name=name,
        status="completed",
        requested_at=completed - timedelta(hours=3),
        started_at=completed - timedelta(hours=1),
        completed_at=completed,
        energy_kwh=0.3,
        emissions_kg=emitted,
        counterfactual_kg=counterfactual,
        saving_kg=counterfactual - emitted,
        accounting={"signal": "average"},
        **extra,
    )


def test_the_weekly_digest_sums_last_week_as_the_esg_report_does() -> None:
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    last_monday = monday - timedelta(days=7)
    accounted("web-01", last_monday + timedelta(days=1), 0.045, 0.060)
    worse = accounted("db-01", last_monday + timedelta(days=2), 0.050, 0.040)
    accounted("this-week", monday + timedelta(hours=1), 1.0, 2.0)  # not last week
    accounted("older", last_monday - timedelta(seconds=1), 1.0, 2.0)  # not last week either
    BackupJobFactory(status="failed", completed_at=last_monday + timedelta(days=3))

    alert = checks.send_weekly_digest(NOW)

    value = alert.payload
    assert alert.key == "weekly_digest:2026-W09"
    assert (value["period_start"], value["period_end"]) == (last_monday.isoformat(), monday.isoformat())
    assert value["backups"] == 2 and value["failed"] == 1
    assert value["emissions_kg"] == pytest.approx(0.095)
    assert value["counterfactual_kg"] == pytest.approx(0.100)
    assert value["avoided_kg"] == pytest.approx(0.005)
    assert value["made_worse"] == 1 and value["made_worse_jobs"][0]["job_id"] == worse.id
    # The same figures as the ESG report of that week (one aggregation, not a second one).
    from reports.esg.loader import build
    from reports.esg.periods import Period
    from reports.esg.value import Scope

    report = build(Period(last_monday, monday), Scope())
    assert (
        value["emissions_kg"] == report.totals.emissions_kg
        and value["avoided_kg"] == report.totals.avoided_kg
    )
    assert "Backups made worse by waiting: 1" in alert.body and "db-01" in alert.body
    assert checks.send_weekly_digest(NOW + timedelta(hours=1)) is None  # once per week


def test_the_schedules_are_registered_by_name_idempotently(settings) -> None:
    from django_q.models import Schedule

    from hyperweb.schedules import register_all as register_schedules

    settings.ALERT_CHECK_MINUTES = 7
    register_schedules()
    register_schedules()
    rows = dict(Schedule.objects.filter(name__startswith="alerts.").values_list("name", "func"))
    assert rows == {
        "alerts.retry_deliveries": "alerts.tasks.retry_deliveries",
        "alerts.run_checks": "alerts.tasks.run_checks",
        "alerts.weekly_digest": "alerts.tasks.weekly_digest",
    }
    assert Schedule.objects.get(name="alerts.run_checks").minutes == 7
    assert Schedule.objects.get(name="alerts.weekly_digest").cron == "0 7 * * 1"
    settings.ALERT_DIGEST_CRON = ""
    register_schedules()
    assert not Schedule.objects.filter(name="alerts.weekly_digest").exists()


def test_the_check_task_runs_every_check(settings) -> None:
    from alerts.tasks import run_checks
    from carbon.models import Zone

    settings.ALERT_TARGET_MIN_FREE_PERCENT = 0
    BackupJobFactory(
        status="scheduled",
        latest_start=datetime(2026, 1, 1, tzinfo=UTC),
        requested_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    # No readings stored: every active zone has no data at all, so each is stale.
    assert run_checks() == {
        "targets_low": 0,
        "zones_stale": Zone.objects.filter(active=True).count(),
        "deadlines_missed": 1,
        "alerts_pruned": 0,
    }


def test_it_deletes_alerts_older_than_the_keep_period_with_their_deliveries(settings) -> None:
    from alerts.models import Delivery, DeliveryAttempt, Webhook
    from alerts.services import raise_alert

    settings.ALERT_KEEP_DAYS = 30
    Webhook.objects.create(name="hook", url="http://127.0.0.1:9/x", secret="s" * 20)
    old = raise_alert(Kind.TARGET_FULL, "old", "old", "old", now=NOW - timedelta(days=31))
    DeliveryAttempt.objects.create(delivery=old.deliveries.get(), at=NOW - timedelta(days=31), ok=False)
    recent = raise_alert(Kind.TARGET_FULL, "recent", "recent", "recent", now=NOW - timedelta(days=29))

    assert checks.prune_alerts(NOW) == 1
    assert list(Alert.objects.values_list("pk", flat=True)) == [recent.pk]
    assert Delivery.objects.count() == 1 and not DeliveryAttempt.objects.exists()
    assert checks.prune_alerts(NOW) == 0
