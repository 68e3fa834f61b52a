"""Raising alerts: store the event once, fan it out to the users and webhooks that want it.

`raise_alert` is the one way in (the scheduler's signals, the periodic checks and the weekly
digest all call it). It is idempotent by key: a second call for the same event stores nothing
and sends nothing, so a signal sent twice or a check run by two workers alerts once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from accounts.roles import ROLES
from alerts.models import Alert, AlertPreference, Delivery, Kind, Webhook
from scheduler.models import BackupJob
from scheduler.services import format_ts

log = logging.getLogger(__name__)

DELIVER_TASK = "alerts.tasks.deliver"


def email_enabled() -> bool:
    """Email alerts need an SMTP host (SMTP_HOST); without one only webhooks are sent."""
    return bool(settings.EMAIL_HOST)


def email_recipients(kind: str) -> list[str]:
    """Addresses of active users with a role who have not switched `kind` off (one query)."""
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name__in=ROLES))
        .exclude(email="")
        .exclude(**{f"alert_preference__{kind}": False})
        .values_list("email", flat=True)
        .distinct()
    )
    return sorted({email.strip() for email in users if email.strip()})


def raise_alert(
    kind: str,
    key: str,
    subject: str,
    body: str,
    *,
    payload: dict[str, Any] | None = None,
    job: BackupJob | None = None,
    now: datetime | None = None,
    webhooks: list[Webhook] | None = None,
) -> Alert | None:
    """Store the alert and one delivery per recipient; None when this key was already raised.

    `webhooks` sends it to those webhooks only (no email): the admin's test alert."""
    if kind not in Kind.values:
        raise ValueError(f"unknown alert kind {kind!r}")
    now = now or timezone.now()
    try:
        with transaction.atomic():
            alert = Alert.objects.create(
                kind=kind,
                key=key[:300],
                subject=subject[:255],
                body=body,
                payload=payload or {},
                job=job,
                created_at=now,
            )
            hooks = (
                webhooks
                if webhooks is not None
                else [h for h in Webhook.objects.filter(active=True) if h.wants(kind)]
            )
            deliveries = [
                Delivery(
                    alert=alert,
                    channel=Delivery.Channel.WEBHOOK,
                    webhook=hook,
                    next_attempt_at=now,
                    created_at=now,
                )
                for hook in hooks
            ]
            if email_enabled() and webhooks is None:
                deliveries += [
                    Delivery(
                        alert=alert,
                        channel=Delivery.Channel.EMAIL,
                        recipient=address,
                        next_attempt_at=now,
                        created_at=now,
                    )
                    for address in email_recipients(kind)
                ]
            created = Delivery.objects.bulk_create(deliveries)
            ids = [d.pk for d in created]
            transaction.on_commit(lambda: enqueue_deliveries(ids))
    except IntegrityError:
        return None  # raised before (same key): nothing more to send
    log.info("alert %s raised (%s): %d deliveries", kind, key, len(ids))
    return alert


def enqueue_deliveries(ids: list[int]) -> None:
    """Hand deliveries to the django-q2 workers (one task each); the periodic retry catches any
    whose queue message is lost."""
    for pk in ids:
        try:
            async_task(DELIVER_TASK, pk, task_name=f"alert-delivery-{pk}", group="alerts")
        except Exception:  # the broker is down: the periodic retry sends it later
            log.exception("could not enqueue alert delivery %s", pk)


# --- Alerts about one backup ----------------------------------------------------------------------

_JOB_SUBJECTS = {
    Kind.BACKUP_FAILED: "Backup failed: {name}",
    Kind.DEADLINE_MISSED: "Backup missed its deadline: {name}",
    Kind.BACKUP_DAMAGED: "Backup damaged (verification failed): {name}",
}


def job_payload(job: BackupJob) -> dict[str, Any]:
    def ts(value: datetime | None) -> str | None:
        return format_ts(value) if value else None

    return {
        "job_id": job.id,
        "name": job.name or job.vm_path,
        "vm_path": job.vm_path,
        "status": job.status,
        "zone": job.zone.code if job.zone is not None else None,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "error": job.error,
        "requested_at": ts(job.requested_at),
        "latest_start": ts(job.latest_start),
        "started_at": ts(job.started_at),
        "completed_at": ts(job.completed_at),
        "operation": getattr(job, "operation", "backup") or "backup",
        "subject_id": getattr(job, "subject_id", None),
        "integrity": getattr(job, "integrity", "") or None,
        "integrity_detail": getattr(job, "integrity_detail", "") or None,
    }


def job_alert(kind: str, job: BackupJob, *, now: datetime | None = None, detail: str = "") -> Alert | None:
    """An alert about one backup, once per job and kind."""
    payload = job_payload(job)
    subject = _JOB_SUBJECTS[Kind(kind)].format(name=payload["name"])
    operation = getattr(job, "operation", "backup") or "backup"
    if operation != "backup":  # a restore or verification run (scheduler.services.lifecycle)
        subject = subject.replace("Backup", operation.capitalize(), 1)
    lines = [
        subject,
        "",
        f"Job: {job.id}",
        f"VM: {job.vm_path}",
        f"Zone: {payload['zone'] or '-'}",
        f"Status: {job.status} (attempt {job.attempts} of {job.max_attempts})",
        f"Latest allowed start: {payload['latest_start']}",
        f"Started: {payload['started_at'] or 'not yet'}",
    ]
    if payload["subject_id"]:
        lines.append(f"It reads backup {payload['subject_id']} ({operation} run).")
    if job.error:
        lines.append(f"Error: {job.error}")
    if payload["integrity_detail"]:
        lines.append(f"Integrity: {payload['integrity']}: {payload['integrity_detail']}")
    if detail:
        lines.append(detail)
    link = job_link(job.id)
    if link:
        lines.append(f"Details: {link}")
    return raise_alert(
        kind, f"{kind}:{job.id}", subject, "\n".join(lines) + "\n", payload=payload, job=job, now=now
    )


def job_link(job_id: str) -> str:
    base = settings.ALERT_BASE_URL.rstrip("/")
    return f"{base}/backups/{job_id}" if base else ""


def send_test_alert(hook: Webhook, *, by: str = "", now: datetime | None = None) -> Alert | None:
    """A test alert to one webhook (whatever alerts it subscribes to), to check its URL and secret."""
    now = now or timezone.now()
    subject = f"Test alert from hyperweb to {hook.name}"
    body = f"{subject}, sent by {by or 'an admin'}. If your receiver verified the signature, the webhook works.\n"
    return raise_alert(
        Kind.TEST,
        f"test:{hook.pk}:{now.isoformat()}",
        subject,
        body,
        payload={"webhook": hook.name},
        now=now,
        webhooks=[hook],
    )


# --- Preferences --------------------------------------------------------------------------------


def preferences_for(user: User) -> AlertPreference:
    """The user's preferences (unsaved defaults, every kind on, when they have none yet)."""
    return AlertPreference.objects.filter(user=user).first() or AlertPreference(user=user)


def save_preferences(user: User, preference: AlertPreference, email: str) -> None:
    """Store the user's choices and the address alerts go to."""
    with transaction.atomic():
        preference.user = user
        preference.save()
        if user.email != email:
            user.email = email
            user.save(update_fields=["email"])
