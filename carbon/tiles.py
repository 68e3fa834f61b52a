"""The overview's zone tiles: current intensity and a 48 h sparkline per active zone, read in a
constant number of queries once the sparklines are cached (carbon.tasks warms them after each
refresh)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from carbon import charts, services
from carbon.models import Zone
from carbon.services.store import cache_allowed


@dataclass
class Tile:
    zone: Zone
    current: services.CurrentIntensity | None
    sparkline: str
    simulated: bool
    stale: bool
    sources: list[str]


def _spark_seconds() -> int:
    """How long a sparkline may be reused: one refresh interval (new readings bump the zone's data
    version and make it unreachable before that)."""
    return max(60, settings.CARBON_REFRESH_MINUTES * 60)


def overview_tiles(zones: list[Zone], now: datetime) -> list[Tile]:
    """Every zone's tile in a constant number of queries once the sparklines are cached.

    The current intensities come from one query for all zones, at every view. A sparkline (the
    zone's merged series 24 h either side of now, a few queries per zone) is cached under the
    zone's data version for at most one refresh interval: new readings or a provider change make
    it unreachable at once. The workers draw it after each refresh (carbon.tasks); with REDIS_URL
    every web process reads theirs, with the per-process cache each web process draws its own once
    per interval.
    """
    currents = services.current_intensities(zones, now=now)
    keys = {zone.pk: _spark_key(zone) for zone in zones}
    cached = cache.get_many(list(keys.values())) if cache_allowed() else {}
    tiles = []
    for zone in zones:
        spark = cached.get(keys[zone.pk])
        if spark is None:
            spark = _spark(zone, now)
            if cache_allowed():
                cache.set(keys[zone.pk], spark, timeout=_spark_seconds())
        current = currents[zone.pk]
        tiles.append(
            Tile(
                zone=zone,
                current=current,
                sparkline=spark["html"],
                simulated=spark["simulated"] or bool(current and current.simulated),
                stale=spark["stale"] or bool(current and current.stale),
                sources=spark["sources"],
            )
        )
    return tiles


def _spark_key(zone: Zone) -> str:
    chain = ",".join(zone.provider_chain())
    version = services.data_version(zone.pk)
    return f"carbon:spark:{zone.pk}:{chain}:{settings.CARBON_STALE_MINUTES}:{version}"


def _spark(zone: Zone, now: datetime) -> dict[str, Any]:
    info = services.intensity_series(zone, now - timedelta(hours=24), now + timedelta(hours=24), now=now)
    return {
        "html": charts.sparkline(info.points, now) if info.points else "",
        "simulated": info.simulated,
        "stale": info.stale,
        "sources": sorted(info.sources),
    }


def warm_overview(now: datetime | None = None) -> int:
    """Compute and cache every active zone's sparkline (the workers call it after a refresh)."""
    if not cache_allowed():
        return 0
    now = now or timezone.now()
    zones = list(Zone.objects.filter(active=True))
    for zone in zones:
        cache.set(_spark_key(zone), _spark(zone, now), timeout=_spark_seconds())
    return len(zones)


