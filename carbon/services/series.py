"""Reading stored data back: the current intensity, the merged series and the forecast points.

A series for a zone is built from stored readings only (fetching is `fetching.py`):

- one signal per series: average and marginal intensities are never mixed; the signal is the
  one of the highest-priority source that has data in the range;
- sources in the zone's chain order, then any other stored source (e.g. an imported CSV); a
  higher-priority source wins where two overlap, a lower one only fills the gaps;
- actual readings up to now, then the newest forecast issue (issued at or before now) from the
  end of the actuals on, and not before now; with `past_forecast` (accounting a run that already
  happened) from the end of the actuals on even before now, so that a step whose measured reading
  is not stored yet is priced at the forecast for it. `SeriesInfo.forecast` is those forecast
  steps alone, so that a caller can say how much of an interval rests on the forecast.

When every provider failed, the last known data is still returned, flagged `stale`; when there
is nothing at all, NoData is raised: a number is never made up.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django.db.models import Max, OuterRef, Q, Subquery, TextField
from django.db.models.functions import Cast

from carbon.intensity import StepSeries, quality
from carbon.models import CarbonReading, ForecastIssue, Zone, source_is_simulated
from carbon.services.base import NoData, resolve_now
from carbon.services.fetching import CURRENT, FORECAST, ensure_fresh_cached

ACTUAL = CarbonReading.Kind.ACTUAL.value


@dataclass
class CurrentIntensity:
    zone: str
    value: float
    start: datetime
    end: datetime
    source: str
    signal: str
    quality: str
    simulated: bool
    stale: bool
    estimated: bool
    renewable_percent: float | None
    kind: str


@dataclass
class ForecastPoint:
    start: datetime
    end: datetime
    value: float
    quality: str
    source: str
    simulated: bool
    kind: str


@dataclass
class SeriesInfo:
    series: StepSeries
    sources: set[str]
    simulated: bool
    stale: bool
    forecast_only: bool
    signal: str = "average"
    points: list[ForecastPoint] = field(default_factory=list)
    # The forecast steps of `series` alone, (start, end, value) in epoch seconds (the rest of
    # `series` is measured readings); `forecast` is them as a series.
    forecast_steps: tuple[tuple[float, float, float], ...] = ()

    @property
    def forecast(self) -> StepSeries:
        steps = self.forecast_steps
        return StepSeries([s[0] for s in steps], [s[1] for s in steps], [s[2] for s in steps])


def _stale_after() -> timedelta:
    return timedelta(minutes=settings.CARBON_STALE_MINUTES)


@dataclass(frozen=True)
class Staleness:
    """How fresh a zone's stored data is at `now` (the one notion of "stale" that the status, the
    series and alerts share): stale once neither an actual reading ended nor a forecast was issued
    within CARBON_STALE_MINUTES."""

    zone: str
    newest: datetime | None  # the latest actual end or forecast issue (issued by now); None: no data
    stale: bool
    stale_since: datetime | None  # when it turned stale (newest + the window); None when fresh
    stale_for: timedelta  # how long it has been stale (0 when fresh)


def staleness(zone: Zone, *, now: datetime | None = None) -> Staleness:
    """The zone's data freshness at `now` from stored data only (never asks a provider)."""
    now = resolve_now(now)
    last_actual = CarbonReading.objects.filter(zone=zone, kind=ACTUAL, start__lte=now).aggregate(
        last=Max("end")
    )["last"]
    last_issue = CarbonReading.objects.filter(zone=zone, kind=FORECAST, issued_at__lte=now).aggregate(
        last=Max("issued_at")
    )["last"]
    newest = max((t for t in (min(last_actual, now) if last_actual else None, last_issue) if t), default=None)
    if newest is not None and newest >= now - _stale_after():
        return Staleness(zone.code, newest, False, None, timedelta(0))
    since = newest + _stale_after() if newest is not None else None
    return Staleness(zone.code, newest, True, since, now - since if since else timedelta.max)


