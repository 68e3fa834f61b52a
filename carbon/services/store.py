"""Storing readings: an upsert, so a re-fetch of the same period updates rows, never duplicates.

An actual reading is identified by (zone, source, signal, start); a forecast point also by its
issue time, so every forecast issue stays to measure forecast accuracy later. One query reads
the rows already stored for the period, changed ones go back with one bulk_update, new ones with
one bulk_create (ignore_conflicts, so a concurrent writer of the same rows is not an error).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from carbon.models import CarbonReading, Zone
from carbon.providers.base import Reading

log = logging.getLogger("carbon.fetch")

_COMPARED = ("end", "value", "estimated", "renewable_percent")
_BATCH = 1000


@dataclass
class StoreResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # readings a provider sent that cannot be stored (end <= start, no value)

    def add(self, other: StoreResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped

    @property
    def stored(self) -> int:
        return self.created + self.updated + self.unchanged


def _usable(reading: Reading) -> bool:
    value = reading.value
    return (
        value is not None
        and isinstance(value, int | float)
        and math.isfinite(value)
        and value >= 0
        and reading.end > reading.start
        and (reading.kind == "actual" or reading.issued_at is not None)
    )


def _key(reading: Reading | CarbonReading) -> tuple:
    if reading.kind == CarbonReading.Kind.FORECAST:
        return (reading.kind, reading.signal, reading.start, reading.issued_at)
    return (reading.kind, reading.signal, reading.start, None)


def store_readings(zone: Zone, source: str, readings: Iterable[Reading]) -> StoreResult:
    """Insert new readings and update changed ones for one zone and source; returns the counts."""
    result = StoreResult()
    incoming: dict[tuple, Reading] = {}
    for reading in readings:
        if not _usable(reading):
            result.skipped += 1
            continue
        incoming[_key(reading)] = reading  # the last of two readings for one slot wins
    if result.skipped:
        log.warning("%s/%s: skipped %d unusable readings", source, zone.code, result.skipped)
    if not incoming:
        return result

    existing: dict[tuple, CarbonReading] = {}
    for kind in {key[0] for key in incoming}:
        keys = [key for key in incoming if key[0] == kind]
        starts = [key[2] for key in keys]
        rows = CarbonReading.objects.filter(
            zone=zone, source=source, kind=kind, start__gte=min(starts), start__lte=max(starts)
        )
        if kind == CarbonReading.Kind.FORECAST:
            rows = rows.filter(issued_at__in={key[3] for key in keys})
        for row in rows.only("id", "kind", "signal", "start", "issued_at", *_COMPARED):
            existing[_key(row)] = row

    now = timezone.now()
    to_create: list[CarbonReading] = []
    to_update: list[CarbonReading] = []
    for key, reading in incoming.items():
        row = existing.get(key)
        if row is None:
            to_create.append(
                CarbonReading(
                    zone=zone,
                    source=source,
                    start=reading.start,
                    end=reading.end,
                    value=float(reading.value),
                    signal=reading.signal,
                    kind=reading.kind,
                    issued_at=reading.issued_at,
                    estimated=bool(reading.estimated),
                    renewable_percent=reading.renewable_percent,
                    fetched_at=now,
                )
            )
            continue
        new = (reading.end, float(reading.value), bool(reading.estimated), reading.renewable_percent)
        if tuple(getattr(row, field) for field in _COMPARED) == new:
            result.unchanged += 1
            continue
        row.end, row.value, row.estimated, row.renewable_percent = new
        row.fetched_at = now
        to_update.append(row)

    with transaction.atomic():
        if to_update:
            CarbonReading.objects.bulk_update(to_update, [*_COMPARED, "fetched_at"], batch_size=_BATCH)
        if to_create:
            CarbonReading.objects.bulk_create(to_create, batch_size=_BATCH, ignore_conflicts=True)
    result.created += len(to_create)
    result.updated += len(to_update)
    return result


def readings_between(zone: Zone, start: datetime, end: datetime, kind: str) -> QuerySet[CarbonReading]:
    """Stored readings of one kind overlapping [start, end), oldest first."""
    return CarbonReading.objects.filter(zone=zone, kind=kind, end__gt=start, start__lt=end).order_by(
        "start", "source"
    )
