"""django-q2 tasks: they take ids, re-fetch, are idempotent and only call services."""

from __future__ import annotations

from django.utils import timezone

from alerts import checks
from alerts.checks import send_weekly_digest
from alerts.delivery import deliver as send
from alerts.delivery import due_deliveries
from alerts.services import enqueue_deliveries


def deliver(delivery_id: int) -> str:
    """One try at one delivery (a no-op unless it is due and this call claims it)."""
    return send(delivery_id)


def retry_deliveries() -> dict:
    """The periodic retry: hand every due delivery to the workers again."""
    ids = due_deliveries(timezone.now())
    enqueue_deliveries(ids)
    return {"enqueued": len(ids)}


def run_checks() -> dict:
    """Target space, stale carbon data, backups waiting past their deadline."""
    now = timezone.now()
    return {
        "targets_low": len(checks.check_targets(now)),
        "zones_stale": len(checks.check_providers(now)),
        "deadlines_missed": len(checks.check_deadlines(now)),
        "alerts_pruned": checks.prune_alerts(now),
    }


def weekly_digest() -> dict:
    alert = send_weekly_digest()
    return {"sent": alert is not None}