def _priority(zone: Zone, sources: set[str]) -> list[str]:
    chain = [s for s in zone.provider_chain() if s in sources]
    return chain + sorted(sources - set(chain))


# A step as (start epoch, end epoch, value, source, kind), epoch seconds keep the merge cheap.
_Step = tuple[float, float, float, str, str]


def _clean(steps: list[_Step]) -> list[_Step]:
    """Sort one source's steps and trim any overlap, so a layer is a proper step series."""
    steps.sort(key=lambda s: s[0])
    out: list[_Step] = []
    for step in steps:
        start = max(step[0], out[-1][1]) if out else step[0]
        if step[1] > start:
            out.append((start, *step[1:]))
    return out


def _merge_layers(layers: list[list[_Step]]) -> list[_Step]:
    """The first layer wins; each later layer only fills what is still uncovered."""
    covered: list[tuple[float, float]] = []
    merged: list[_Step] = []
    for layer in layers:
        starts = [c[0] for c in covered]
        added: list[_Step] = []
        for s, e, value, source, kind in _clean(list(layer)):
            # Walk the covered intervals that may overlap [s, e) and keep the uncovered pieces.
            i = max(bisect_left(starts, s) - 1, 0)
            cursor = s
            while i < len(covered) and covered[i][0] < e:
                cs, ce = covered[i]
                if ce > cursor:
                    if cs > cursor:
                        added.append((cursor, min(cs, e), value, source, kind))
                    cursor = max(cursor, ce)
                i += 1
                if cursor >= e:
                    break
            if cursor < e:
                added.append((cursor, e, value, source, kind))
        merged.extend(added)
        covered = sorted([*covered, *((a[0], a[1]) for a in added)])
    merged.sort(key=lambda s: s[0])
    return merged


def _rows(zone: Zone, kind: str, start: datetime, end: datetime, **filters: object) -> list[tuple]:
    return list(
        CarbonReading.objects.filter(zone=zone, kind=kind, end__gt=start, start__lt=end, **filters)
        .order_by()
        .values_list("start", "end", "value", "source", "signal")
    )


def _choose_signal(zone: Zone, rows: list[tuple]) -> str:
    if not rows:
        return CarbonReading.Signal.AVERAGE.value
    by_source: dict[str, set[str]] = {}
    for row in rows:
        by_source.setdefault(row[3], set()).add(row[4])
    first = _priority(zone, set(by_source))[0]
    signals = by_source[first]
    return CarbonReading.Signal.AVERAGE.value if "average" in signals else sorted(signals)[0]


def intensity_series(
    zone: Zone,
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
    refresh: bool = False,
    with_points: bool = True,
    past_forecast: bool = False,
) -> SeriesInfo:
    """The zone's merged series over [start, end) (see the module docstring).

    Reads stored data only, unless `refresh` asks to bring the current reading and the forecast
    up to date first (TTL permitting). `with_points=False` leaves `points` empty (a caller that
    needs only the series: a ForecastPoint per step costs more than the merge on a long range).
    `past_forecast`: the forecast fills from the end of the actuals even before `now` (accounting
    a finished run, scheduler.services.accounting).
    """
    now = resolve_now(now)
    start, end = resolve_now(start), resolve_now(end)
    if refresh and end > now - _stale_after():
        ensure_fresh_cached(zone, (CURRENT, FORECAST), now=now)
    actual_rows = _rows(zone, ACTUAL, start, end, start__lte=now)  # the step in progress counts
    return _series(zone, start, end, now, actual_rows, with_points=with_points, past_forecast=past_forecast)


