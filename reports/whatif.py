"""The what-if page's answer: the distribution of best-window savings over the chosen history, and
the replay of the planner (forecast model vs perfect foresight vs HyperSDK's rule) over the last
30 days at most: the replayed days follow the history its forecast model learns from, so with 30
days stored it replays the last 14 (replay_start; the page says which while it waits).

Every choice the form offers (DURATIONS x WAITS x WHATIF_DAYS) is computed by the workers after
each refresh (carbon.tasks -> warm) into the "whatif" cache, which every process shares (Redis when
REDIS_URL is set, else files under the data folder: settings.CACHES), so a page view reads its
answer instead of computing it.

The replay never runs in a request: a page view whose replay is not there yet computes only the
distribution (its own range's readings) and hands the replay to the workers (queue_replay: once,
however many viewers ask); the page says so and reloads itself until the replay is there.

Keyed only by what changes the answer: the history ends at the start of the current UTC day
(whole days, so a refresh during the day does not move it), and the key holds the zone, its
provider chain, that day, the inputs and a fingerprint of the stored actual readings of the range
(count, sum of values, first start, last end: any stored, revised or deleted reading there changes
it). A refresh that stores only today's readings leaves every key as it was, and nothing is
computed again; the first refresh after midnight computes the new day's answers. The replay
depends on the duration and the wait, not on the history chosen for the distribution, so it is
keyed (and computed) once per pair. The fingerprint of a range is itself cached under the zone's
data version, so a page view that finds everything cached makes no query of the readings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.base import BaseCache
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone
from django_q.tasks import async_task

from carbon import services as carbon_services
from carbon.intensity import StepSeries
from carbon.models import CarbonReading, Zone
from carbon.services.series import SeriesInfo
from carbon.services.store import cache_allowed
from reports import charts, stats
from scheduler.backtest import HISTORY, BacktestConfig, run_backtest
from scheduler.uncertainty import DEFAULT_RISK

T = TypeVar("T")

# The form's choices: every combination is precomputed by the workers (30 x 3 per zone).
DURATIONS = (0.5, 1.0, 2.0, 4.0, 8.0)  # backup duration, hours
WAITS = (2.0, 4.0, 6.0, 8.0, 12.0, 24.0)  # how long the backup may wait, hours
WHATIF_DAYS = ((30, "last 30 days"), (90, "last 90 days"), (365, "last year"))
DEFAULT_INPUTS = (2.0, 4.0, 90)  # duration hours, wait hours, history days: the form's initial values
# The replay with a real forecast model re-forecasts every hour, so it runs over the most recent
# 30 days only, whatever the history chosen for the distribution.
BACKTEST_DAYS = 30
# How long a computed answer is kept: its key changes with the day anyway (the cache's own
# eviction, or this, removes the old day's entries).
ANSWER_SECONDS = 2 * 86400
# Part of every key: a new release whose arithmetic changes the answers does not read old ones.
FORMAT = 3
# A replay handed to the workers is not handed again for this long (seconds), however many views
# ask for it; after that a view queues it again (the task failed, or the workers were stopped).
QUEUED_SECONDS = 600
REPLAY_TASK = "reports.tasks.compute_replay"


def store() -> BaseCache:
    """The cache the answers live in, shared by the workers and the web processes."""
    return caches["whatif"]


def period_end(now: datetime) -> datetime:
    """Where the history of an answer computed at `now` ends: the start of now's UTC day."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def replay_start(first: datetime, last: datetime) -> datetime:
    """The first request time the replay plays, for stored readings from `first` to `last`: the
    last BACKTEST_DAYS, after the HISTORY its forecast model learns from."""
    start = max(last - timedelta(days=BACKTEST_DAYS), first + HISTORY)
    if start > last - timedelta(days=1):
        # A young zone: replay with the week of history the model works with (less than it wants).
        start = first + timedelta(days=7)
    return start


def replay_days(first: datetime, last: datetime, duration_hours: float, flexibility_hours: float) -> int | None:
    """How many days the replay will cover (the "days" its answer then gives), or None when too
    little is stored for one job."""
    start = replay_start(first, last)
    span = last - timedelta(hours=duration_hours + flexibility_hours) - start
    return max(1, round(span / timedelta(days=1))) if span > timedelta(0) else None


