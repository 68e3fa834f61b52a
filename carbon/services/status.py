"""The carbon status of a zone (POST /carbon/status): now against a threshold, the next 4 hours.

Built from the stored series (carbon.services.series) and cached per zone for at most
CARBON_STATUS_CACHE_SECONDS, never past the step in progress; the cache key carries the zone's
data version, so stored readings invalidate it at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache

from carbon.models import Zone
from carbon.services.base import resolve_now
from carbon.services.fetching import CURRENT, FORECAST, ensure_fresh_cached
from carbon.services.series import (
    CurrentIntensity,
    ForecastPoint,
    _current_from,
    _recent_actuals,
    _series,
    _stale_after,
)
from carbon.services.store import cache_allowed, data_version

STATUS_WINDOW = timedelta(hours=4)  # /carbon/status's forecast_next_4h (docs/API.md)


@dataclass
class CarbonStatus:
    """Everything POST /carbon/status answers: now against a threshold, and the next 4 hours."""

    current: CurrentIntensity
    threshold: float
    optimal: bool
    next_optimal: ForecastPoint | None  # None when optimal now, or no upcoming step qualifies
    reasoning: str
    forecast: list[ForecastPoint]
    now: datetime


def next_step_at_or_below(
    points: list[ForecastPoint], threshold: float, now: datetime
) -> ForecastPoint | None:
    """The first step starting after `now` whose intensity is at or below `threshold`."""
    return next((p for p in points if p.start > now and p.value <= threshold), None)


def _status_reasoning(
    current: CurrentIntensity, threshold: float, optimal: bool, upcoming: ForecastPoint | None
) -> str:
    label = " (simulated data)" if current.simulated else ""
    stale = " Data is stale: the providers could not be reached." if current.stale else ""
    verdict = "at or below" if optimal else "above"
    text = (
        f"Grid intensity in {current.zone} is {current.value:.0f} gCO2/kWh ({current.quality}){label}, "
        f"{verdict} the threshold of {threshold:.0f}."
    )
    if not optimal:
        text += (
            f" Next step at or below it starts {upcoming.start:%H:%M} UTC."
            if upcoming
            else f" No step in the next {STATUS_WINDOW.total_seconds() / 3600:g} h is at or below it."
        )
    return text + stale


@dataclass
class _StatusBasis:
    """What a status needs apart from the threshold, computed at `at` and valid for any `now` in
    [at, until): the current reading, and the steps from `at` to STATUS_WINDOW plus the cache's
    maximum age ahead, from which each request slices its own [now, now + 4 h)."""

    current: CurrentIntensity
    points: list[ForecastPoint]
    at: datetime
    until: datetime


def _slice(points: list[ForecastPoint], start: datetime, end: datetime) -> list[ForecastPoint]:
    """The steps overlapping [start, end), the first and last clipped to it (as _series clips)."""
    out = []
    for point in points:
        if point.end <= start or point.start >= end:
            continue
        if point.start < start or point.end > end:
            point = replace(point, start=max(point.start, start), end=min(point.end, end))
        out.append(point)
    return out


def _status_basis(zone: Zone, now: datetime, max_age: timedelta) -> _StatusBasis:
    fresh_until = ensure_fresh_cached(zone, (CURRENT, FORECAST), now=now)
    recent = _recent_actuals(zone, now)
    # What intensity_series would read for [now, end): actual steps in progress at `now`.
    in_progress = [(r.start, r.end, r.value, r.source, r.signal) for r in recent if r.end > now]
    points = _series(zone, now, now + STATUS_WINDOW, now, in_progress, extend=max_age).points
    current = _current_from(zone, recent, now)
    # The answer holds until the data could say otherwise: a step in progress ends, a recent step
    # leaves the stale window (the current reading or its stale flag changes), the freshness
    # decision lapses, a forecast-only current step ends or turns stale; at most max_age.
    until = min(fresh_until, now + max_age)
    for r in recent:
        until = min(until, r.end if r.end > now else r.end + _stale_after())
    if current.kind == FORECAST:
        until = min(until, current.end)
    return _StatusBasis(current=current, points=points, at=now, until=until)


def _status_key(zone: Zone) -> str:
    # The chain and the stale window change the answer from the same rows; settings are per test.
    chain = ",".join(zone.provider_chain())
    return f"carbon:status:{zone.pk}:{chain}:{settings.CARBON_STALE_MINUTES}:{data_version(zone.pk)}"


def carbon_status(zone: Zone, threshold: float | None = None, *, now: datetime | None = None) -> CarbonStatus:
    """The zone's intensity now against `threshold` (None or 0: CARBON_DEFAULT_THRESHOLD), the
    steps of the next 4 hours and the first of them at or below the threshold.

    Freshness is checked once (current and forecast, TTL permitting), and one bounded query of
    the recent actuals serves both the current reading and the actual part of the series, so the
    cost does not grow with the zone's stored history. Raises NoData when nothing is known.

    The current reading and the steps ahead are cached per zone (Django's cache, under the zone's
    data version, which every stored reading changes) for at most CARBON_STATUS_CACHE_SECONDS
    and never past the end of the step in progress; each call still answers as of its own `now`:
    its 4 hours are sliced from the cached steps, the threshold is applied per call. 0: no cache;
    nor inside a transaction (store.cache_allowed).
    """
    now = resolve_now(now)
    threshold = threshold or settings.CARBON_DEFAULT_THRESHOLD
    max_age = timedelta(seconds=max(settings.CARBON_STATUS_CACHE_SECONDS, 0) if cache_allowed() else 0)
    basis = None
    if max_age:
        key = _status_key(zone)
        basis = cache.get(key)
        if basis is not None and not basis.at <= now < basis.until:
            basis = None
    if basis is None:
        basis = _status_basis(zone, now, max_age)
        if max_age and basis.until > now:
            # The key again: a fetch in _status_basis stored readings and changed the version.
            cache.set(_status_key(zone), basis, timeout=max_age.total_seconds())
    points = _slice(basis.points, now, now + STATUS_WINDOW)
    current = basis.current
    optimal = current.value <= threshold
    upcoming = None if optimal else next_step_at_or_below(points, threshold, now)
    return CarbonStatus(
        current=current,
        threshold=threshold,
        optimal=optimal,
        next_optimal=upcoming,
        reasoning=_status_reasoning(current, threshold, optimal, upcoming),
        forecast=points,
        now=now,
    )