def actual_rows(zone: Zone, start: datetime, end: datetime, *, now: datetime | None = None) -> list[tuple]:
    """The stored actual rows intensity_series(zone, start, end, now=now) reads, read once so that
    series_from_rows can build the series of any range inside [start, end) from them."""
    now = resolve_now(now)
    start, end = resolve_now(start), resolve_now(end)
    if connection.vendor != "sqlite":
        return _rows(zone, ACTUAL, start, end, start__lte=now)
    # SQLite stores a datetime as naive UTC text: read it as text (neither the driver's nor
    # Django's per-value conversion) and parse it here; the same aware UTC datetimes. Each
    # distinct text is parsed once (a step's end is mostly the next step's start).
    text = (
        CarbonReading.objects.filter(zone=zone, kind=ACTUAL, end__gt=start, start__lt=end, start__lte=now)
        .order_by()
        .annotate(start_text=Cast("start", TextField()), end_text=Cast("end", TextField()))
        .values_list("start_text", "end_text", "value", "source", "signal")
    )
    parse = datetime.fromisoformat
    parsed: dict[str, datetime] = {}
    rows = []
    for s, e, v, src, sig in text:
        a = parsed.get(s)
        if a is None:
            parsed[s] = a = parse(s).replace(tzinfo=UTC)
        b = parsed.get(e)
        if b is None:
            parsed[e] = b = parse(e).replace(tzinfo=UTC)
        rows.append((a, b, v, src, sig))
    return rows


def series_from_rows(
    zone: Zone,
    rows: list[tuple],
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
    with_points: bool = True,
) -> SeriesInfo:
    """intensity_series(zone, start, end, now=now) from `rows` read by actual_rows over a range
    holding [start, end) with the same `now` and no refresh: the rows that query would have read
    are picked out here (the same rows, so the same series: a source's steps are sorted by their
    start, which is unique per source and signal)."""
    now = resolve_now(now)
    start, end = resolve_now(start), resolve_now(end)
    picked = [r for r in rows if r[1] > start and r[0] < end and r[0] <= now]
    return _series(zone, start, end, now, picked, with_points=with_points)