def _fingerprint_span(fp: str) -> tuple[datetime, datetime] | None:
    """(first start, last end) of the stored readings a fingerprint (_fingerprint) describes."""
    count, _total, first, last = fp.split(":")
    if count == "0":
        return None
    return datetime.fromtimestamp(float(first), UTC), datetime.fromtimestamp(float(last), UTC)


def _backtest(
    series: StepSeries | None,
    *,
    duration: timedelta,
    flexibility: timedelta,
    issue_cache: dict[float, list[float | None]] | None = None,
) -> dict[str, Any] | None:
    """Average savings of the planner on a forecast model vs perfect foresight vs HyperSDK's rule."""
    if series is None or not len(series):
        return None
    # The last BACKTEST_DAYS of request times, with the model's history before them if stored.
    series_end = series.last_end
    assert series_end is not None  # not empty
    recent = StepSeries.from_steps(
        s for s in series.steps() if s[1] > series_end - timedelta(days=BACKTEST_DAYS) - HISTORY
    )
    recent_start = recent.first_start
    assert recent_start is not None  # holds the last step at least
    start = replay_start(recent_start, series_end)
    try:
        result = run_backtest(
            recent,
            BacktestConfig(duration=duration, max_delay=flexibility, forecast="model", start=start),
            issue_cache=issue_cache,
        )
    except ValueError:  # too little history for the model (it needs a week) or for one job
        return None
    hw = result.policies["hyperweb"]
    return {
        "days": max(1, round((result.last_submit - result.first_submit) / timedelta(days=1))),
        "jobs": result.jobs,
        **{k: v.saving_pct for k, v in result.policies.items()},
        # Regret: the jobs the planner made dirtier than starting at once, what they lost in all
        # (% of run-now emissions) and the worst one (% above its own run-now emissions).
        "worse_pct": hw.worse_share_pct,
        "lost_pct": hw.lost_pct,
        "worst_pct": hw.worst_pct,
        "risk": result.config.risk,
    }


def _fingerprint(zone: Zone, start: datetime, end: datetime, version: str) -> str:
    """What the stored actual readings of [start, end) are, in one aggregate query (cached under
    the zone's data version: a page view after the workers' precompute makes no query; not inside
    a transaction, whose rows may yet roll back after the version was bumped)."""
    key = f"whatif:fp:{zone.pk}:{version}:{start.timestamp():.0f}:{end.timestamp():.0f}"
    found = cache.get(key) if cache_allowed() else None
    if found is None:
        agg = (
            CarbonReading.objects.filter(
                zone=zone, kind=CarbonReading.Kind.ACTUAL, end__gt=start, start__lt=end
            )
            .order_by()
            .aggregate(n=Count("pk"), total=Sum("value"), first=Min("start"), last=Max("end"))
        )
        first, last = agg["first"], agg["last"]
        found = "{}:{!r}:{:.0f}:{:.0f}".format(
            agg["n"], agg["total"], first.timestamp() if first else 0, last.timestamp() if last else 0
        )
        if cache_allowed():
            cache.set(key, found, timeout=max(60, settings.CARBON_REFRESH_MINUTES * 60))
    return found


def _cached(key: str, compute: Callable[[], T]) -> T:
    """compute(), kept for ANSWER_SECONDS (a None answer too: "not enough history"). Also inside
    a transaction: the key names the data the answer was computed from, so an answer from rows
    that are rolled back is never found for other data."""
    found = store().get(key)
    if found is None:
        found = {"value": compute()}
        store().set(key, found, timeout=ANSWER_SECONDS)
    return found["value"]


def _replay_range(end: datetime) -> tuple[datetime, datetime]:
    return end - timedelta(days=BACKTEST_DAYS) - HISTORY, end


def _replay_key(zone: Zone, end: datetime, fp: str, duration_hours: float, flexibility_hours: float) -> str:
    chain = ",".join(zone.provider_chain())
    return (
        f"whatif:{FORMAT}:replay:{zone.pk}:{chain}:{end.timestamp():.0f}:{fp}:"
        f"{float(duration_hours)}:{float(flexibility_hours)}:{DEFAULT_RISK}"
    )


def _distribution_key(
    zone: Zone, end: datetime, days: int, fp: str, duration_hours: float, flexibility_hours: float
) -> str:
    chain = ",".join(zone.provider_chain())
    return (
        f"whatif:{FORMAT}:distribution:{zone.pk}:{chain}:{end.timestamp():.0f}:{days}:{fp}:"
        f"{float(duration_hours)}:{float(flexibility_hours)}"
    )


