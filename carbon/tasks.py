"""django-q2 tasks: take ids, re-fetch, stay idempotent, and only call services."""

from __future__ import annotations

from django.conf import settings

from carbon import services
from carbon.models import Zone
from carbon.signals import zones_refreshed
from carbon.tiles import warm_overview


def _summary(outcomes: list[services.FetchOutcome]) -> dict:
    return {
        "fetched": sum(o.status == "ok" for o in outcomes),
        "cached": sum(o.status == "cached" for o in outcomes),
        "failed": sum(o.status == "failed" for o in outcomes),
        "readings": sum(o.created + o.updated for o in outcomes),
    }


def refresh_all_zones(force: bool = False) -> dict:
    """The scheduled refresh (every CARBON_REFRESH_MINUTES): every active zone, TTL permitting."""
    outcomes = services.refresh_all_zones(force=force)
    warm_overview()  # the overview's sparklines, drawn here rather than on a viewer's request
    # reports warms the what-if answers (reports/receivers.py): carbon may not import reports.
    zones_refreshed.send(sender=refresh_all_zones, outcomes=outcomes)
    return {"zones": len({o.zone for o in outcomes}), **_summary(outcomes)}


def refresh_zone(zone_id: int, force: bool = False) -> dict:
    """Refresh one zone by id; a deleted zone is nothing to do."""
    zone = Zone.objects.filter(id=zone_id).first()
    if zone is None:
        return {"zone": None, **_summary([])}
    return {"zone": zone.code, **_summary(services.refresh_zone(zone, force=force))}


def prune_forecasts(keep_days: int | None = None) -> dict:
    """The daily prune: forecast issues older than CARBON_FORECAST_RETENTION_DAYS, each UTC day's
    first issue kept. Idempotent, so a retried or doubled run deletes nothing more."""
    keep = settings.CARBON_FORECAST_RETENTION_DAYS if keep_days is None else keep_days
    return {"deleted": services.prune_forecasts(keep_days=keep), "keep_days": keep}