def _series(
    zone: Zone,
    start: datetime,
    end: datetime,
    now: datetime,
    actual_rows: list[tuple],
    *,
    extend: timedelta = timedelta(0),
    with_points: bool = True,
    past_forecast: bool = False,
) -> SeriesInfo:
    """intensity_series from the actual rows (start, end, value, source, signal) overlapping
    [start, end) with start <= now, already read; the forecast is read here.

    `extend` carries the steps on to `end + extend` (the status cache slices later windows from
    them); which forecast issue is used is still decided by [start, end) alone.
    """
    s_epoch, e_epoch = start.timestamp(), end.timestamp()
    r_epoch = (end + extend).timestamp()
    # The forecast only decides the signal when there is no actual at all: ask only then.
    if actual_rows or (end <= now and not past_forecast):
        signal = _choose_signal(zone, actual_rows)
    else:
        probe_from = start if past_forecast else max(start, now - _stale_after())
        forecast_probe = _rows(zone, FORECAST, probe_from, end, issued_at__lte=now)
        signal = _choose_signal(zone, forecast_probe)
    actual_rows = [r for r in actual_rows if r[4] == signal]

    layers: dict[str, list[_Step]] = {}
    into: list[_Step] = []
    into_source = None
    for s, e, value, source, _ in actual_rows:
        if source != into_source:  # rows mostly come a source at a time
            into, into_source = layers.setdefault(source, []), source
        a, b = s.timestamp(), e.timestamp()
        # max(a, s_epoch) and min(b, r_epoch), without the calls (the same floats).
        into.append((s_epoch if s_epoch > a else a, r_epoch if r_epoch < b else b, value, source, ACTUAL))
    actual = _merge_layers([layers[src] for src in _priority(zone, set(layers))])
    last_actual_end = actual[-1][1] if actual else None

    forecast: list[_Step] = []
    newest_issue: datetime | None = None
    # Planning: the forecast from now on. Accounting a past run (past_forecast): from the end of the
    # actuals, so the steps not measured yet are priced at the forecast rather than left out.
    boundary = max(last_actual_end or 0.0, s_epoch if past_forecast else now.timestamp(), s_epoch)
    if e_epoch > boundary:
        boundary_dt = datetime.fromtimestamp(boundary, tz=now.tzinfo)
        issues = _newest_issues(zone, signal, now, boundary_dt, end)
        f_layers = []
        for source in _priority(zone, set(issues)):
            layer = _issue_steps(zone, source, signal, issues[source], boundary_dt, end + extend)
            if not layer:
                # The recorded newest issue has no step left there (pruned, deleted): group.
                older = (
                    CarbonReading.objects.filter(
                        zone=zone,
                        kind=FORECAST,
                        source=source,
                        signal=signal,
                        issued_at__lte=now,
                        end__gt=boundary_dt,
                        start__lt=end,
                    )
                    .order_by()
                    .aggregate(newest=Max("issued_at"))["newest"]
                )
                if older is None or older == issues[source]:
                    continue
                issues[source] = older
                layer = _issue_steps(zone, source, signal, older, boundary_dt, end + extend)
            f_layers.append(
                [
                    (max(s.timestamp(), boundary), min(e.timestamp(), r_epoch), v, source, FORECAST)
                    for s, e, v in layer
                ]
            )
            newest_issue = max(newest_issue, issues[source]) if newest_issue else issues[source]
        forecast = _merge_layers(f_layers)

    steps = actual + forecast
    sources = {step[3] for step in steps}
    points = [
        ForecastPoint(
            start=datetime.fromtimestamp(s, tz=now.tzinfo),
            end=datetime.fromtimestamp(e, tz=now.tzinfo),
            value=value,
            quality=quality(value),
            source=source,
            simulated=source_is_simulated(source),
            kind=kind,
        )
        for s, e, value, source, kind in steps
        if with_points
    ]
    series = StepSeries([p[0] for p in steps], [p[1] for p in steps], [p[2] for p in steps])

    stale = False
    if end > now - _stale_after():
        fresh_actual = last_actual_end is not None and last_actual_end >= (now - _stale_after()).timestamp()
        fresh_forecast = newest_issue is not None and newest_issue >= now - _stale_after()
        stale = not (fresh_actual or fresh_forecast)
    return SeriesInfo(
        series=series,
        sources=sources,
        simulated=any(source_is_simulated(s) for s in sources),
        stale=stale and bool(steps),
        forecast_only=bool(steps) and not actual,
        signal=signal,
        points=points,
        forecast_steps=tuple((s, e, v) for s, e, v, _, _ in forecast),
    )


def _issue_steps(
    zone: Zone, source: str, signal: str, issued_at: datetime, after: datetime, before: datetime
) -> list[tuple[datetime, datetime, float]]:
    """One forecast issue's steps (start, end, value) overlapping (after, before).

    By equality up to issued_at, then start < before: the (zone, kind, source, signal,
    issued_at, start) index range holds only the steps wanted. The `after` bound is applied here:
    with it in SQL, SQLite's planner (no statistics) walked every retained issue on another index
    instead. order_by(): the default ordering would join the zone table only to sort by its code.
    """
    rows = (
        CarbonReading.objects.filter(
            zone=zone, kind=FORECAST, source=source, signal=signal, issued_at=issued_at, start__lt=before
        )
        .order_by()
        .values_list("start", "end", "value")
    )
    return [row for row in rows if row[1] > after]


