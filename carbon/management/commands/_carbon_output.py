"""What `manage.py carbon` prints, as plain values: times, forecast buckets, table rows and JSON.

Pure helpers (no terminal, no database): the command paints the (text, style) cells and writes
them, and turns the dicts into JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from carbon import services
from carbon.intensity import quality
from hyperweb.lib.timefmt import format_utc

if TYPE_CHECKING:
    from carbon.models import Zone


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return format_utc(moment)


def relative(moment: datetime, now: datetime) -> str:
    seconds = (moment - now).total_seconds()
    minutes = round(abs(seconds) / 60)
    if minutes == 0:
        return "now"
    hours, mins = divmod(minutes, 60)
    text = f"{hours} h {mins} min" if hours and mins else (f"{hours} h" if hours else f"{mins} min")
    return f"in {text}" if seconds > 0 else f"{text} ago"


def buckets(points: Sequence[services.ForecastPoint], every: timedelta) -> list[dict]:
    """Points averaged per `every` (time-weighted), aligned to UTC multiples of it; raw if 0."""
    if not points:
        return []
    if every.total_seconds() <= 0:
        return [
            {"start": p.start, "end": p.end, "value": p.value, "kind": p.kind, "sources": [p.source]}
            for p in points
        ]
    size = every.total_seconds()
    groups: dict[float, list[services.ForecastPoint]] = {}
    for p in points:
        t = p.start.timestamp()
        while t < p.end.timestamp():
            key = math.floor(t / size) * size
            groups.setdefault(key, []).append(p)
            t = key + size
    out = []
    for key, members in sorted(groups.items()):
        lo, hi = key, key + size
        weights = [(min(p.end.timestamp(), hi) - max(p.start.timestamp(), lo), p) for p in members]
        total = sum(w for w, _ in weights)
        start = max(min(p.start.timestamp() for p in members), lo)
        end = min(max(p.end.timestamp() for p in members), hi)
        kinds = {p.kind for p in members}
        out.append(
            {
                "start": datetime.fromtimestamp(start, UTC),
                "end": datetime.fromtimestamp(end, UTC),
                "value": sum(w * p.value for w, p in weights) / total,
                "kind": kinds.pop() if len(kinds) == 1 else "mixed",
                "sources": sorted({p.source for p in members}),
            }
        )
    return out


def quality_style(level: str) -> str:
    return {"excellent": "SUCCESS", "good": "SUCCESS", "moderate": "WARNING"}.get(level, "ERROR")


def forecast_rows(entries: list[dict]) -> list[list[tuple[str, str | None]]]:
    rows = []
    for e in entries:
        level = quality(e["value"])
        rows.append(
            [
                (f"{e['start']:%Y-%m-%d %H:%M}", None),
                (f"{e['value']:.0f}", quality_style(level)),
                (level, quality_style(level)),
                (e["kind"], None),
                (",".join(e["sources"]), "NOTICE" if "simulated" in e["sources"] else None),
            ]
        )
    return rows


def forecast_json(entries: list[dict]) -> list[dict]:
    return [
        {
            "time": e["start"],
            "end": e["end"],
            "intensity_gco2_kwh": round(e["value"], 3),
            "quality": quality(e["value"]),
            "kind": e["kind"],
            "sources": e["sources"],
            "simulated": "simulated" in e["sources"],
        }
        for e in entries
    ]


def status_json(
    z: Zone, current: services.CurrentIntensity, now: datetime, entries: list[dict]
) -> dict[str, object]:
    return {
        "zone": z.code,
        "name": z.name,
        "intensity_gco2_kwh": round(current.value, 3),
        "quality": current.quality,
        "source": current.source,
        "signal": current.signal,
        "kind": current.kind,
        "timestamp": current.start,
        "start": current.start,
        "end": current.end,
        "simulated": current.simulated,
        "stale": current.stale,
        "estimated": current.estimated,
        "renewable_percent": current.renewable_percent,
        "as_of": now,
        "forecast": forecast_json(entries),
    }


def zone_json(z: Zone) -> dict[str, object]:
    return {
        "id": z.code,
        "code": z.code,
        "name": z.name,
        "region": z.region,
        "description": z.description,
        "typical_intensity": z.typical_intensity,
        "timezone": z.timezone,
        "providers": z.provider_chain(),
        # Providers whose current credentials were refused the zone: skipped until they change.
        "denied": [d.provider for d in services.denials(z)],
        "provider_codes": z.provider_codes,
        "active": z.active,
    }


def estimate_json(est: services.Estimate) -> dict[str, object]:
    return {
        "zone": est.zone,
        "data_size_gb": est.data_gb,
        "duration_hours": est.duration_hours,
        "max_delay_hours": est.horizon_hours,
        "energy_kwh": est.energy_kwh,
        "signal": est.signal,
        "current_intensity_gco2_kwh": est.current_intensity,
        "current_emissions_kg_co2": est.current_emissions_kg,
        "best_intensity_gco2_kwh": est.best_intensity,
        "best_emissions_kg_co2": est.best_emissions_kg,
        "best_time": est.best_start,
        "best_end": est.best_end,
        "savings_kg_co2": est.savings_kg,
        "savings_percent": est.savings_percent,
        "delay_minutes": est.delay_minutes,
        "recommendation": est.recommendation,
        "sources": est.sources,
        "simulated": est.simulated,
        "stale": est.stale,
        "as_of": est.now,
    }
