"""Factories and small helpers for scheduler tests."""

from __future__ import annotations

from datetime import datetime, timedelta

import factory
from django.utils import timezone

from carbon.models import CarbonReading, Zone
from scheduler.models import BackupJob, BackupPolicy


class BackupJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BackupJob

    name = factory.Sequence(lambda n: f"vm-{n}")
    vm_path = factory.LazyAttribute(lambda o: f"{o.name}.img")
    definition = factory.LazyAttribute(lambda o: {"vm_path": o.vm_path, "name": o.name, "metadata": {}})
    requested_at = factory.LazyFunction(timezone.now)
    earliest_start = factory.LazyAttribute(lambda o: o.requested_at)
    latest_start = factory.LazyAttribute(lambda o: o.earliest_start)
    planned_start = factory.LazyAttribute(lambda o: o.earliest_start)
    expected_duration = timedelta(hours=1)
    status = BackupJob.Status.PENDING


class BackupPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BackupPolicy

    name = factory.Sequence(lambda n: f"nightly-{n}")
    schedule = "0 22 * * *"
    job_template = factory.LazyFunction(lambda: {"vm_path": "vm.img", "metadata": {}})


def zone(code: str = "DE") -> Zone:
    return Zone.objects.get(code=code)


def add_readings(
    zone: Zone,
    start: datetime,
    values: list[float],
    *,
    step: timedelta = timedelta(hours=1),
    kind: str = "actual",
    source: str = "csv",
    issued_at: datetime | None = None,
) -> None:
    """Consecutive readings [start + i*step, start + (i+1)*step) with the given values."""
    CarbonReading.objects.bulk_create(
        CarbonReading(
            zone=zone,
            start=start + i * step,
            end=start + (i + 1) * step,
            value=value,
            kind=kind,
            source=source,
            issued_at=issued_at if kind == "forecast" else None,
        )
        for i, value in enumerate(values)
    )
