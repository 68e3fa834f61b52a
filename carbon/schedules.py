"""carbon's worker schedules (registered with the others by hyperweb.schedules.register_all)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.conf import settings

from hyperweb.schedules import DAILY, MINUTES, Periodic, contributes

REFRESH_SCHEDULE = "carbon.refresh_all_zones"
PRUNE_SCHEDULE = "carbon.prune_forecasts"
# The daily prune's first run: a quiet hour (UTC), after the day's first forecast issue is stored.
PRUNE_AT = time(3, 30)


@contributes
def carbon_schedules(now: datetime) -> list[Periodic]:
    """Refresh every active zone every CARBON_REFRESH_MINUTES; prune old forecast issues daily."""
    first_prune = datetime.combine(now.date(), PRUNE_AT, tzinfo=UTC)
    if first_prune <= now:
        first_prune += timedelta(days=1)
    return [
        Periodic(
            REFRESH_SCHEDULE, "carbon.tasks.refresh_all_zones", MINUTES, minutes=settings.CARBON_REFRESH_MINUTES
        ),
        Periodic(PRUNE_SCHEDULE, "carbon.tasks.prune_forecasts", DAILY, first_run=first_prune),
    ]
