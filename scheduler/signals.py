"""What happens to a backup that others may want to hear about (alerts, metrics).

The scheduler sends these; it never imports who listens. Every signal is sent with
``sender=BackupJob`` and ``job=<BackupJob>`` after the state change is committed
(``transaction.on_commit``), so a receiver sees the stored state and cannot undo it.
"""

from django.dispatch import Signal

#: A backup failed for good: its last attempt failed, or it failed with no retry left.
backup_failed = Signal()

#: A backup could not finish before its deadline (``not_after`` / end of its window).
deadline_missed = Signal()

#: A completed backup's archive no longer matches its manifest (verification failed).
backup_damaged = Signal()