def _newest_issues(
    zone: Zone, signal: str, now: datetime, boundary: datetime, end: datetime
) -> dict[str, datetime]:
    """Per source, the newest forecast issue (issued by `now`) with steps in (boundary, end).

    One indexed equality query of the ForecastIssue rows store_readings keeps: a source whose
    newest issue reaches the range needs nothing more, one none of whose issues does is passed
    over. Only when the newest does not reach it but an older one may (or was issued after
    `now`), or when nothing is recorded for the zone (rows written around store_readings), are
    the stored forecast rows grouped: that reads every step of the last 72 h of hourly issues.
    """
    candidates = CarbonReading.objects.filter(
        zone=zone, kind=FORECAST, signal=signal, issued_at__lte=now, end__gt=boundary, start__lt=end
    ).order_by()
    remembered = list(ForecastIssue.objects.filter(zone=zone, signal=signal))
    if not remembered:
        return dict(
            candidates.values("source").annotate(newest=Max("issued_at")).values_list("source", "newest")
        )
    issues: dict[str, datetime] = {}
    for issue in remembered:
        if issue.ends_at <= boundary:
            continue
        if issue.issued_at <= now and issue.last_end > boundary and issue.first_start < end:
            issues[issue.source] = issue.issued_at
            continue
        newest = candidates.filter(source=issue.source).aggregate(newest=Max("issued_at"))["newest"]
        if newest is not None:
            issues[issue.source] = newest
    return issues


def _recent_actuals(zone: Zone, now: datetime) -> list[CarbonReading]:
    """Actual readings started by `now` that ended within the stale window (or are in progress).

    Bounded by `end`: the (zone, kind, end) index range holds only the last few steps, however
    long the history. Ordered by -end so SQLite picks that index; ordering by -start made it walk
    the (zone, kind, start) index back through the whole history to avoid a sort.
    """
    return list(
        CarbonReading.objects.filter(
            zone=zone, kind=ACTUAL, end__gt=now - _stale_after(), start__lte=now
        ).order_by("-end")
    )


def _newest_actual(zone: Zone | Any, now: datetime) -> Any:
    """A queryset of the zone's newest actual begun by now (zone: a Zone or an OuterRef)."""
    return CarbonReading.objects.filter(zone=zone, kind=ACTUAL, start__lte=now).order_by("-start")


def _newest_forecast(zone: Zone | Any, now: datetime) -> Any:
    """A queryset of the newest forecast for now issued by now (zone: a Zone or an OuterRef)."""
    return CarbonReading.objects.filter(
        zone=zone, kind=FORECAST, start__lte=now, end__gt=now, issued_at__lte=now
    ).order_by("-issued_at")


_UNREAD = object()  # a fallback _current_from reads itself


def _current_from(
    zone: Zone,
    recent: list[CarbonReading],
    now: datetime,
    *,
    older: CarbonReading | None | object = _UNREAD,
    forecast: CarbonReading | None | object = _UNREAD,
) -> CurrentIntensity:
    """The current intensity from the recent actuals; the older fallbacks (the newest actual,
    flagged stale; else the forecast for now) are read only if none, unless the caller read them
    already (`older`, `forecast`: None for none)."""
    stale = False
    reading: CarbonReading | None = None
    if recent:
        # The chain's first provider wins; within a source the newest step.
        order = {src: i for i, src in enumerate(_priority(zone, {r.source for r in recent}))}
        reading = min(recent, key=lambda r: (order[r.source], -r.start.timestamp()))
    else:
        reading = _newest_actual(zone, now).first() if older is _UNREAD else cast(CarbonReading | None, older)
        stale = reading is not None
    if reading is None:
        # No actual at all: a forecast for now is still a real number, shown as a forecast.
        reading = (
            _newest_forecast(zone, now).first() if forecast is _UNREAD else cast(CarbonReading | None, forecast)
        )
        if reading is None:
            raise NoData(
                f"no carbon intensity data for {zone.code}: every provider failed and none is stored"
            )
        assert reading.issued_at is not None  # filtered on issued_at__lte
        stale = reading.issued_at < now - timedelta(hours=24)
    renewable = reading.renewable_percent
    if renewable is None:
        # The current step's provider gave no renewable share: the newest recent reading that did.
        known = [r for r in recent if r.renewable_percent is not None]
        renewable = max(known, key=lambda r: r.start).renewable_percent if known else None
    return CurrentIntensity(
        zone=zone.code,
        value=reading.value,
        start=reading.start,
        end=reading.end,
        source=reading.source,
        signal=reading.signal,
        quality=quality(reading.value),
        simulated=source_is_simulated(reading.source),
        stale=stale,
        estimated=reading.estimated,
        renewable_percent=renewable,
        kind=reading.kind,
    )


