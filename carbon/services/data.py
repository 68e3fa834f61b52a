"""Bulk data: CSV import and the simulated demo data."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from carbon.models import FetchAttempt, Zone
from carbon.providers import get_provider
from carbon.providers.base import Reading
from carbon.providers.csvfile import open_text, parse_csv
from carbon.services.base import get_zone, resolve_now
from carbon.services.fetching import ALL_WHATS
from carbon.services.store import StoreResult, store_readings

log = logging.getLogger("carbon.fetch")

FORMATS = ("auto", "lets-wait-awhile", "general")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0
    zones: list[str] = field(default_factory=list)


def _sniff_format(path: str | os.PathLike[str]) -> str:
    # Only tells the two headers apart for --format; parsing (and its errors) is csvfile's job.

    with open_text(path) as handle:
        for line in handle:
            if line.strip():
                cells = [c.strip().lower() for c in line.strip().split(",")]
                return "lets-wait-awhile" if cells == ["time", "carbon intensity"] else "general"
    return "general"


def import_readings(
    path: str | os.PathLike[str],
    zone_code: str | None,
    *,
    source: str = "csv",
    fmt: str = "auto",
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Store every row of a CSV file once; importing the same file again changes nothing.

    Rows go in batches (CARBON_IMPORT_BATCH, one transaction each) so a year of 15-minute data
    never sits in memory as model objects. `zone_code` is the zone for rows that name none.
    Raises UnknownZone, ValueError (a bad row, with its line number) or OSError.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")
    if fmt != "auto" and _sniff_format(path) != fmt:
        raise ValueError(f"{os.fspath(path)} is not in the {fmt!r} format")
    default_zone = get_zone(zone_code) if zone_code else None
    size = batch_size or settings.CARBON_IMPORT_BATCH
    zones: dict[str, Zone] = {default_zone.code.upper(): default_zone} if default_zone else {}
    result = ImportResult()
    totals = StoreResult()
    batch: list[tuple[str | None, Reading]] = []

    def flush() -> None:
        groups: dict[str, list[Reading]] = {}
        for code, reading in batch:
            code = code or (default_zone.code if default_zone else None)
            if code is None:
                raise ValueError("the file names no zone: give one (--zone)")
            groups.setdefault(code, []).append(reading)
        with transaction.atomic():
            for code, readings in groups.items():
                zone = zones.get(code.upper())
                if zone is None:
                    zone = zones[code.upper()] = get_zone(code)
                totals.add(store_readings(zone, source, readings))
        result.rows += len(batch)
        batch.clear()
        if progress:
            progress(result.rows)

    for item in parse_csv(path, zone=default_zone.code if default_zone else None):
        batch.append(item)
        if len(batch) >= size:
            flush()
    if batch:
        flush()
    result.created, result.updated, result.unchanged = totals.created, totals.updated, totals.unchanged
    result.zones = sorted(z.code for z in zones.values())
    log.info(
        "imported %s: %d rows (%d new, %d updated, %d unchanged)",
        os.fspath(path),
        result.rows,
        result.created,
        result.updated,
        result.unchanged,
    )
    return result


def load_demo_data(*, days: int | None = None, now: datetime | None = None) -> int:
    """History for the last `days` days and the forecast for every active zone, simulated.

    Idempotent (an upsert of deterministic values) and bulk, so `make run` can call it every
    start. Records the fetches, so the first refresh after it finds the data fresh. Returns the
    number of readings created.
    """
    now = resolve_now(now)
    days = settings.CARBON_DEMO_DAYS if days is None else days
    provider = get_provider("simulated")
    created = 0
    for zone in Zone.objects.filter(active=True):
        ref = zone.ref("simulated")
        history = provider.history(ref, now - timedelta(days=days), now, now=now)
        forecast = provider.forecast(ref, settings.CARBON_FORECAST_HOURS, now=now)
        with transaction.atomic():
            stored = store_readings(zone, "simulated", [*history, *forecast])
            FetchAttempt.objects.bulk_create(
                FetchAttempt(zone=zone, provider="simulated", what=what, at=now, ok=True, readings=count)
                for what, count in zip(ALL_WHATS, (len(history), 1, len(forecast)), strict=True)
            )
        created += stored.created
    log.info("demo data: %d simulated readings created for the last %d days", created, days)
    return created


