"""The estimate of a backup's emissions now against the best window ahead (POST /carbon/estimate).

"Best" is the start with the lowest time-weighted mean over the whole run, from the stored
series (carbon.services.series); the energy comes from the one energy model
(carbon.services.energy_model).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from carbon.intensity import Window, emissions_kg
from carbon.models import Zone
from carbon.services.base import NoData, energy_model, resolve_now
from carbon.services.series import ForecastPoint, _priority, intensity_series
from hyperweb.lib import units


@dataclass
class Estimate:
    zone: str
    data_gb: float
    duration_hours: float
    horizon_hours: float
    energy_kwh: float
    signal: str
    current_intensity: float
    current_emissions_kg: float
    best_intensity: float
    best_emissions_kg: float
    best_start: datetime
    best_end: datetime
    savings_kg: float
    savings_percent: float
    delay_minutes: int
    recommendation: str
    sources: list[str]
    simulated: bool
    stale: bool
    forecast: list[ForecastPoint]
    now: datetime

    @property
    def source(self) -> str:
        return ",".join(self.sources)


def _humanize_minutes(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"


def estimate(
    zone: Zone,
    data_gb: float,
    duration_hours: float,
    *,
    now: datetime | None = None,
    horizon_hours: float | None = None,
) -> Estimate:
    """Emissions of running a backup now versus in the best window within the horizon.

    "Best" is the start with the lowest time-weighted mean over the whole run, not the lowest
    single point. Raises NoData if nothing covers the run starting now, ValueError on bad input.
    """
    if not data_gb > 0 or not duration_hours > 0:
        raise ValueError("data_gb and duration_hours must be positive")
    now = resolve_now(now)
    horizon = settings.CARBON_ESTIMATE_HORIZON_HOURS if horizon_hours is None else float(horizon_hours)
    if horizon < 0:
        raise ValueError("horizon_hours must not be negative")
    duration = timedelta(hours=duration_hours)
    latest = now + timedelta(hours=horizon)
    info = intensity_series(zone, now, latest + duration, now=now, refresh=True)
    now_mean = info.series.mean(now, now + duration)
    if now_mean is None:
        raise NoData(f"no carbon intensity data for {zone.code} covering the next {duration_hours:g} h")
    best = info.series.best_window(duration, now, latest, min_coverage=1.0)
    if best is None or best.mean >= now_mean:
        best = Window(start=now, end=now + duration, mean=now_mean)

    kwh = energy_model().kwh(data_gb, duration_hours)
    current_kg = emissions_kg(kwh, now_mean)
    best_kg = emissions_kg(kwh, best.mean)
    savings = current_kg - best_kg
    percent = 100.0 * savings / current_kg if current_kg > 0 else 0.0
    delay = max(round((best.start - now).total_seconds() / 60), 0)
    label = " (simulated data)" if info.simulated else ""
    if delay == 0 or savings <= 0:
        text = (
            f"Start now: no {duration_hours:g} h window in the next {horizon:g} h is cleaner than "
            f"{now_mean:.0f} gCO2/kWh{label}."
        )
    else:
        text = (
            f"Wait {_humanize_minutes(delay)} and start at {best.start:%Y-%m-%d %H:%M} UTC: "
            f"{best.mean:.0f} instead of {now_mean:.0f} gCO2/kWh saves {units.co2(savings)} CO2 "
            f"({percent:.1f} %){label}."
        )
    if info.stale:
        text += " Data is stale: the providers could not be reached."
    window_points = [p for p in info.points if p.start < latest + duration]
    return Estimate(
        zone=zone.code,
        data_gb=float(data_gb),
        duration_hours=float(duration_hours),
        horizon_hours=horizon,
        energy_kwh=kwh,
        signal=info.signal,
        current_intensity=now_mean,
        current_emissions_kg=current_kg,
        best_intensity=best.mean,
        best_emissions_kg=best_kg,
        best_start=best.start,
        best_end=best.end,
        savings_kg=savings,
        savings_percent=percent,
        delay_minutes=delay,
        recommendation=text,
        sources=_priority(zone, info.sources),
        simulated=info.simulated,
        stale=info.stale,
        forecast=window_points,
        now=now,
    )
