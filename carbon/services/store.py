"""Storing readings: an upsert, so a re-fetch of the same period updates rows, never duplicates.

An actual reading is identified by (zone, source, signal, start); a forecast point also by its
issue time, so every forecast issue stays to measure forecast accuracy later. One query reads
the rows already stored for the period, changed ones go back with one bulk_update, new ones with
one bulk_create (ignore_conflicts, so a concurrent writer of the same rows is not an error).

Every write for a zone changes its data version (`data_version`), under which the readers cache
their answers (the status, the freshness decision), and every forecast stored updates the zone's
ForecastIssue row for its source and signal, where the series finds the newest issue.

Revisions: providers re-send recent periods (the trailing re-fetch window, CARBON_REFETCH_HOURS),
so a measured value replaces the estimate stored earlier for the same period, and a later
revision replaces it again; such a row gets `revised_at`, and `carbon.signals.readings_revised`
is sent (after commit) with the span of actual readings whose value or measured/estimated state
changed, so finished backups over that span are accounted again; newly stored actual readings
are sent the same way (a backup that finished before its step's reading existed is accounted when
it arrives). An estimate never replaces a measured value already stored for the same period (the
provider's `latest` is often estimated while its history already holds the measurement).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.db.models.signals import post_save
from django.utils import timezone

from carbon.models import CarbonReading, FetchAttempt, ForecastIssue, Zone
from carbon.providers.base import Reading
from carbon.signals import readings_revised

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


def _version_key(zone_id: int) -> str:
    return f"carbon:data-version:{zone_id}"


def data_version(zone_id: int) -> str:
    """A token that changes whenever the zone's readings or fetch record change.

    Answers computed from the zone's data (the status cache in `series`, the freshness decision
    in `fetching`) are cached under it, so a write makes them unreachable at once. With RedisCache
    every process sees a bump; with the per-process LocMemCache only the writing process does,
    which is why those answers also have a short maximum age (CARBON_STATUS_CACHE_SECONDS).
    """
    key = _version_key(zone_id)
    token = cache.get(key)
    if token is None:
        token = uuid.uuid4().hex
        # add(): of two processes minting a first token at once, both end up using the same one.
        if not cache.add(key, token, timeout=None):
            token = cache.get(key) or token
    return token


def cache_allowed() -> bool:
    """Whether answers may be cached or served from the cache here: not inside a transaction,
    whose reads may include rows that are yet to be committed or rolled back (and whose
    rollback, as at the end of every database test, no version bump can follow)."""
    return not connection.in_atomic_block


def bump_data_version(zone_id: int) -> None:
    """Make every cached answer about the zone unreachable (a new token, not incr: the key may
    have been evicted, and a fresh random token can never equal one already used)."""
    cache.set(_version_key(zone_id), uuid.uuid4().hex, timeout=None)


def _bump_on_save(sender: type, instance: CarbonReading | FetchAttempt | Zone, **kwargs: object) -> None:
    # Writers other than store_readings and the fetch record: the admin, factories in tests.
    # (No post_delete receiver: one would make Django fetch every row the daily prune deletes.)
    bump_data_version(instance.pk if isinstance(instance, Zone) else instance.zone_id)
    if isinstance(instance, CarbonReading) and instance.kind == CarbonReading.Kind.FORECAST:
        assert instance.issued_at is not None  # constraint forecast_has_issue_time
        remember_issue(
            instance.zone_id,
            instance.source,
            instance.signal,
            instance.issued_at,
            instance.start,
            instance.end,
        )


def remember_issue(
    zone_id: int,
    source: str,
    signal: str,
    issued_at: datetime,
    first_start: datetime,
    last_end: datetime,
    ends_at: datetime | None = None,
) -> None:
    """Record steps [first_start, last_end) of forecast issue `issued_at` in the zone's
    ForecastIssue row for (source, signal): the newest issue's span, and the latest end of any
    issue (`ends_at`, when older issues stored with this one reach further than `last_end`)."""
    ends_at = max(ends_at or last_end, last_end)
    with transaction.atomic():
        row = (
            ForecastIssue.objects.select_for_update()
            .filter(zone_id=zone_id, source=source, signal=signal)
            .first()
        )
        if row is None:
            # get_or_create: a concurrent first writer wins the insert; then merge as below.
            row, created = ForecastIssue.objects.get_or_create(
                zone_id=zone_id,
                source=source,
                signal=signal,
                defaults={
                    "issued_at": issued_at,
                    "first_start": first_start,
                    "last_end": last_end,
                    "ends_at": ends_at,
                },
            )
            if created:
                return
        before = (row.issued_at, row.first_start, row.last_end, row.ends_at)
        if issued_at > row.issued_at:
            row.issued_at, row.first_start, row.last_end = issued_at, first_start, last_end
        elif issued_at == row.issued_at:
            row.first_start, row.last_end = min(row.first_start, first_start), max(row.last_end, last_end)
        row.ends_at = max(row.ends_at, ends_at)
        if (row.issued_at, row.first_start, row.last_end, row.ends_at) != before:
            row.save(update_fields=["issued_at", "first_start", "last_end", "ends_at"])


for _model in (CarbonReading, FetchAttempt, Zone):
    post_save.connect(_bump_on_save, sender=_model, dispatch_uid=f"carbon-data-version-{_model.__name__}")


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

    existing: dict[tuple, tuple] = {}
    for kind in {key[0] for key in incoming}:
        keys = [key for key in incoming if key[0] == kind]
        starts = [key[2] for key in keys]
        rows = CarbonReading.objects.filter(
            zone=zone, source=source, kind=kind, start__gte=min(starts), start__lte=max(starts)
        )
        if kind == CarbonReading.Kind.FORECAST:
            rows = rows.filter(issued_at__in={key[3] for key in keys})
        # Plain tuples, not model instances: a re-import compares tens of thousands of rows.
        for row_id, signal, start, issued_at, revised_at, *compared in rows.order_by().values_list(
            "id", "signal", "start", "issued_at", "revised_at", *_COMPARED
        ):
            existing[(kind, signal, start, issued_at if kind == "forecast" else None)] = (
                row_id,
                tuple(compared),
                revised_at,
            )

    now = timezone.now()
    to_create: list[tuple] = []
    to_update: list[CarbonReading] = []
    revised: tuple[datetime, datetime] | None = None  # span of actuals whose value changed
    added: tuple[datetime, datetime] | None = None  # span of actuals stored for the first time
    for key, reading in incoming.items():
        new = (reading.end, float(reading.value), bool(reading.estimated), reading.renewable_percent)
        found = existing.get(key)
        if found is None:
            to_create.append((reading, new))
            if key[0] == "actual":
                added = _widen(added, reading.start, reading.end)
            continue
        old = found[1]
        if old == new or (key[0] == "actual" and new[2] and not old[2]):
            # Unchanged, or an estimate for a period whose measurement is stored: keep that.
            result.unchanged += 1
            continue
        end, value, estimated, renewable = new
        revised_at = found[2]
        if key[0] == "actual" and (old[1] != value or old[2] != estimated):
            revised_at = now
            revised = _widen(revised, reading.start, end)
        to_update.append(
            CarbonReading(
                id=found[0],
                end=end,
                value=value,
                estimated=estimated,
                renewable_percent=renewable,
                fetched_at=now,
                revised_at=revised_at,
            )
        )

    with transaction.atomic():
        if to_update:
            CarbonReading.objects.bulk_update(
                to_update, [*_COMPARED, "fetched_at", "revised_at"], batch_size=_BATCH
            )
        if to_create:
            _insert(zone, source, now, to_create)
        _remember_issues(zone, source, incoming.values())
    if to_update or to_create:
        # Now, so this process's next answer sees the rows; again at commit, in case another
        # process cached an answer from the old rows under the new token in between.
        bump_data_version(zone.pk)
        transaction.on_commit(lambda: bump_data_version(zone.pk))
    if revised is not None:
        log.info("%s/%s: readings revised between %s and %s", source, zone.code, *revised)
    # A backup that finished before its period's reading was stored (the step in progress has
    # none yet) is accounted once that reading arrives, as a revised one is.
    changed = revised if added is None else _widen(revised, *added)
    if changed is not None:
        start, end = changed
        transaction.on_commit(
            lambda: readings_revised.send(
                sender=CarbonReading, zone=zone, source=source, start=start, end=end
            )
        )
    result.created += len(to_create)
    result.updated += len(to_update)
    return result


def _widen(
    span: tuple[datetime, datetime] | None, start: datetime, end: datetime
) -> tuple[datetime, datetime]:
    return (start, end) if span is None else (min(span[0], start), max(span[1], end))


def _remember_issues(zone: Zone, source: str, readings: Iterable[Reading]) -> None:
    """Each signal's newest issue among the forecast readings given (stored or unchanged)."""
    spans: dict[tuple[str, datetime], list[datetime]] = {}  # (signal, issued_at) -> [start, end]
    for r in readings:
        if r.kind == CarbonReading.Kind.FORECAST:
            assert r.issued_at is not None  # stored forecasts have one (constraint forecast_has_issue_time)
            span = spans.setdefault((r.signal, r.issued_at), [r.start, r.end])
            span[0], span[1] = min(span[0], r.start), max(span[1], r.end)
    newest: dict[str, datetime] = {}
    ends: dict[str, datetime] = {}
    for (signal, issued), (_, end) in spans.items():
        newest[signal] = max(newest.get(signal, issued), issued)
        ends[signal] = max(ends.get(signal, end), end)
    for signal, issued in newest.items():
        first_start, last_end = spans[(signal, issued)]
        remember_issue(zone.pk, source, signal, issued, first_start, last_end, ends[signal])


