"""Carbon accounting of one finished backup run (pure: no Django models, no settings).

Steps, for a run that really happened from `started_at` to `completed_at`:
1. energy = the energy model (carbon.intensity.energy_kwh) over the measured data and duration;
2. experienced intensity = the time-weighted mean of the stored intensity over [start, end]
   (partial overlaps of readings weighted by overlap, gaps ignored; `coverage` says how much of
   the run the readings covered);
3. emissions = energy x experienced intensity;
4. counterfactual = the same run (same energy, same duration) had it started at the job's
   earliest allowed start, max(requested_at, earliest_start): energy x mean intensity over
   [that start, that start + duration]. For an ordinary job that is when it was requested; for a
   job the caller told not to start before some time (`not_before`, a policy's window), it is that
   time, because the wait the caller imposed would have happened without hyperweb and crediting
   it as a saving would be dishonest;
5. saving = counterfactual - emissions (negative when waiting made it worse), never against a
   fixed "worst case".
Numbers that rest on simulated or stale readings are flagged as such. Measured readings are used
where stored, the forecast stored for the same time otherwise (`forecast`: the forecast steps of
`series`): `forecast_coverage` is the share of the run priced at the forecast; the run is
`forecast_only` when every covered part of it is forecast, `partial_forecast` when some is; the
counterfactual's share is `counterfactual_forecast_coverage`. `coverage` counts measured and
forecast steps alike. A run with neither a reading nor a forecast over it gets no intensity and no
emissions rather than a guess (`no_readings`); it is accounted again when readings arrive.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from carbon.intensity import EnergyModel, emissions_kg


class SeriesLike(Protocol):
    def mean(self, start: datetime, end: datetime) -> float | None: ...

    def coverage(self, start: datetime, end: datetime) -> float: ...


DEFAULT_MODEL = EnergyModel()


@dataclass(frozen=True)
class RunAccounting:
    duration_hours: float
    data_gb: float
    energy_kwh: float
    intensity_experienced: float | None
    coverage: float
    emissions_kg: float | None
    counterfactual_start: datetime
    counterfactual_intensity: float | None
    counterfactual_coverage: float
    counterfactual_kg: float | None
    saving_kg: float | None
    saving_pct: float | None
    simulated: bool
    stale: bool
    forecast_only: bool
    flags: list[str] = field(default_factory=list)
    forecast_coverage: float = 0.0
    counterfactual_forecast_coverage: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["counterfactual_start"] = self.counterfactual_start.isoformat()
        return data


def counterfactual_start(requested_at: datetime, earliest_start: datetime | None) -> datetime:
    """When the counterfactual run starts: the job's earliest allowed start (see step 4 above)."""
    return requested_at if earliest_start is None else max(requested_at, earliest_start)


def account_run(
    series: SeriesLike,
    *,
    requested_at: datetime,
    earliest_start: datetime | None = None,
    started_at: datetime,
    completed_at: datetime,
    data_gb: float,
    model: EnergyModel = DEFAULT_MODEL,
    simulated: bool = False,
    stale: bool = False,
    forecast: SeriesLike | None = None,
) -> RunAccounting:
    """Account one run; see the module docstring for the steps and what each number means."""
    if completed_at < started_at:
        raise ValueError("a run cannot end before it starts")
    duration = completed_at - started_at
    hours = duration.total_seconds() / 3600.0
    kwh = model.kwh(data_gb, hours)

    experienced, coverage = _mean_and_coverage(series, started_at, completed_at)
    counter_start = counterfactual_start(requested_at, earliest_start)
    counterfactual, counter_coverage = _mean_and_coverage(series, counter_start, counter_start + duration)
    forecast_share = _coverage(forecast, started_at, completed_at)
    counter_forecast_share = _coverage(forecast, counter_start, counter_start + duration)
    # Forecast-only: what priced the run is the forecast alone (nothing measured over it).
    forecast_only = experienced is not None and forecast_share > 1e-9 and forecast_share >= coverage - 1e-9

    emitted = None if experienced is None else emissions_kg(kwh, experienced)
    counter_kg = None if counterfactual is None else emissions_kg(kwh, counterfactual)
    saving = None if emitted is None or counter_kg is None else counter_kg - emitted
    saving_pct = None
    if saving is not None and counter_kg:
        saving_pct = 100.0 * saving / counter_kg

    flags = [
        name
        for name, on in (("simulated", simulated), ("stale", stale), ("forecast_only", forecast_only))
        if on
    ]
    if experienced is not None and not forecast_only and forecast_share > 1e-9:
        flags.append("partial_forecast")
    if counterfactual is not None and counter_forecast_share > 1e-9:
        flags.append("counterfactual_forecast")
    if experienced is None:
        flags.append("no_readings")
    elif coverage < 1.0:
        flags.append("partial_coverage")
    if counterfactual is None:
        flags.append("no_counterfactual_readings")
    elif counter_coverage < 1.0:
        flags.append("partial_counterfactual_coverage")

    return RunAccounting(
        duration_hours=hours,
        data_gb=data_gb,
        energy_kwh=kwh,
        intensity_experienced=experienced,
        coverage=coverage,
        emissions_kg=emitted,
        counterfactual_start=counter_start,
        counterfactual_intensity=counterfactual,
        counterfactual_coverage=counter_coverage,
        counterfactual_kg=counter_kg,
        saving_kg=saving,
        saving_pct=saving_pct,
        simulated=simulated,
        stale=stale,
        forecast_only=forecast_only,
        flags=flags,
        forecast_coverage=forecast_share,
        counterfactual_forecast_coverage=counter_forecast_share,
    )


def _mean_and_coverage(series: SeriesLike, start: datetime, end: datetime) -> tuple[float | None, float]:
    # A zero-length run (a tiny file backed up within the clock's resolution) still happened at a
    # moment: take the intensity at that instant over one second rather than report nothing.
    if end <= start:
        end = start + timedelta(seconds=1)
    return series.mean(start, end), series.coverage(start, end)


def _coverage(series: SeriesLike | None, start: datetime, end: datetime) -> float:
    if series is None:
        return 0.0
    if end <= start:
        end = start + timedelta(seconds=1)
    return series.coverage(start, end)
