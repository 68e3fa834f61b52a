"""Serializers of the /jobs/* and /schedules API: input validation and the documented shapes.

The wire JSON of a job or schedule is built once, by scheduler.services (job_to_hypersdk_json,
policy_to_json), for the API, the command line and the dashboard alike; the output serializers
here describe that JSON for the OpenAPI schema.
"""

from __future__ import annotations

from rest_framework import serializers

from hyperweb.api.fields import StrictBooleanField, StrictCharField
from hyperweb.api.pagination import limit_field
from scheduler.models import BackupJob
from scheduler.services.definitions import DEFINITION_RULES, METADATA_RULES, Rule
from scheduler.uncertainty import RISK_LEVELS

# HyperSDK clients see a job waiting for its planned start (scheduled) as pending.
WIRE_STATUSES = tuple(s for s in BackupJob.Status.values if s != BackupJob.Status.SCHEDULED)
# An unverified backup's integrity is "" in the database and "unverified" on the wire.
INTEGRITY_STATES = [state or "unverified" for state in BackupJob.Integrity.values]


def _definition_field(rule: Rule) -> serializers.Field:
    """The serializer field of one JobDefinition key, from the rule parse_definition checks."""
    required = rule.required
    if rule.kind == "enum":
        return serializers.ChoiceField(choices=rule.choices, required=required)
    if rule.kind == "bool":
        return serializers.BooleanField(required=required)
    if rule.key == "metadata":
        keys = ", ".join(f"{r.key} ({'|'.join(r.choices)})" if r.choices else r.key for r in METADATA_RULES)
        return serializers.DictField(
            help_text=f"{keys}; the decision is written back as carbon_planned_start, carbon_reason, "
            "carbon_intensity_at_submit, ...",
            required=required,
        )
    if rule.kind == "object":
        return serializers.DictField(required=required)
    return serializers.CharField(required=required)  # text and id: what is stored is a string


# HyperSDK JobDefinition as stored and echoed: one field per rule of the validator
# (scheduler.services.definitions.DEFINITION_RULES), so the documented keys are the accepted ones.
JobDefinitionSerializer = type(
    "JobDefinitionSerializer",
    (serializers.Serializer,),
    {
        "__doc__": "HyperSDK JobDefinition (extra keys allowed; secrets are never echoed).",
        "__module__": __name__,
        **{rule.key: _definition_field(rule) for rule in DEFINITION_RULES},
    },
)


class ProgressSerializer(serializers.Serializer):
    phase = serializers.CharField()
    current_file = serializers.CharField()
    current_step = serializers.CharField()
    files_downloaded = serializers.IntegerField()
    total_files = serializers.IntegerField()
    bytes_downloaded = serializers.IntegerField()
    bytes_transferred = serializers.IntegerField()
    total_bytes = serializers.IntegerField()
    percent_complete = serializers.FloatField()
    estimated_remaining = serializers.CharField()
    export_method = serializers.CharField()


class JobResultSerializer(serializers.Serializer):
    vm_name = serializers.CharField()
    output_dir = serializers.CharField()
    ovf_path = serializers.CharField()
    total_size = serializers.IntegerField()
    duration = serializers.IntegerField(help_text="nanoseconds")
    success = serializers.BooleanField()
    files = serializers.ListField(child=serializers.CharField())
    output_files = serializers.ListField(child=serializers.CharField())
    export_method = serializers.CharField(required=False)
    archive_path = serializers.CharField()
    manifest_path = serializers.CharField()
    sha256 = serializers.CharField()


class JobCarbonSerializer(serializers.Serializer):
    energy_kwh = serializers.FloatField(allow_null=True)
    intensity_gco2_kwh = serializers.FloatField(allow_null=True)
    emissions_kg_co2 = serializers.FloatField(allow_null=True)
    counterfactual_intensity_gco2_kwh = serializers.FloatField(allow_null=True)
    counterfactual_kg_co2 = serializers.FloatField(allow_null=True)
    savings_vs_requested_kg_co2 = serializers.FloatField(allow_null=True)
    simulated = serializers.BooleanField()
    stale = serializers.BooleanField()
    forecast_only = serializers.BooleanField()
    flags = serializers.ListField(child=serializers.CharField())


class IntegritySerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=INTEGRITY_STATES,
        help_text="damaged: the archive no longer matches its manifest (it cannot be restored)",
    )
    verified_at = serializers.DateTimeField(allow_null=True, help_text="last verification, either verdict")
    detail = serializers.CharField(help_text="what did not match, for a damaged backup")
    pruned_at = serializers.DateTimeField(
        allow_null=True, help_text="when retention deleted the archive and manifest"
    )
    restorable = serializers.BooleanField(help_text="a file-executor archive with its manifest, not damaged")


class RestoreRequestSerializer(serializers.Serializer):
    target = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=1024,
        help_text="folder inside BACKUP_RESTORE_ROOT (relative to it, or absolute inside it); "
        "default: a folder named after the backup",
    )
    overwrite = serializers.BooleanField(
        required=False, default=False, help_text="replace files that already exist there (else 409)"
    )
    defer = serializers.BooleanField(
        required=False,
        default=False,
        help_text="wait for a clean window in the backup's zone instead of running at once",
    )


class VerifyRequestSerializer(serializers.Serializer):
    defer = serializers.BooleanField(
        required=False,
        default=False,
        help_text="plan it into a clean window in the backup's zone instead of running at once",
    )


class JobSerializer(serializers.Serializer):
    """A Job as HyperSDK clients parse it, plus hyperweb's own fields (clients ignore them)."""

    definition = JobDefinitionSerializer()
    status = serializers.ChoiceField(
        choices=WIRE_STATUSES, help_text="a job waiting for its planned start is pending"
    )
    progress = ProgressSerializer(required=False)
    result = JobResultSerializer(required=False)
    error = serializers.CharField(required=False)
    started_at = serializers.DateTimeField(required=False)
    completed_at = serializers.DateTimeField(required=False)
    updated_at = serializers.DateTimeField()
    id = serializers.CharField()
    state = serializers.ChoiceField(
        choices=BackupJob.Status.values,
        help_text="hyperweb's status: `scheduled` = waiting for a carbon-planned start",
    )
    carbon_aware = serializers.BooleanField()
    zone = serializers.CharField(allow_null=True)
    requested_at = serializers.DateTimeField()
    earliest_start = serializers.DateTimeField()
    latest_start = serializers.DateTimeField()
    planned_start = serializers.DateTimeField(allow_null=True)
    expected_duration_seconds = serializers.FloatField()
    attempts = serializers.IntegerField()
    decision = serializers.DictField(allow_null=True, help_text="the latest planning decision and its reason")
    carbon = JobCarbonSerializer(
        required=False, help_text="after the run: accounting against starting when requested"
    )
    operation = serializers.ChoiceField(
        choices=BackupJob.Operation.values,
        help_text="what the run does: a backup, or a restore or verification of the backup `subject`",
    )
    subject = serializers.CharField(
        allow_null=True, help_text="for a restore or verification: the id of the backup it reads"
    )
    integrity = IntegritySerializer(
        required=False, help_text="of a completed backup: what its last verification found"
    )


class SubmitResponseSerializer(serializers.Serializer):
    job_ids = serializers.ListField(child=serializers.CharField())
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]  # shadows Serializer.errors in the stubs only
    timestamp = serializers.DateTimeField()


class QueryRequestSerializer(serializers.Serializer):
    job_ids = serializers.ListField(child=StrictCharField(allow_blank=True), required=False)
    status = serializers.ListField(child=serializers.ChoiceField(choices=WIRE_STATUSES), required=False)
    all = StrictBooleanField(required=False, default=False)
    limit = limit_field(100, 1000, body=True, required=False)


class QueryParamsSerializer(serializers.Serializer):
    all = serializers.BooleanField(required=False, default=False)
    status = serializers.CharField(required=False, help_text="comma-separated statuses")
    limit = limit_field(100, 1000, required=False)


class QueryResponseSerializer(serializers.Serializer):
    jobs = JobSerializer(many=True)
    total = serializers.IntegerField(help_text="jobs matching, before the limit")
    timestamp = serializers.DateTimeField()


