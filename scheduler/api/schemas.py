"""OpenAPI request schemas of /jobs/submit and /schedules, built from the rules the server enforces.

A JobDefinition's schema is generated from the rules parse_definition checks
(scheduler.services.definitions.DEFINITION_RULES and METADATA_RULES), so the two cannot drift;
scheduler.services.policies (apply_policy_data) holds a schedule's own rules, stated here from the
same constants (column lengths, caps, enums). A request the schema calls valid is never refused
for its shape, and one it calls invalid is refused with a 400. What OpenAPI cannot state is said
in the descriptions: a file-executor path must lie inside the source (or target) roots, a zone
must exist, an id must be new.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hyperweb.api.fields import NON_BLANK, TIMESTAMP_SCHEMA
from hyperweb.api.limits import MAX_DATA_SIZE_GB, MAX_DURATION_HOURS, MAX_INTENSITY, MIN_DURATION_HOURS
from scheduler.models import BackupJob, BackupPolicy
from scheduler.services.definitions import (
    DEFINITION_RULES,
    MAX_DELAY,
    MAX_ID_LENGTH,
    METADATA_RULES,
    MISPLACED_KEYS,
    Rule,
    column_max_length,
)
from scheduler.uncertainty import RISK_LEVELS

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


def rule_schema(rule: Rule, columns: dict[str, int]) -> dict[str, Any]:
    """The JSON Schema of one key, from the rule parse_definition checks it against."""
    max_length = columns[f"job.{rule.column}"] if rule.column else None
    extra: dict[str, Any] = {}
    if rule.description:
        extra["description"] = rule.description.format(max_length=max_length)
    schema: dict[str, Any]
    if rule.kind == "text":
        if rule.required:
            extra = {"minLength": 1, "pattern": NON_BLANK, **extra}
        schema = _string(max_length, **extra)
    elif rule.kind == "id":
        return _id(MAX_ID_LENGTH)
    elif rule.kind == "enum":
        schema = {"type": "string", "enum": ["", *rule.choices], **extra}
    elif rule.kind == "bool":
        schema = {"type": "boolean", **extra}
    elif rule.kind == "object":
        schema = {"type": "object", **extra}
        if rule.key == "metadata":
            schema = metadata_schema(columns)
    elif rule.kind == "number":
        schema = _number(minimum=rule.minimum, maximum=rule.maximum) | extra
    elif rule.kind == "timestamp":
        schema = TIMESTAMP_SCHEMA | extra
    else:  # pragma: no cover - check_rule refuses it too
        raise AssertionError(f"unknown rule kind {rule.kind!r}")
    return _nullable(schema) if rule.nullable else schema


def metadata_schema(columns: dict[str, int] | None = None) -> dict[str, Any]:
    columns = columns or _columns()
    return {
        "type": "object",
        "description": "hyperweb's scheduling inputs; other keys are kept as given. The planning "
        "decision is written back here (carbon_planned_start, carbon_reason, ...).",
        "properties": {rule.key: rule_schema(rule, columns) for rule in METADATA_RULES},
    }


def job_definition_schema() -> dict[str, Any]:
    columns = _columns()
    return {
        "type": "object",
        "description": "A HyperSDK JobDefinition. Keys not listed are kept as given; secrets "
        "(password, token, ... and passwords inside URLs) are never stored in it nor echoed.",
        "required": [rule.key for rule in DEFINITION_RULES if rule.required],
        "properties": {
            **{rule.key: rule_schema(rule, columns) for rule in DEFINITION_RULES},
            # Only null (not set) here; any value is a 400 naming the key: they go in metadata.
            **{
                key: {
                    "type": "string",
                    "enum": [None],
                    "nullable": True,
                    "description": f"refused: it goes in {where}",
                }
                for key, where in MISPLACED_KEYS.items()
            },
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