_COLUMNS = (
    "zone_id",
    "source",
    "start",
    "end",
    "value",
    "signal",
    "kind",
    "issued_at",
    "estimated",
    "renewable_percent",
    "fetched_at",
)


def _column(name: str) -> str:
    """The database column of CarbonReading's concrete field ``name``."""
    field = CarbonReading._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column is not None  # a concrete field
    return field.column


def _insert(zone: Zone, source: str, now: datetime, items: list[tuple[Reading, tuple]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING with executemany.

    bulk_create(ignore_conflicts=True) issues the same statement, but compiling it field by field
    costs about 150 us per row; a year of 15-minute data would take seconds just to build SQL.
    SQLite (3.24+) and PostgreSQL both accept a bare ON CONFLICT DO NOTHING, which covers the
    partial unique indexes on actual readings and forecast points.
    """
    if connection.vendor not in ("sqlite", "postgresql"):
        CarbonReading.objects.bulk_create(
            [
                CarbonReading(
                    zone=zone,
                    source=source,
                    start=reading.start,
                    end=end,
                    value=value,
                    signal=reading.signal,
                    kind=reading.kind,
                    issued_at=reading.issued_at,
                    estimated=estimated,
                    renewable_percent=renewable,
                    fetched_at=now,
                )
                for reading, (end, value, estimated, renewable) in items
            ],
            batch_size=_BATCH,
            ignore_conflicts=True,
        )
        return
    ops = connection.ops
    when = ops.adapt_datetimefield_value
    fetched = when(now)
    columns = ", ".join(ops.quote_name(_column(c)) for c in _COLUMNS)
    sql = (
        f"INSERT INTO {ops.quote_name(CarbonReading._meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) ON CONFLICT DO NOTHING"
    )
    params = [
        (
            zone.pk,
            source,
            when(reading.start),
            when(end),
            value,
            reading.signal,
            reading.kind,
            when(reading.issued_at) if reading.issued_at is not None else None,
            estimated,
            renewable,
            fetched,
        )
        for reading, (end, value, estimated, renewable) in items
    ]
    with connection.cursor() as cursor:
        for offset in range(0, len(params), _BATCH * 5):
            cursor.executemany(sql, params[offset : offset + _BATCH * 5])


def readings_between(zone: Zone, start: datetime, end: datetime, kind: str) -> QuerySet[CarbonReading]:
    """Stored readings of one kind overlapping [start, end), oldest first."""
    return CarbonReading.objects.filter(zone=zone, kind=kind, end__gt=start, start__lt=end).order_by(
        "start", "source"
    )