class CancelRequestSerializer(serializers.Serializer):
    job_ids = serializers.ListField(
        child=StrictCharField(allow_blank=True),
        min_length=1,
        help_text="at least one; unknown ids are listed in `failed`",
    )


class CancelResponseSerializer(serializers.Serializer):
    cancelled = serializers.ListField(child=serializers.CharField())
    failed = serializers.ListField(child=serializers.CharField())
    errors = serializers.DictField(child=serializers.CharField())  # type: ignore[assignment]  # shadows Serializer.errors in the stubs only
    timestamp = serializers.DateTimeField()


class ProgressResponseSerializer(ProgressSerializer):
    job_id = serializers.CharField()
    status = serializers.ChoiceField(choices=WIRE_STATUSES)
    timestamp = serializers.DateTimeField()
    progress = ProgressSerializer()


class LogLineSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    level = serializers.CharField()
    message = serializers.CharField()


class LogsResponseSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    logs = LogLineSerializer(many=True)
    log_count = serializers.IntegerField()
    timestamp = serializers.DateTimeField()


class EtaSerializer(serializers.Serializer):
    planned_start = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    expected_completion = serializers.DateTimeField(allow_null=True)
    percent_complete = serializers.FloatField()
    estimated_remaining_seconds = serializers.FloatField()


class EtaResponseSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    status = serializers.ChoiceField(choices=WIRE_STATUSES)
    timestamp = serializers.DateTimeField()
    eta = EtaSerializer()
    estimated_remaining = serializers.CharField()


class RetentionSerializer(serializers.Serializer):
    """Which of this schedule's archives pruning keeps; null counts: the BACKUP_KEEP_* defaults."""

    keep_last = serializers.IntegerField(allow_null=True, min_value=0, help_text="the newest N")
    keep_daily = serializers.IntegerField(
        allow_null=True, min_value=0, help_text="newest of each of the last N days"
    )
    keep_weekly = serializers.IntegerField(
        allow_null=True, min_value=0, help_text="... of the last N ISO weeks"
    )
    keep_monthly = serializers.IntegerField(
        allow_null=True, min_value=0, help_text="... of the last N months"
    )
    rule = serializers.CharField(
        read_only=True, help_text="the rule in words, e.g. 'keep last 7, monthly 12'"
    )
    source = serializers.ChoiceField(  # type: ignore[assignment]  # shadows Field.source in the stubs only
        choices=["policy", "default"], read_only=True, help_text="whose counts apply"
    )


class ScheduledJobSerializer(serializers.Serializer):
    """HyperSDK ScheduledJob plus hyperweb's flexible window and carbon settings."""

    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(required=False)
    schedule = serializers.CharField(help_text="cron, UTC")
    job_template = JobDefinitionSerializer()
    enabled = serializers.BooleanField()
    run_count = serializers.IntegerField()
    tags = serializers.ListField(child=serializers.CharField())
    carbon_aware = serializers.BooleanField()
    zone = serializers.CharField(allow_null=True)
    threshold = serializers.FloatField(allow_null=True)
    risk = serializers.ChoiceField(
        choices=RISK_LEVELS,
        allow_null=True,
        help_text="forecast risk its jobs take (null: BACKUP_RISK)",
    )
    window_start = serializers.CharField(allow_null=True, help_text="HH:MM UTC the window opens")
    window_hours = serializers.FloatField(help_text="how long after the window opens the job may start")
    expected_duration_hours = serializers.FloatField()
    last_run = serializers.DateTimeField(allow_null=True)
    next_run = serializers.DateTimeField(allow_null=True)
    retention = RetentionSerializer(required=False)


class TriggerResponseSerializer(serializers.Serializer):
    status = serializers.CharField()
    schedule_id = serializers.CharField()
    job_id = serializers.CharField()
    job = JobSerializer()
    timestamp = serializers.DateTimeField()


class DeletedSerializer(serializers.Serializer):
    status = serializers.CharField()
    id = serializers.CharField()
    timestamp = serializers.DateTimeField()
