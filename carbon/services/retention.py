"""Forecast retention: thin out old forecast issues so the readings table stops growing by ~84k a day.

Every forecast issue is stored (unique per zone/source/signal/start/issued_at) so that forecast
accuracy can be measured against the actuals later. The simulated provider alone issues 72 h at
15-minute steps every hour for 12 zones, about 30 million rows a year. The rule, and the whole rule:

    a forecast row whose issue (`issued_at`) is more than `keep_days` old is deleted, unless that
    issue is the first one of its UTC day for its (zone, source, signal).

So the last `keep_days` keep every issue (the live forecast and short-term accuracy), and older
days keep one full issue each (day-ahead accuracy at daily granularity, ~1/24 of the rows).
Actual readings are never touched. Running it again deletes nothing more (idempotent): the first
issue of a day stays the first issue of that day.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from django.conf import settings

from carbon.models import CarbonReading, Zone
from carbon.services.base import resolve_now

log = logging.getLogger("carbon.retention")

FORECAST = CarbonReading.Kind.FORECAST.value
# Issue times per DELETE: well under SQLite's 999 parameters, and with 72 h of 15-minute points
# about 58k rows per statement, so no single statement holds SQLite's write lock for long.
_ISSUES_PER_DELETE = 200


def _doomed_issues(zone: Zone, cutoff: datetime) -> dict[tuple[str, str], list[datetime]]:
    """The issue times to delete for one zone, per (source, signal)."""
    # Only the distinct issue times come back (a few hundred), never the rows. order_by() drops
    # the model's default ordering, which DISTINCT would otherwise include.
    issues = (
        CarbonReading.objects.filter(zone=zone, kind=FORECAST, issued_at__lt=cutoff)
        .order_by()
        .values_list("source", "signal", "issued_at")
        .distinct()
    )
    per_day: dict[tuple[str, str, date], list[datetime]] = defaultdict(list)
    for source, signal, issued_at in issues:
        assert issued_at is not None  # a forecast has an issue time (constraint forecast_has_issue_time)
        per_day[(source, signal, issued_at.astimezone(UTC).date())].append(issued_at)
    doomed: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for (source, signal, _day), times in per_day.items():
        # The earliest issue of the day is every day's survivor; it is older than the cutoff
        # whenever any other issue of that day is, so a later run picks the same one.
        doomed[(source, signal)].extend(sorted(times)[1:])
    return {key: sorted(times) for key, times in doomed.items() if times}


def prune_forecasts(*, now: datetime | None = None, keep_days: int | None = None) -> int:
    """Delete forecast rows issued more than `keep_days` ago, except each UTC day's first issue.

    `keep_days` defaults to CARBON_FORECAST_RETENTION_DAYS (at least 1, so the live forecast is
    never touched). Works zone by zone, one DELETE per up to 200 issue times; each statement is
    its own transaction. Returns the number of rows deleted.
    """
    now = resolve_now(now)
    keep_days = settings.CARBON_FORECAST_RETENTION_DAYS if keep_days is None else keep_days
    if isinstance(keep_days, bool) or not isinstance(keep_days, int) or keep_days < 1:
        raise ValueError(f"keep_days must be a whole number of days, at least 1, not {keep_days!r}")
    cutoff = now - timedelta(days=keep_days)
    started = time.perf_counter()
    total = 0
    for zone in Zone.objects.order_by("code"):
        deleted = issues = 0
        for (source, signal), times in _doomed_issues(zone, cutoff).items():
            for i in range(0, len(times), _ISSUES_PER_DELETE):
                chunk = times[i : i + _ISSUES_PER_DELETE]
                # No signals or cascades hang off CarbonReading, so Django deletes with one
                # DELETE ... WHERE statement instead of loading the rows first.
                count, _ = CarbonReading.objects.filter(
                    zone=zone, kind=FORECAST, source=source, signal=signal, issued_at__in=chunk
                ).delete()
                deleted += count
                issues += len(chunk)
        if deleted:
            log.info(
                "pruned %d forecast rows of %s (%d issues before %s)",
                deleted,
                zone.code,
                issues,
                cutoff.isoformat(),
            )
        total += deleted
    log.info(
        "forecast retention: %d rows deleted (issues older than %d days, first issue of each UTC day "
        "kept) in %.1f s",
        total,
        keep_days,
        time.perf_counter() - started,
    )
    return total
