"""Scheduler operations shared by the API, the dashboard, the commands and the workers.

One function per operation; the submodules group them (definitions, jobs, planning, execution,
accounting, policies). Import from here.
"""

from __future__ import annotations

from scheduler.services.accounting import DecisionEstimate, account_job, decision_estimate
from scheduler.services.capacity import capacity_for
from scheduler.services.definitions import InvalidDefinition, parse_definition
from scheduler.services.jobs import (
    CancelOutcome,
    SubmitOutcome,
    can_cancel,
    cancel_jobs,
    format_ts,
    job_progress,
    job_to_hypersdk_json,
    log_event,
    query_jobs,
    submit_jobs,
)
from scheduler.services.planning import preview_plan, replan_all, replan_zone
from scheduler.services.policies import (
    fire_due_policies,
    policy_to_json,
    run_policy,
    save_policy,
    set_enabled,
    upcoming_firings,
)

__all__ = [
    "DecisionEstimate",
    "CancelOutcome",
    "InvalidDefinition",
    "SubmitOutcome",
    "account_job",
    "can_cancel",
    "cancel_jobs",
    "capacity_for",
    "decision_estimate",
    "fire_due_policies",
    "format_ts",
    "job_progress",
    "job_to_hypersdk_json",
    "log_event",
    "parse_definition",
    "policy_to_json",
    "preview_plan",
    "query_jobs",
    "replan_all",
    "replan_zone",
    "run_policy",
    "upcoming_firings",
    "save_policy",
    "set_enabled",
    "submit_jobs",
]
