"""The risk setting in the product: per job, per policy and by default, planned against each
zone's forecast error learned from its stored forecast issues (scheduler.services.risk)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.utils import timezone

from scheduler.models import BackupJob, BackupPolicy
from scheduler.services import submit_jobs
from scheduler.services.definitions import InvalidDefinition, parse_definition
from scheduler.services.planning import replan_zone
from scheduler.services.policies import run_policy, save_policy
from scheduler.services.risk import zone_error_profile
from tests.scheduler.factories import add_readings, zone

pytestmark = pytest.mark.django_db

HOUR = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
NOW = HOUR + timedelta(seconds=30)
HOURS_NS = 3600 * 10**9


@pytest.fixture(autouse=True)
def _setup(settings, tmp_path) -> None:
    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    settings.BACKUP_TARGET_ROOT = tmp_path / "backups"
    (tmp_path / "vm1.img").write_bytes(b"x")
    cache.clear()


def history_of_optimistic_forecasts(by: float = 10.0) -> None:
    """Six days of actual 100 g/kWh; a forecast every 3 h that always promised ``by`` less 3 h
    ahead than what came."""
    de = zone("DE")
    add_readings(de, HOUR - timedelta(days=6), [100.0] * (6 * 24))
    issue = HOUR - timedelta(days=5)
    while issue <= NOW - timedelta(hours=24):
        values = [100.0] * 24
        values[3] = 100.0 - by
        add_readings(de, issue, values, kind="forecast", source="model", issued_at=issue)
        issue += timedelta(hours=3)


def current_forecast(dip: float) -> None:
    values = [100.0] * 12
    values[3] = dip  # 03:00-04:00 looks cleaner
    add_readings(
        zone("DE"), HOUR, values, kind="forecast", source="model", issued_at=HOUR - timedelta(minutes=5)
    )


def submit(**meta) -> BackupJob:
    metadata = {
        "carbon_aware": True,
        "carbon_zone": "DE",
        "carbon_max_delay": 4 * HOURS_NS,
        "expected_duration_hours": 1,
        **meta,
    }
    outcome = submit_jobs([{"vm_path": "vm1.img", "name": "vm1", "metadata": metadata}], now=NOW)
    assert outcome.errors == []
    return BackupJob.objects.get(pk=outcome.job_ids[0])


def test_it_learns_the_zones_forecast_error_by_lead_from_stored_issues() -> None:
    history_of_optimistic_forecasts()
    profile = zone_error_profile(zone("DE"), now=NOW)
    assert profile is not None and profile.issues >= 24
    # 03:00-04:00 was 10 % too optimistic: the hour centred on 03:30 holds all of it.
    assert profile.quantile(3.5 * 3600, 0.5) == pytest.approx(0.10)
    assert profile.quantile(3 * 3600, 0.5) == pytest.approx(0.05)
    assert profile.quantile(6 * 3600, 0.9) == pytest.approx(0.0)


def test_it_samples_the_same_issues_whatever_timezone_a_page_activated() -> None:
    # Pages run in the viewer's timezone (accounts.middleware); the issues sampled every
    # SAMPLE_HOURS are UTC hours all the same (a local-hour filter in Kolkata, +05:30, would
    # find no issue at a whole local hour and learn nothing).
    history_of_optimistic_forecasts()
    utc = zone_error_profile(zone("DE"), now=NOW)
    cache.clear()
    with timezone.override(ZoneInfo("Asia/Kolkata")):  # +05:30: no UTC hour is a local whole hour
        there = zone_error_profile(zone("DE"), now=NOW)
    assert utc is not None and there is not None and there.issues == utc.issues


def test_a_cautious_job_does_not_wait_for_a_dip_the_forecast_usually_gets_wrong() -> None:
    history_of_optimistic_forecasts(by=10.0)
    current_forecast(dip=95.0)  # 5 % less in 3 h: within the usual 10 % error there
    greedy = submit(carbon_risk="greedy")
    cautious = submit(carbon_risk="cautious")
    assert greedy.planned_start == HOUR + timedelta(hours=3)
    assert cautious.planned_start == NOW
    reason = cautious.decision["reason"]
    assert "Risk cautious: the forecast's cleanest start, 2026-03-10T03:00:00Z, does not save" in reason
    assert cautious.decision["inputs"]["risk"] == "cautious"
    assert cautious.definition["metadata"]["carbon_risk"] == "cautious"


def test_a_big_dip_is_worth_waiting_for_and_the_plan_says_how_sure_it_is(settings) -> None:
    settings.BACKUP_RISK = "cautious"  # the default setting, for a job that names none
    history_of_optimistic_forecasts(by=10.0)
    current_forecast(dip=70.0)  # 30 % less: more than the usual error
    job = submit()
    assert job.risk == "" and job.planned_start == HOUR + timedelta(hours=3)
    sure = job.decision["inputs"]["sureness"]
    assert sure["forecast_saving_pct"] == pytest.approx(30.0)
    # The usual optimism around 03:00 taken off: 10 % in that hour, 7.5 % over this run's hour
    # on the error's hour-centred means (5, 7.5, 10 and 7.5 % at its four quarter-hours).
    assert sure["likely_saving_pct"] == pytest.approx(30.0 - 7.5)
    assert "likely saving 22 %" in job.decision["reason"]


def test_a_waiting_job_is_replanned_on_the_forecast_as_it_is() -> None:
    # Sent waiting for a 30 % dip at 03:00; a newer forecast shrinks it to 5 %, within the usual
    # error there. Its run at submission is gone: the re-plan does not send it off at once (what
    # the rule would say against "now"), it keeps the still cleaner 03:00.
    history_of_optimistic_forecasts(by=10.0)
    current_forecast(dip=70.0)
    job = submit(carbon_risk="cautious")
    assert job.planned_start == HOUR + timedelta(hours=3)
    later = NOW + timedelta(minutes=20)
    values = [100.0] * 12
    values[3] = 95.0
    add_readings(zone("DE"), HOUR, values, kind="forecast", source="model", issued_at=later - timedelta(minutes=1))
    cache.clear()
    assert replan_zone(zone("DE"), now=later) == []
    job.refresh_from_db()
    assert job.planned_start == HOUR + timedelta(hours=3)


def test_it_refuses_an_unknown_risk_setting_naming_the_field() -> None:
    definition = {"vm_path": "vm1.img", "metadata": {"carbon_risk": "reckless"}}
    with pytest.raises(InvalidDefinition) as err:
        parse_definition(definition, now=NOW)
    assert err.value.field == "metadata.carbon_risk"
    assert "cautious, balanced, greedy" in str(err.value)


def test_a_policy_hands_its_risk_setting_to_its_jobs() -> None:
    zone("DE")
    policy = save_policy(
        BackupPolicy(),
        {
            "name": "nightly",
            "schedule": "0 22 * * *",
            "zone": "DE",
            "risk": "cautious",
            "job_template": {"vm_path": "vm1.img", "metadata": {"carbon_zone": "DE"}},
        },
    )
    assert policy.risk == "cautious"
    job = run_policy(policy, now=NOW)
    assert job.risk == "cautious"
    with pytest.raises(InvalidDefinition, match="risk must be one of"):
        save_policy(policy, {"risk": "yolo"}, partial=True)
