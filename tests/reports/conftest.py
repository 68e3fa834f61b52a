"""A hand-computed ESG fixture: known readings, known backups, accounted by the scheduler's own code.

Q3 2026. Hourly readings from 2026-07-01 00:00 UTC:
  DE (source csv, average):  300, 100, 200, 400 (00-04)
  FR (source csv, average):  50, 50, 50 (00-03)
Backups (energy model 100 W + 50 W/TB, PUE 1):
  A  DE, 1000 GB, requested 00:00, ran 01:00-03:00 (2 h): 150 W -> 0.3 kWh; mean 150 -> 0.045 kg;
     counterfactual 00:00-02:00 mean 200 -> 0.06 kg; avoided 0.015 kg; shifted (planned 01:00).
  B  DE, 0 GB, requested 00:30, ran 00:30-01:30 (1 h): 100 W -> 0.1 kWh; mean (300+100)/2 = 200
     -> 0.02 kg; counterfactual the same -> avoided 0; policy "nightly".
  C  FR, 2000 GB, requested 00:00, ran 00:00-03:00 (3 h): 200 W -> 0.6 kWh; 50 -> 0.03 kg;
     counterfactual 0.03 kg; avoided 0; its latest start was 2026-06-30 23:00, so a deadline miss.
Totals: 3 backups, 3000 GB, 1.0 kWh, 0.095 kg, counterfactual 0.11 kg, avoided 0.015 kg.
Outside the report: D (completed 2026-10-01 00:00, the excluded end) and E (failed in the period).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

T0 = datetime(2026, 7, 1, tzinfo=UTC)
NOW = datetime(2026, 10, 15, tzinfo=UTC)


@dataclass
class Fixture:
    a: str
    b: str
    c: str
    policy_id: str


@pytest.fixture
def esg_fixture(db) -> Fixture:
    from scheduler.models import BackupJob
    from scheduler.services.accounting import account_job
    from tests.scheduler.factories import BackupJobFactory, BackupPolicyFactory, add_readings, zone

    de, fr = zone("DE"), zone("FR")
    add_readings(de, T0, [300, 100, 200, 400])
    add_readings(fr, T0, [50, 50, 50])
    add_readings(de, datetime(2026, 9, 30, 20, tzinfo=UTC), [500] * 6)
    policy = BackupPolicyFactory(name="nightly")
    h = timedelta(hours=1)
    done = BackupJob.Status.COMPLETED

    def job(**kw):
        return BackupJobFactory(status=done, expected_duration=kw["completed_at"] - kw["started_at"], **kw)

    a = job(
        name="vm-a",
        zone=de,
        data_size_gb=1000,
        requested_at=T0,
        earliest_start=T0,
        latest_start=T0 + 4 * h,
        planned_start=T0 + h,
        started_at=T0 + h,
        completed_at=T0 + 3 * h,
    )
    b = job(
        name="vm-b",
        zone=de,
        policy=policy,
        data_size_gb=0,
        requested_at=T0 + h / 2,
        earliest_start=T0 + h / 2,
        latest_start=T0 + h / 2,
        planned_start=T0 + h / 2,
        started_at=T0 + h / 2,
        completed_at=T0 + 1.5 * h,
    )
    c = job(
        name="vm-c",
        zone=fr,
        data_size_gb=2000,
        requested_at=T0,
        earliest_start=T0 - 2 * h,
        latest_start=T0 - h,
        planned_start=T0,
        started_at=T0,
        completed_at=T0 + 3 * h,
    )
    end = datetime(2026, 10, 1, tzinfo=UTC)
    d = job(
        name="vm-d",
        zone=de,
        data_size_gb=0,
        requested_at=end - 2 * h,
        earliest_start=end - 2 * h,
        latest_start=end - 2 * h,
        planned_start=end - h,
        started_at=end - h,
        completed_at=end,
    )
    BackupJobFactory(
        name="vm-e",
        zone=de,
        status=BackupJob.Status.FAILED,
        requested_at=T0,
        started_at=T0,
        completed_at=T0 + h,
        error="disk full",
    )
    for backup in (a, b, c, d):
        account_job(BackupJob.objects.select_related("zone").get(pk=backup.pk), now=NOW)
    return Fixture(a=a.pk, b=b.pk, c=c.pk, policy_id=policy.pk)


@dataclass
class MixedFixture:
    base: Fixture
    m: str


MARGINAL_ZONE = "CAISO_NORTH"


@pytest.fixture
def mixed_fixture(esg_fixture: Fixture) -> MixedFixture:
    """The hand-computed fixture plus one backup on a marginal signal (WattTime MOER):

    Hourly marginal readings in CAISO_NORTH from 2026-07-01 00:00 UTC: 700, 500, 600.
      M  CAISO_NORTH, 1000 GB, requested 00:00, ran 01:00-02:00 (1 h): 150 W -> 0.15 kWh; mean 500
         -> 0.075 kg; counterfactual 00:00-01:00 at 700 -> 0.105 kg; avoided 0.03 kg.
    A's accounting loses its `signal` key, as accountings made before the key existed have none:
    it still counts as average, so the average totals stay those of the base fixture.
    """
    from carbon.models import CarbonReading
    from scheduler.models import BackupJob
    from scheduler.services.accounting import account_job
    from tests.scheduler.factories import BackupJobFactory, zone

    caiso = zone(MARGINAL_ZONE)
    h = timedelta(hours=1)
    CarbonReading.objects.bulk_create(
        CarbonReading(
            zone=caiso,
            start=T0 + i * h,
            end=T0 + (i + 1) * h,
            value=value,
            kind="actual",
            source="watttime",
            signal="marginal",
        )
        for i, value in enumerate([700.0, 500.0, 600.0])
    )
    m = BackupJobFactory(
        name="vm-m",
        zone=caiso,
        status=BackupJob.Status.COMPLETED,
        data_size_gb=1000,
        requested_at=T0,
        earliest_start=T0,
        latest_start=T0 + 4 * h,
        planned_start=T0 + h,
        started_at=T0 + h,
        completed_at=T0 + 2 * h,
        expected_duration=h,
    )
    account_job(BackupJob.objects.select_related("zone").get(pk=m.pk), now=NOW)
    a = BackupJob.objects.get(pk=esg_fixture.a)
    assert a.accounting.pop("signal") == "average"
    a.save(update_fields=["accounting"])
    return MixedFixture(base=esg_fixture, m=m.pk)
