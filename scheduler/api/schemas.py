"""OpenAPI request schemas of /jobs/submit and /schedules, built from the rules the server enforces.

scheduler.services.definitions (parse_definition) and scheduler.services.policies
(apply_policy_data) are where the rules live; these schemas state the same rules from the same
constants (column lengths, caps, enums), so a request the schema calls valid is never refused
for its shape, and one it calls invalid is refused with a 400. What OpenAPI cannot state is said
in the descriptions: a file-executor path must lie inside the source (or target) roots, a zone
must exist, an id must be new.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hyperweb.api.fields import NON_BLANK, TIMESTAMP_SCHEMA
from hyperweb.api.limits import MAX_DATA_SIZE_GB, MAX_DURATION_HOURS, MAX_INTENSITY, MIN_DURATION_HOURS
from scheduler.executors.base import EXECUTOR_NAMES
from scheduler.services.definitions import MAX_DELAY, MAX_ID_LENGTH, column_max_length
from scheduler.uncertainty import RISK_LEVELS
from scheduler.vocabulary import BACKUP_FORMATS, EXPORT_METHODS

# Common cron forms (minute, hour, day 1-28, month, weekday; `*` and `*/n` steps): every string
# matching it is a schedule that fires. The server accepts any cron expression croniter does
# (ranges, lists) as long as it fires; this pattern is what the schema can promise.
CRON_PATTERN = (
    r"^(\*(/[1-9])?|[1-5]?[0-9]) (\*(/[1-9])?|1?[0-9]|2[0-3]) (\*|[1-9]|1[0-9]|2[0-8]) "
    r"(\*|[1-9]|1[0-2]) (\*|[0-6])$"
)


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    schema = {**schema, "nullable": True}
    if "enum" in schema:  # OpenAPI 3.0: a nullable enum lists null among its values
        schema["enum"] = [*schema["enum"], None]
    return schema


def _string(max_length: int | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", **extra}
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema


def _number(*, minimum: float = 0, maximum: float | None = None, exclusive: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "number", "minimum": minimum}
    if exclusive:
        schema["exclusiveMinimum"] = True
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


def _columns() -> dict[str, int]:
    from scheduler.models import BackupJob, BackupPolicy

    return {
        "job.name": column_max_length(BackupJob, "name"),
        "job.vm_path": column_max_length(BackupJob, "vm_path"),
        "job.target": column_max_length(BackupJob, "target"),
        "policy.id": column_max_length(BackupPolicy, "id"),
        "policy.name": column_max_length(BackupPolicy, "name"),
        "policy.schedule": column_max_length(BackupPolicy, "schedule"),
    }


def _id(max_length: int) -> dict[str, Any]:
    # empty (or null) means "choose one for me"; otherwise no '/', not only whitespace
    return _nullable(_string(max_length, pattern=r"^$|^[^/]*[^\s/][^/]*$"))


def metadata_schema() -> dict[str, Any]:
    max_delay_ns = MAX_DELAY / timedelta(microseconds=1) * 1000
    duration = _nullable(_number(minimum=MIN_DURATION_HOURS, maximum=MAX_DURATION_HOURS))
    return {
        "type": "object",
        "description": "hyperweb's scheduling inputs; other keys are kept as given. The planning "
        "decision is written back here (carbon_planned_start, carbon_reason, ...).",
        "properties": {
            "carbon_aware": {"type": "boolean", "description": "needs carbon_zone"},
            "carbon_zone": _nullable(_string(description="a zone id of GET /carbon/zones")),
            "carbon_max_intensity": _nullable(
                _number(maximum=MAX_INTENSITY) | {"description": "gCO2/kWh: start at once at or below it"}
            ),
            "carbon_max_delay": _nullable(
                _number(maximum=max_delay_ns)
                | {"description": "nanoseconds the job may wait (at most 14 days)"}
            ),
            "expected_duration_hours": duration,
            "carbon_duration_hours": duration,
            "data_size_gb": _nullable(_number(maximum=MAX_DATA_SIZE_GB)),
            "not_before": _nullable(
                TIMESTAMP_SCHEMA | {"description": "start no earlier (at most 366 days ahead)"}
            ),
            "executor": _nullable(
                {
                    "type": "string",
                    "enum": ["", *EXECUTOR_NAMES],
                    "description": "empty: the server's default; hypersdk only where the server has "
                    "HYPERSDK_URL set (else 400 naming metadata.executor)",
                }
            ),
            "carbon_risk": _nullable({"type": "string", "enum": ["", *RISK_LEVELS]}),
        },
    }


def job_definition_schema() -> dict[str, Any]:
    columns = _columns()
    flag = _nullable({"type": "boolean"})
    text = _nullable(_string())
    target = _nullable(
        _string(
            columns["job.target"],
            description="file executor: inside BACKUP_TARGET_ROOT; at most "
            f"{columns['job.target']} characters once resolved there, each name at most 255 bytes",
        )
    )
    return {
        "type": "object",
        "description": "A HyperSDK JobDefinition. Keys not listed are kept as given; secrets "
        "(password, token, ... and passwords inside URLs) are never stored in it nor echoed.",
        "required": ["vm_path"],
        "properties": {
            "vm_path": _string(
                columns["job.vm_path"],
                minLength=1,
                pattern=NON_BLANK,
                description="file executor: inside BACKUP_SOURCE_ROOTS (relative paths are taken from there)",
            ),
            "id": _id(MAX_ID_LENGTH),
            "name": _nullable(_string(columns["job.name"])),
            "output_dir": target,
            "output_path": target,
            "format": _nullable({"type": "string", "enum": ["", *BACKUP_FORMATS]}),
            "export_method": _nullable({"type": "string", "enum": ["", *EXPORT_METHODS]}),
            "compress": flag,
            "thin": flag,
            "insecure": flag,
            "vcenter": _nullable({"type": "object", "description": "server, username, password, insecure"}),
            "options": _nullable({"type": "object"}),
            "vcenter_url": text,
            "username": text,
            "datacenter": text,
            "method": text,
            "created_at": text,
            "metadata": _nullable(metadata_schema()),
        },
    }


def submit_schema() -> dict[str, Any]:
    definition = job_definition_schema()
    return {
        "oneOf": [
            definition,
            {"type": "array", "items": definition, "minItems": 1},
            {
                "type": "object",
                "required": ["jobs"],
                "properties": {"jobs": {"type": "array", "items": definition, "minItems": 1}},
                "additionalProperties": False,
            },
        ]
    }


def schedule_schema(*, creating: bool) -> dict[str, Any]:
    columns = _columns()
    template = job_definition_schema()
    template["description"] = "the JobDefinition each run creates (an `id` in it is ignored)"
    del template["properties"]["id"]
    properties: dict[str, Any] = {
        "name": _string(columns["policy.name"], minLength=1, pattern=NON_BLANK),
        "schedule": _string(
            columns["policy.schedule"],
            pattern=CRON_PATTERN,
            description="cron, UTC; must fire (0 0 31 2 * is refused); ranges and lists are accepted too",
        ),
        "job_template": template,
        "description": _nullable(_string()),
        "tags": _nullable({"type": "array", "items": {"type": "string"}}),
        "enabled": {"type": "boolean"},
        "carbon_aware": {"type": "boolean", "description": "default true when a zone is known"},
        "zone": _nullable(_string(description="a zone id of GET /carbon/zones")),
        "threshold": _nullable(_number(maximum=MAX_INTENSITY)),
        "window_start": _nullable(_string(pattern=r"^$|^([01][0-9]|2[0-3]):[0-5][0-9]$")),
        "window_hours": _number(maximum=MAX_DELAY / timedelta(hours=1)),
        "expected_duration_hours": _number(minimum=MIN_DURATION_HOURS, maximum=MAX_DURATION_HOURS),
        "data_size_gb": _number(maximum=MAX_DATA_SIZE_GB),
        "risk": _nullable({"type": "string", "enum": ["", *RISK_LEVELS]}),
    }
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if creating:
        properties["id"] = _id(columns["policy.id"]) | {"description": "optional; a new id (409 if taken)"}
        schema["required"] = ["name", "schedule", "job_template"]
        schema["description"] = "A ScheduledJob to create; the server fills run_count, last_run, next_run."
    else:
        schema["description"] = "The fields to change; the others keep their values."
    return schema