def _series(zone: Zone, start: datetime, end: datetime) -> SeriesInfo:
    """The zone's stored actual series over [start, end) (what really happened)."""
    return carbon_services.intensity_series(zone, start, end, now=end, with_points=False)


def replay(
    zone: Zone, duration_hours: float, flexibility_hours: float, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """The planner's replay over the BACKTEST_DAYS before today (cached; None without enough
    history)."""
    end = period_end(now or timezone.now())
    start, _ = _replay_range(end)
    fp = _fingerprint(zone, start, end, carbon_services.data_version(zone.pk))
    return _replay(zone, end, fp, duration_hours, flexibility_hours)


def _replay(
    zone: Zone,
    end: datetime,
    fp: str,
    duration_hours: float,
    flexibility_hours: float,
    *,
    series: StepSeries | None = None,
    issue_cache: dict[float, list[float | None]] | None = None,
    reader: Callable[[Zone, datetime, datetime], SeriesInfo] = _series,
) -> dict[str, Any] | None:
    """replay() given its range's fingerprint; `series` and `issue_cache` let the workers share
    one zone's readings and forecast issues between the pairs of inputs; `reader` reads the
    series when `series` is not given."""

    def compute() -> dict[str, Any] | None:
        found = series if series is not None else reader(zone, *_replay_range(end)).series
        return _backtest(
            found,
            duration=timedelta(hours=duration_hours),
            flexibility=timedelta(hours=flexibility_hours),
            issue_cache=issue_cache,
        )

    return _cached(_replay_key(zone, end, fp, duration_hours, flexibility_hours), compute)


def answer(
    zone: Zone,
    duration_hours: float,
    flexibility_hours: float,
    days: int,
    *,
    now: datetime | None = None,
    queue_replay: bool = False,
) -> dict[str, Any]:
    """What the what-if page shows for these inputs (cached; see the module docstring).

    With `queue_replay` (the page) a replay not computed yet is handed to the workers instead of
    computed here: the answer's "replay" is then None and "replay_queued" the time it was first
    queued (None when the replay is there)."""
    end = period_end(now or timezone.now())
    version = carbon_services.data_version(zone.pk)
    fp = _fingerprint(zone, end - timedelta(days=days), end, version)
    replay_fp = _fingerprint(zone, *_replay_range(end), version)
    replay_key = _replay_key(zone, end, replay_fp, duration_hours, flexibility_hours)
    kept = store().get(replay_key)
    replay_here = kept is None and not queue_replay
    read: list[list[tuple[Any, ...]]] = []

    def reader(zone: Zone, start: datetime, stop: datetime) -> SeriesInfo:
        # One read of the stored rows for both parts when both are computed here (the union of
        # their ranges, which end together); each part's series is built from the rows its own
        # range's query would have read, so it is the same series.
        if not read:
            lo = min(start, _replay_range(end)[0]) if replay_here else start
            read.append(carbon_services.actual_rows(zone, lo, end, now=end))
        return carbon_services.series_from_rows(zone, read[0], start, stop, now=end, with_points=False)

    found = dict(_distribution(zone, end, days, fp, duration_hours, flexibility_hours, reader=reader))
    found["replay_queued"] = None
    if kept is not None:
        found["replay"] = kept["value"]
    elif replay_here:
        found["replay"] = _replay(zone, end, replay_fp, duration_hours, flexibility_hours, reader=reader)
    else:
        queued = _queue_replay(zone, replay_key, duration_hours, flexibility_hours)
        kept = store().get(replay_key)  # the workers may have been quick (or run tasks inline)
        found["replay"] = kept["value"] if kept is not None else None
        found["replay_queued"] = None if kept is not None else queued
        span = _fingerprint_span(replay_fp)
        found["replay_days"] = replay_days(*span, duration_hours, flexibility_hours) if span else None
    return found


def _queue_replay(zone: Zone, key: str, duration_hours: float, flexibility_hours: float) -> datetime:
    """Hand the replay of `key` to the workers unless it was handed in the last QUEUED_SECONDS;
    returns when it was first handed."""
    marker, now = f"{key}:queued", time.time()
    if store().add(marker, now, timeout=QUEUED_SECONDS):
        async_task(
            REPLAY_TASK,
            zone.pk,
            float(duration_hours),
            float(flexibility_hours),
            task_name=f"what-if replay {zone.code} {duration_hours:g} h / {flexibility_hours:g} h"[:100],
            group="what-if",
        )
        return datetime.fromtimestamp(now, UTC)
    queued = store().get(marker)
    return datetime.fromtimestamp(queued if isinstance(queued, float) else now, UTC)


def _distribution(
    zone: Zone,
    end: datetime,
    days: int,
    fp: str,
    duration_hours: float,
    flexibility_hours: float,
    *,
    info: SeriesInfo | None = None,
    reader: Callable[[Zone, datetime, datetime], SeriesInfo] = _series,
) -> dict[str, Any]:
    """The distribution part of answer(), given its range's fingerprint (and its series, or how
    to read it)."""

    def compute() -> dict[str, Any]:
        # Stored actual readings only (the series ends at the start of today): what happened.
        found = info if info is not None else reader(zone, end - timedelta(days=days), end)
        result = stats.whatif_distribution(
            found.series,
            duration=timedelta(hours=duration_hours),
            flexibility=timedelta(hours=flexibility_hours),
            every=timedelta(minutes=30),
        )
        first, last = found.series.first_start, found.series.last_end
        return {
            "result": result,
            "chart": charts.whatif_histogram(result.percents, median=result.median) if result.starts else "",
            "simulated": found.simulated,
            # Whole days of stored history in the range chosen (the page says so when it is short).
            "held_days": (last - first) // timedelta(days=1) if first and last else 0,
            "days": days,
        }

    found: dict[str, Any] = _cached(
        _distribution_key(zone, end, days, fp, duration_hours, flexibility_hours), compute
    )
    return found


def warm_zone(
    zone: Zone,
    *,
    now: datetime | None = None,
    pairs: list[tuple[float, float]] | None = None,
    histories: list[int] | None = None,
    deadline: float | None = None,
) -> int:
    """Every choice of the form for one zone (or the `pairs` of duration and wait and the
    `histories` given), computed unless already cached, until time.monotonic() passes `deadline`;
    returns how many answers (distributions and replays) were computed. Each range's readings
    are read once and the replays share the zone's forecast issues."""
    end = period_end(now or timezone.now())
    version = carbon_services.data_version(zone.pk)
    computed = 0
    if pairs is None:
        pairs = [(d, w) for d in DURATIONS for w in WAITS]
    pairs = sorted(pairs, key=lambda p: -(p[0] + p[1]))  # the longest first: see below
    fp = _fingerprint(zone, *_replay_range(end), version)
    missing = [p for p in pairs if store().get(_replay_key(zone, end, fp, *p)) is None]
    if missing:
        series = _series(zone, *_replay_range(end)).series
        issues: dict[float, list[float | None]] = {}  # the model's issues, shared by the pairs
        for d, w in missing:  # the longest first: the shared issues are long enough for the rest
            if deadline is not None and time.monotonic() >= deadline:
                return computed
            _replay(zone, end, fp, d, w, series=series, issue_cache=issues)
            computed += 1
    for days in histories if histories is not None else [days for days, _label in WHATIF_DAYS]:
        fp = _fingerprint(zone, end - timedelta(days=days), end, version)
        missing = [p for p in pairs if store().get(_distribution_key(zone, end, days, fp, *p)) is None]
        if not missing:
            continue
        info = _series(zone, end - timedelta(days=days), end)
        for d, w in missing:
            if deadline is not None and time.monotonic() >= deadline:
                return computed
            _distribution(zone, end, days, fp, d, w, info=info)
            computed += 1
    return computed


def warm(*, now: datetime | None = None, budget_seconds: float | None = None) -> int:
    """What the workers compute after a refresh: the form's initial inputs for every active zone,
    then every other choice, zone by zone, for at most `budget_seconds`
    (WHATIF_PRECOMPUTE_SECONDS; the next refresh goes on where this one stopped). Returns how
    many answers were computed (0 when everything was cached: the usual case during a day)."""
    budget = settings.WHATIF_PRECOMPUTE_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    zones = list(Zone.objects.filter(active=True))
    duration, wait, days = DEFAULT_INPUTS
    computed = sum(warm_zone(zone, now=now, pairs=[(duration, wait)], histories=[days]) for zone in zones)
    for zone in zones:
        if time.monotonic() >= deadline:
            break
        computed += warm_zone(zone, now=now, deadline=deadline)
    return computed
