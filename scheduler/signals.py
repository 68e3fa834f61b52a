"""What happens to a backup that others may want to hear about (alerts, metrics).

The scheduler sends these; it never imports who listens. Every signal is sent with
``sender=BackupJob`` and ``job=<BackupJob>`` after the state change is committed
(``transaction.on_commit``), so a receiver sees the stored state and cannot undo it.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.dispatch import Signal

from scheduler.models import BackupJob

log = logging.getLogger(__name__)

#: A backup failed for good: its last attempt failed, or it failed with no retry left.
backup_failed = Signal()

#: A backup could not finish before its deadline (``not_after`` / end of its window).
deadline_missed = Signal()

#: A completed backup's archive no longer matches its manifest (verification failed).
backup_damaged = Signal()

#: A backup that started more than this after its latest allowed start missed its deadline (the
#: ESG report counts it the same way: reports.esg.method reads this constant). A worker starts a
#: backup a few seconds after its planned start; that is not a missed deadline.
DEADLINE_GRACE = timedelta(minutes=1)


def send_on_commit(signal: Signal, job_id: str) -> None:
    """Send `signal` for the job once the current transaction commits (at once outside one).

    Receivers run with ``send_robust``: a listener that fails is logged and never turns the
    state change that was already stored (a failed backup, a started one) into an error.
    """

    def send() -> None:
        job = BackupJob.objects.filter(pk=job_id).first()
        if job is None:
            return
        for receiver, outcome in signal.send_robust(sender=BackupJob, job=job):
            if isinstance(outcome, Exception):
                log.error(
                    "signal receiver %s failed for job %s",
                    getattr(receiver, "__qualname__", receiver),
                    job_id,
                    exc_info=(type(outcome), outcome, outcome.__traceback__),
                )

    transaction.on_commit(send)
