"""Backup jobs, their decisions and logs, recurring policies and capacity limits.

The database is the source of truth for execution: a delayed job is a row with a planned start,
never an in-memory sleep, so it survives restarts, can be listed and cancelled, and is re-planned
when a newer forecast arrives. Workers claim rows with conditional updates (see dispatch.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Case, CharField, Q, Value, When

from carbon.models import Zone
from scheduler.executors.base import PathNotAllowed, resolve_inside
from scheduler.targets import is_target_key, normalise_target_key
from scheduler.uncertainty import RISK_LEVELS


def new_job_id() -> str:
    return str(uuid.uuid4())


RISK_CHOICES = [(level, level) for level in RISK_LEVELS]

# The signal a run's accounting recorded (accounting["signal"]): only a recorded "marginal" is
# marginal; a missing or null key is an older accounting, and every provider but WattTime's MOER
# gives averages. Totals never add the two (reports, metrics).
AVERAGE_SIGNAL = "average"
MARGINAL_SIGNAL = "marginal"
SIGNAL = Case(
    When(Q(accounting__signal=MARGINAL_SIGNAL), then=Value(MARGINAL_SIGNAL)),
    default=Value(AVERAGE_SIGNAL),
    output_field=CharField(),
)


class BackupJobQuerySet(models.QuerySet["BackupJob"]):
    """The one definition of an accounted run, which every page, report, export and metric reads.

    A run is accounted when it completed and the scheduler's accounting ran on it (energy is always
    recorded; emissions are None when no reading covered the run, and such a run is counted, adding
    no kg). Backups (operation "backup") are what savings, "backups" counts and the ESG inventory
    sum; restores and verifications run the same machinery and are accounted too, but are never
    counted as backups (docs/REPORTS.md).
    """

    def accounted(self) -> BackupJobQuerySet:
        """Accounted runs of every operation (backup, restore, verify)."""
        return self.filter(ACCOUNTED)

    def unaccounted(self) -> BackupJobQuerySet:
        """Every other job: waiting, running, failed, cancelled, or completed without accounting."""
        return self.exclude(ACCOUNTED)

    def accounted_backups(self) -> BackupJobQuerySet:
        """Accounted backups: the savings page, the overview, the ESG report and the metrics."""
        return self.accounted().filter(operation=BackupJob.Operation.BACKUP)

    def accounted_lifecycle_runs(self) -> BackupJobQuerySet:
        """Accounted restores and verifications: reported apart, never counted as backups."""
        return self.accounted().exclude(operation=BackupJob.Operation.BACKUP)

    def completed_in(self, start: datetime, end: datetime) -> BackupJobQuerySet:
        """Completed in [start, end): the period a run falls in is decided by its completion."""
        return self.filter(completed_at__gte=start, completed_at__lt=end)


class BackupJob(models.Model):
    """One backup of one VM: what to back up, when it may run, what was decided and what happened.

    `definition` is the caller's HyperSDK JobDefinition with secrets removed before storage; the
    carbon decision is also written into `definition.metadata` (`carbon_*` keys, docs/API.md). Status `scheduled`
    means "waiting for its planned start" and is shown as `pending` to HyperSDK clients.
    """

    class Status(models.TextChoices):
        PENDING = "pending"  # runnable as soon as a worker is free (run-now or retry)
        SCHEDULED = "scheduled"  # waiting for a carbon-planned start
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class Operation(models.TextChoices):
        BACKUP = "backup"
        RESTORE = "restore"  # extract `subject`'s archive into a folder inside BACKUP_RESTORE_ROOT
        VERIFY = "verify"  # re-read `subject`'s archive against its manifest

    class Integrity(models.TextChoices):
        UNVERIFIED = "", "not verified"
        VERIFIED = "verified"
        DAMAGED = "damaged"

    WAITING = (Status.PENDING, Status.SCHEDULED)
    FINISHED = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)
    # What a cancellation can still stop (scheduler.services.cancel_jobs, the pages' buttons).
    CANCELLABLE = (Status.PENDING, Status.SCHEDULED, Status.RUNNING)

    id = models.CharField(primary_key=True, max_length=128, default=new_job_id)
    name = models.CharField(max_length=255, blank=True)
    vm_path = models.CharField(max_length=1024)
    definition = models.JSONField(default=dict, help_text="JobDefinition, secrets stripped")
    # Secrets removed from the definition (e.g. vcenter.password), kept apart so that an executor
    # that forwards the job (hypersdk) can still use them; never serialised to any client.
    secrets = models.JSONField(default=dict, blank=True, editable=False)
    executor = models.CharField(max_length=32, default="file")
    # Where the backup goes (scheduler.services.capacity.job_target): the resolved output
    # directory, or the HyperSDK daemon's URL; Capacity rows keyed by a target limit it.
    # db_default: workers of the previous release (a rolling upgrade) insert jobs without it.
    target = models.CharField(max_length=1024, blank=True, default="", db_default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Whose backup this is: the submitter (API, dashboard), or for a recurring backup's job the
    # owner of its policy (even when the schedule fired it, with no one signed in). Operators
    # work as a team: any operator may cancel any job (docs/API.md, "Owners").
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    policy = models.ForeignKey(
        "BackupPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )

    # When it may run
    zone = models.ForeignKey(
        "carbon.Zone", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    carbon_aware = models.BooleanField(default=False)
    threshold = models.FloatField(null=True, blank=True, help_text="gCO2/kWh: run now if at or below")
    # How much forecast risk the planner takes for it (scheduler.uncertainty): cautious, balanced
    # or greedy; empty: its policy's, else BACKUP_RISK.
    risk = models.CharField(max_length=10, blank=True, default="", choices=RISK_CHOICES)
    requested_at = models.DateTimeField()
    earliest_start = models.DateTimeField()
    latest_start = models.DateTimeField(help_text="deadline for the start")
    expected_duration = models.DurationField(default=timedelta(hours=1))
    data_size_gb = models.FloatField(default=0.0)

    # What was decided
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    planned_start = models.DateTimeField(null=True, blank=True)
    decision = models.JSONField(null=True, blank=True, help_text="the latest planning decision")

    # Execution
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=3)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="last enqueued to the workers")
    claimed_by = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # A restore or a verification is a run of the same machinery (claim, progress, events,
    # retries, accounting) whose `subject` is the backup it reads (scheduler.services.lifecycle).
    # db_default: workers of the previous release insert jobs without these columns.
    operation = models.CharField(
        max_length=10, choices=Operation.choices, default=Operation.BACKUP, db_default=Operation.BACKUP
    )
    subject = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="lifecycle_runs"
    )
    # Of a completed backup: what its last verification (or restore) found, and when its archive
    # was pruned by retention (the row stays, with its events and accounting).
    integrity = models.CharField(
        max_length=10, choices=Integrity.choices, blank=True, default="", db_default=""
    )
    verified_at = models.DateTimeField(null=True, blank=True, help_text="last verification, either verdict")
    integrity_detail = models.TextField(blank=True, default="", db_default="")
    pruned_at = models.DateTimeField(null=True, blank=True, help_text="archive deleted by retention")

    # Accounting (after the run)
    bytes_written = models.BigIntegerField(null=True, blank=True)
    energy_kwh = models.FloatField(null=True, blank=True)
    intensity_experienced = models.FloatField(null=True, blank=True)
    emissions_kg = models.FloatField(null=True, blank=True)
    counterfactual_intensity = models.FloatField(null=True, blank=True)
    counterfactual_kg = models.FloatField(null=True, blank=True)
    saving_kg = models.FloatField(null=True, blank=True)
    accounting = models.JSONField(null=True, blank=True, help_text="inputs and flags of the accounting")
    simulated = models.BooleanField(default=False)
    stale = models.BooleanField(default=False)
    forecast_only = models.BooleanField(default=False)

    objects = BackupJobQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "planned_start"], name="job_due"),
            models.Index(fields=["-requested_at"], name="job_listing"),
            models.Index(fields=["zone", "status"], name="job_zone_status"),
            models.Index(fields=["status", "heartbeat_at"], name="job_heartbeat"),
            models.Index(fields=["operation", "status", "completed_at"], name="job_operation"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(latest_start__gte=models.F("earliest_start")), name="job_window_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.vm_path} [{self.status}]"

    @property
    def wire_status(self) -> str:
        """The status as HyperSDK clients know it (no `scheduled`)."""
        return self.Status.PENDING if self.status == self.Status.SCHEDULED else self.status

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def is_cancellable(self) -> bool:
        """Waiting or running: a cancellation still stops it (finished jobs stay as they ended)."""
        return self.status in self.CANCELLABLE

    @property
    def is_damaged(self) -> bool:
        return self.integrity == self.Integrity.DAMAGED

    @property
    def has_archive(self) -> bool:
        """A completed file backup whose archive and manifest were written and not pruned."""
        result = self.result or {}
        return (
            self.operation == self.Operation.BACKUP
            and self.status == self.Status.COMPLETED
            and self.pruned_at is None
            and bool(result.get("archive_path"))
            and bool(result.get("manifest_path"))
        )


# Completed and accounted (see BackupJobQuerySet): energy is recorded once the accounting ran.
ACCOUNTED = Q(
    status=BackupJob.Status.COMPLETED,
    started_at__isnull=False,
    completed_at__isnull=False,
    energy_kwh__isnull=False,
)


class JobDecision(models.Model):
    """Every planning decision taken for a job (the latest is also on the job)."""

    job = models.ForeignKey(BackupJob, on_delete=models.CASCADE, related_name="decisions")
    created_at = models.DateTimeField()
    planned_start = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    strategy = models.CharField(max_length=40, blank=True)
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["job", "created_at", "pk"]
        indexes = [models.Index(fields=["job", "created_at"], name="decision_job_time")]

    def __str__(self) -> str:
        return f"{self.job_id} -> {self.planned_start} ({self.strategy})"


class JobEvent(models.Model):
    """One timestamped log line of a job (served by /jobs/logs/{id})."""

    class Level(models.TextChoices):
        DEBUG = "debug"
        INFO = "info"
        WARNING = "warning"
        ERROR = "error"

    job = models.ForeignKey(BackupJob, on_delete=models.CASCADE, related_name="events")
    timestamp = models.DateTimeField()
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    message = models.TextField()

    class Meta:
        ordering = ["job", "timestamp", "pk"]
        indexes = [models.Index(fields=["job", "timestamp"], name="event_job_time")]

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.level} {self.message}"


def new_policy_id() -> str:
    return uuid.uuid4().hex[:12]


class BackupPolicy(models.Model):
    """A recurring backup (HyperSDK's ScheduledJob) with a flexible, carbon-aware window.

    Each time the cron expression fires, a job is created that may start any time from the window
    start (the firing time, or the next `window_start` time of day at or after it) up to
    `window_hours` later; the planner picks the cleanest start inside.
    """

    id = models.CharField(primary_key=True, max_length=64, default=new_policy_id)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    schedule = models.CharField(max_length=120, help_text="cron expression, UTC, e.g. '0 22 * * *'")
    window_start = models.TimeField(null=True, blank=True, help_text="UTC time of day the window opens")
    window_hours = models.FloatField(default=8.0, help_text="how long after the window opens a job may start")
    job_template = models.JSONField(default=dict, help_text="JobDefinition, secrets stripped")
    # Secrets removed from the template (e.g. vcenter.password), handed to each job it creates.
    secrets = models.JSONField(default=dict, blank=True, editable=False)
    carbon_aware = models.BooleanField(default=True)
    zone = models.ForeignKey(
        "carbon.Zone", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    threshold = models.FloatField(null=True, blank=True)
    # Its jobs' risk setting (scheduler.uncertainty); empty: BACKUP_RISK.
    risk = models.CharField(max_length=10, blank=True, default="", choices=RISK_CHOICES)
    expected_duration = models.DurationField(default=timedelta(hours=1))
    data_size_gb = models.FloatField(default=0.0)
    enabled = models.BooleanField(default=True)
    run_count = models.PositiveIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Whose recurring backup this is (its creator); the jobs it creates belong to the same owner.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Retention of the backups this policy made (scheduler.retention); empty = the BACKUP_KEEP_*
    # default. All empty (here and in the settings) keeps everything.
    keep_last = models.PositiveIntegerField(null=True, blank=True, help_text="keep the newest N")
    keep_daily = models.PositiveIntegerField(
        null=True, blank=True, help_text="keep the newest of each of the last N days"
    )
    keep_weekly = models.PositiveIntegerField(null=True, blank=True, help_text="... of the last N ISO weeks")
    keep_monthly = models.PositiveIntegerField(null=True, blank=True, help_text="... of the last N months")

    class Meta:
        ordering = ["name", "pk"]
        verbose_name_plural = "backup policies"
        indexes = [models.Index(fields=["enabled", "next_run_at"], name="policy_due")]

    def __str__(self) -> str:
        return f"{self.name} ({self.schedule})"


class Capacity(models.Model):
    """At most `max_concurrent` backups at once for a zone or a backup target.

    `key` is a zone code, or a target: an absolute directory inside BACKUP_TARGET_ROOT (every
    backup written to it or below it) or a HyperSDK daemon URL. A zone without a row uses
    settings.BACKUP_DEFAULT_CAPACITY; a target without a row has no limit of its own
    (scheduler.services.capacity).
    """

    key = models.CharField(
        max_length=512,
        unique=True,
        help_text="a zone code (DE), a target directory (/srv/backups/nas1) or a HyperSDK URL",
    )
    max_concurrent = models.PositiveIntegerField(default=2, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "capacities"

    def __str__(self) -> str:
        return f"{self.key}: {self.max_concurrent}"

    def clean(self) -> None:
        key = (self.key or "").strip()
        if not is_target_key(key):
            if not Zone.objects.filter(code=key).exists():
                raise ValidationError(
                    {
                        "key": f"{key!r} is neither a zone code nor a target (an absolute directory or an http(s) URL)"
                    }
                )
            self.key = key
            return
        try:
            key = normalise_target_key(key)
        except ValueError as exc:
            raise ValidationError({"key": f"not a usable HyperSDK URL: {exc}"}) from None
        if key.startswith("/"):
            try:
                key = str(resolve_inside(key, [settings.BACKUP_TARGET_ROOT]))  # as job targets are
            except (PathNotAllowed, ValueError, OSError) as exc:
                raise ValidationError(
                    {
                        "key": f"{key} is outside the backup target root ({settings.BACKUP_TARGET_ROOT}): no backup writes there"
                    }
                ) from exc
        self.key = key
