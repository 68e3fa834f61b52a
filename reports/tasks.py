"""django-q2 tasks of reports: take ids, re-fetch, stay idempotent."""

from __future__ import annotations

from carbon.models import Zone
from reports import whatif


def compute_replay(zone_id: int, duration_hours: float, flexibility_hours: float) -> str:
    """The what-if replay a page view handed over (whatif.answer with queue_replay), into the shared
    cache; nothing if it is there already (another view's task, or the precompute, came first)."""
    zone = Zone.objects.filter(pk=zone_id).first()
    if zone is None:
        return f"zone {zone_id} is gone"
    result = whatif.replay(zone, duration_hours, flexibility_hours)
    return f"{zone.code} {duration_hours:g} h / {flexibility_hours:g} h: " + (
        "not enough history" if result is None else f"{result['hyperweb']:.1f} % saved ({result['jobs']} request times)"
    )
