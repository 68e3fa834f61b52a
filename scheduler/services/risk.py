"""Forecast risk for planning: each zone's forecast error by lead time, learned from its stored
forecast issues (scheduler.uncertainty does the maths; this reads the database).

Every stored forecast keeps its issue time (carbon.models.CarbonReading.issued_at), the
built-in model's and the providers' alike, so both go through the same error tracking: for
every issue of the last BACKUP_RISK_LEARN_DAYS whose next LEAD hours have happened, its forecast
and the zone's actual series (carbon.services.intensity_series) are put on a 15-minute grid and
compared (``uncertainty.issue_errors``). Issues are sampled every SAMPLE_HOURS (enough for
quantiles, and a bounded read). The profile is cached per zone for an hour.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models.functions import ExtractHour

from carbon.intensity import StepSeries
from carbon.models import CarbonReading, Zone
from carbon.services import intensity_series
from scheduler.models import BackupJob
from scheduler.uncertainty import ErrorProfile, issue_errors, profile_from_errors

log = logging.getLogger(__name__)

STEP = timedelta(minutes=15)
LEAD = timedelta(hours=24)  # the leads learned (later ones use the last)
SAMPLE_HOURS = 3


def effective_risk(job: BackupJob) -> str:
    """A job's risk setting: its own (a policy's job got the policy's, metadata.carbon_risk),
    else BACKUP_RISK."""
    return job.risk or settings.BACKUP_RISK


def zone_error_profile(zone: Zone, *, now: datetime) -> ErrorProfile | None:
    """The zone's forecast error profile (None: no past forecast to learn from), cached an hour."""
    key = f"risk-profile:{zone.pk}:{now:%Y%m%d%H}"
    got = cache.get(key)
    if got is None:
        try:
            got = _learn(zone, now=now) or "none"
        except Exception as exc:  # a broken read must not stop planning: plan on the forecast
            log.warning("no forecast error profile for %s: %s", zone.code, exc)
            got = "none"
        cache.set(key, got, timeout=3600)
    return None if got == "none" else got


def _learn(zone: Zone, *, now: datetime) -> ErrorProfile | None:
    days = timedelta(days=settings.BACKUP_RISK_LEARN_DAYS)
    last_issue = now - LEAD
    rows = (
        CarbonReading.objects.filter(
            zone=zone,
            kind=CarbonReading.Kind.FORECAST,
            issued_at__gte=last_issue - days,
            issued_at__lte=last_issue,
        )
        # UTC hours whatever timezone a page activated for its viewer (accounts.middleware):
        # `issued_at__hour` would sample other issues for each viewer, under one cache key.
        .annotate(issued_hour=ExtractHour("issued_at", tzinfo=UTC))
        .filter(issued_hour__in=list(range(0, 24, SAMPLE_HOURS)))
        .order_by()
        .values_list("source", "signal", "issued_at", "start", "end", "value")
    )
    issues: dict[tuple[str, str, datetime], list[tuple[datetime, datetime, float]]] = defaultdict(list)
    for source, signal, issued, start, end, value in rows:
        assert issued is not None  # filtered on issued_at
        if start < issued + LEAD and end > issued:
            issues[(source, signal, issued)].append((start, end, value))
    if not issues:
        return None
    actual = intensity_series(zone, last_issue - days, now, now=now).series
    if actual is None or not len(actual):
        return None
    step = STEP.total_seconds()
    n = round(LEAD / STEP)
    cells: dict[float, float | None] = {}

    def actual_at(t: float) -> float | None:
        if t not in cells:
            a, b = datetime.fromtimestamp(t, tz=UTC), datetime.fromtimestamp(t + step, tz=UTC)
            cells[t] = actual.mean(a, b) if actual.coverage(a, b) >= 0.5 else None
        return cells[t]

    vectors = []
    for (_, _, issued), steps in issues.items():
        try:
            fc = StepSeries.from_steps(steps)
        except ValueError:
            continue  # overlapping rows: not one issue's forecast
        t0 = issued.timestamp()
        f_vals: list[float | None] = []
        for k in range(n):
            a = datetime.fromtimestamp(t0 + k * step, tz=UTC)
            b = datetime.fromtimestamp(t0 + (k + 1) * step, tz=UTC)
            f_vals.append(fc.mean(a, b) if fc.coverage(a, b) >= 0.5 else None)
        a_vals = [actual_at(t0 + k * step) for k in range(n)]
        vectors.append(issue_errors(f_vals, a_vals, step))
    profile = profile_from_errors(vectors, step)
    return profile if profile.issues else None
