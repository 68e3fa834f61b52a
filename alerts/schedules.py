"""The alerts' worker schedules (registered with the others by hyperweb.schedules.register_all)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from hyperweb.schedules import CRON, MINUTES, Periodic, contributes

RETRY_SCHEDULE = "alerts.retry_deliveries"
CHECK_SCHEDULE = "alerts.run_checks"
DIGEST_SCHEDULE = "alerts.weekly_digest"


@contributes
def alert_schedules(now: datetime) -> list[Periodic]:
    """Retry due deliveries every minute, run the checks every ALERT_CHECK_MINUTES, send the digest
    on ALERT_DIGEST_CRON (an empty ALERT_DIGEST_CRON removes the digest's schedule)."""
    return [
        Periodic(RETRY_SCHEDULE, "alerts.tasks.retry_deliveries", MINUTES, minutes=1),
        Periodic(CHECK_SCHEDULE, "alerts.tasks.run_checks", MINUTES, minutes=settings.ALERT_CHECK_MINUTES),
        Periodic(
            DIGEST_SCHEDULE,
            "alerts.tasks.weekly_digest",
            CRON,
            cron=settings.ALERT_DIGEST_CRON,
            enabled=bool(settings.ALERT_DIGEST_CRON),
        ),
    ]