def current_intensity(zone: Zone, *, now: datetime | None = None, refresh: bool = True) -> CurrentIntensity:
    """The zone's intensity now: fetched if stale by TTL, else the last known value flagged stale."""
    now = resolve_now(now)
    if refresh:
        ensure_fresh_cached(zone, (CURRENT,), now=now)
    return _current_from(zone, _recent_actuals(zone, now), now)


def current_intensities(zones: list[Zone], *, now: datetime | None = None) -> dict[int, CurrentIntensity | None]:
    """current_intensity (stored data only) of several zones, their recent actuals read in one
    query (the overview's tiles); a zone without recent actuals falls back as current_intensity
    does, with its own queries. None for a zone without any data."""
    now = resolve_now(now)
    recent: dict[int, list[CarbonReading]] = {zone.pk: [] for zone in zones}
    # No ORDER BY (_current_from does not need one): with it, SQLite walked each zone's history on
    # the (zone, kind, start) index and sorted (240 ms on a year of readings); without, 6 ms.
    rows = CarbonReading.objects.filter(
        zone__in=[zone.pk for zone in zones], kind=ACTUAL, end__gt=now - _stale_after(), start__lte=now
    ).order_by()
    for reading in rows:
        recent[reading.zone_id].append(reading)
    older, forecast = _fallbacks([zone.pk for zone in zones if not recent[zone.pk]], now)
    found: dict[int, CurrentIntensity | None] = {}
    for zone in zones:
        try:
            found[zone.pk] = _current_from(
                zone, recent[zone.pk], now, older=older.get(zone.pk), forecast=forecast.get(zone.pk)
            )
        except NoData:
            found[zone.pk] = None
    return found


def _fallbacks(
    zone_ids: list[int], now: datetime
) -> tuple[dict[int, CarbonReading], dict[int, CarbonReading]]:
    """The fallbacks of the zones without recent actuals, read in one query whatever their number
    (none without such zones): each zone's newest actual and its newest forecast for now, each
    picked by a subquery that walks the (zone, kind, start) index from the newest end."""
    if not zone_ids:
        return {}, {}
    zones = Zone.objects.filter(pk__in=zone_ids)
    newest_actuals = zones.annotate(pick=Subquery(_newest_actual(OuterRef("pk"), now).values("pk")[:1]))
    forecasts = zones.annotate(pick=Subquery(_newest_forecast(OuterRef("pk"), now).values("pk")[:1]))
    older: dict[int, CarbonReading] = {}
    forecast: dict[int, CarbonReading] = {}
    for reading in CarbonReading.objects.filter(
        Q(pk__in=newest_actuals.values("pick")) | Q(pk__in=forecasts.values("pick"))
    ):
        (older if reading.kind == ACTUAL else forecast)[reading.zone_id] = reading
    return older, forecast


def forecast_points(zone: Zone, *, now: datetime | None = None, hours: float = 72) -> list[ForecastPoint]:
    """The steps from the one in progress to `hours` ahead: actual first, then forecast."""
    now = resolve_now(now)
    info = intensity_series(zone, now, now + timedelta(hours=hours), now=now, refresh=True)
    return info.points


def reading_range(
    kind: str, start: datetime | None, end: datetime | None, *, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The range of stored readings to list when a caller gives one side or none: the last 24 h
    of actuals or the next 24 h of forecasts; one side given, 24 h from it."""
    day = timedelta(hours=24)
    if start is None and end is None:
        now = resolve_now(now)
        return (now - day, now) if kind == ACTUAL else (now, now + day)
    if start is None:
        assert end is not None  # both None returned above
        return end - day, end
    if end is None:
        return start, start + day
    return start, end
