"""Dashboard pages for backups and recurring backups (policies).

Views load, authorize and call scheduler.services (the same functions the API calls); viewers
may look, operators may act. Every action is a POST with the CSRF token.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import OPERATOR, VIEWER, has_role
from accounts.views import role_required
from carbon import charts
from carbon import services as carbon_services
from hyperweb.api.timestamps import now_iso
from hyperweb.lib import units
from hyperweb.lib.durations import readable_duration
from hyperweb.lib.timefmt import format_utc
from hyperweb.templatetags.pages import operation_noun
from scheduler import services
from scheduler.forms import (
    BackupFilterForm,
    BackupForm,
    PolicyForm,
    RestoreForm,
    RetentionForm,
    describe_cron,
    describe_window,
    next_runs,
)
from scheduler.models import BackupJob, BackupPolicy
from scheduler.services import lifecycle, retention

PAGE_SIZE = 25
EVENT_LIMIT = 200
PROGRESS_IDS_LIMIT = 100


@role_required(VIEWER)
@require_GET
def backup_list(request: HttpRequest) -> HttpResponse:
    form = BackupFilterForm(request.GET or None)
    jobs = BackupJob.objects.select_related("zone", "policy").defer(
        "definition", "secrets", "result", "accounting"
    )
    if form.is_bound and form.is_valid():
        jobs = form.apply(jobs)
    else:
        jobs = jobs.order_by("-requested_at", "-pk")
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "scheduler/backup_list.html",
        {"form": form, "page": page, "can_operate": has_role(request.user, OPERATOR)},
    )


@role_required(VIEWER)
@require_GET
def backup_progress(request: HttpRequest) -> JsonResponse:
    """Status and progress of the listed jobs, for the page script's live progress bars."""
    ids = [i for i in request.GET.get("ids", "").split(",") if i][:PROGRESS_IDS_LIMIT]
    jobs = BackupJob.objects.filter(pk__in=ids).only(
        "id", "status", "progress", "definition", "executor", "planned_start", "expected_duration"
    )
    body = {job.pk: {"status": job.status, "progress": services.job_progress(job)} for job in jobs}
    return JsonResponse({"jobs": body})


def _decision_view(job: BackupJob) -> dict[str, Any] | None:
    """What the latest decision says, and the forecast as it was known then, drawn."""
    decision = job.decision or {}
    decided_at = parse_datetime(decision.get("decided_at") or "") or job.requested_at
    if job.zone is None or not job.carbon_aware:
        return {"decision": decision, "decided_at": decided_at, "chart": ""}
    inputs = decision.get("inputs") or {}
    duration = job.expected_duration
    chosen_start = parse_datetime(decision.get("start") or "") or job.planned_start
    earliest = parse_datetime(inputs.get("earliest") or "") or job.earliest_start
    latest = parse_datetime(inputs.get("latest") or "") or job.latest_start
    info = carbon_services.intensity_series(
        job.zone, earliest - timedelta(hours=3), latest + duration + timedelta(hours=3), now=decided_at
    )
    estimate = services.decision_estimate(job, decision)
    return {
        "decision": decision,
        "decided_at": decided_at,
        "earliest": earliest,
        "latest": latest,
        "chosen_start": chosen_start,
        "chosen_end": chosen_start + duration if chosen_start else None,
        "start_now_end": earliest + duration,
        "expected_kwh": estimate.kwh,
        "now_kg": estimate.now_kg,
        "chosen_kg": estimate.chosen_kg,
        "simulated": info.simulated,
        "chart": charts.decision_chart(
            info.points,
            decided_at=decided_at,
            chosen=(chosen_start, chosen_start + duration) if chosen_start else None,
            start_now=(earliest, earliest + duration),
            window=(earliest, latest),
            threshold=job.threshold,
        )
        if info.points
        else "",
    }


# A job's `result` (scheduler/services/execution.py, lifecycle.py) as labelled fields: key ->
# (label, kind). Keys not named here are shown under their own name, as given.
RESULT_FIELDS: dict[str, tuple[str, str]] = {
    "operation": ("Operation", "text"),
    "vm_name": ("VM name", "text"),
    "success": ("Succeeded", "yes"),
    "verdict": ("Verdict", "text"),
    "verified": ("Archive verified first", "yes"),
    "duration": ("Duration", "ns"),  # integer nanoseconds, as HyperSDK clients read it
    "source_bytes": ("Data read", "bytes"),
    "total_size": ("Written", "bytes"),
    "archive_bytes": ("Archive size", "bytes"),
    "export_method": ("Export method", "text"),
    "backup_id": ("Of backup", "text"),
    "restored_to": ("Restored to", "path"),
    "archive_path": ("Archive", "path"),
    "manifest_path": ("Manifest", "path"),
    "output_dir": ("Output folder", "path"),
    "output_files": ("Output files", "paths"),
    "files": ("Files", "paths"),
    "problems": ("Problems", "list"),
    "ovf_path": ("OVF file", "path"),
    "sha256": ("SHA-256", "path"),
}


def result_fields(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, HTML-safe value) for each non-empty field of a job's result, known fields first
    in RESULT_FIELDS' order, with units."""
    rows: list[tuple[str, str]] = []
    known = [k for k in RESULT_FIELDS if k in result]
    for key in known + sorted(k for k in result if k not in RESULT_FIELDS):
        value = result[key]
        if value is None or value == "" or value == []:
            continue
        label, kind = RESULT_FIELDS.get(key, (key, "text"))
        if kind == "ns" and isinstance(value, int | float):
            shown = readable_duration(value / 1e9)
        elif kind == "bytes" and isinstance(value, int | float):
            shown = units.data_bytes(value)
        elif kind == "yes" and isinstance(value, bool):
            shown = "yes" if value else "no"
        elif kind == "path":
            shown = format_html("<code>{}</code>", value)
        elif kind in ("paths", "list") and isinstance(value, list):
            items = format_html_join(
                ", ", "<code>{}</code>" if kind == "paths" else "{}", ((v,) for v in value)
            )
            shown = format_html("{}: {}", len(value), items)
        elif isinstance(value, dict):
            shown = format_html_join("; ", "{}: {}", sorted(value.items()))
        else:
            shown = format_html("{}", value)
        rows.append((label, shown))
    return rows


@role_required(VIEWER)
@require_GET
def backup_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    job = get_object_or_404(BackupJob.objects.select_related("zone", "policy", "created_by"), pk=job_id)
    events = list(job.events.order_by("-timestamp", "-pk")[:EVENT_LIMIT])[::-1]
    context = {
        "job": job,
        "decisions": list(job.decisions.all()),
        "events": events,
        "why": _decision_view(job),
        "progress": services.job_progress(job),
        # simulated / stale / forecast only have their own badges
        "flags": [
            f.replace("_", " ")
            for f in (job.accounting or {}).get("flags", [])
            if f not in ("simulated", "stale", "forecast_only")
        ],
        "can_cancel": services.can_cancel(request.user, job),
        "zone_tz": job.zone.timezone if job.zone else "UTC",
        "can_operate": has_role(request.user, OPERATOR),
        "lifecycle_runs": list(job.lifecycle_runs.order_by("-requested_at", "-pk")[:20]),
        "result_fields": result_fields(job.result) if isinstance(job.result, dict) else [],
    }
    return render(request, "scheduler/backup_detail.html", context)


@role_required(OPERATOR)
@require_http_methods(["GET", "POST"])
def backup_restore(request: HttpRequest, job_id: str) -> HttpResponse:
    """Two steps, no script needed: the form, then a confirmation saying what will be written
    (and overwritten); only the confirmed POST starts the restore."""
    backup = get_object_or_404(BackupJob.objects.select_related("zone"), pk=job_id)
    form = RestoreForm(
        request.POST or None, initial={"target": f"{backup.name or 'backup'}-{backup.pk}"[:200]}
    )
    plan, refused = None, None
    if request.method != "POST":
        # A backup that cannot be restored (pruned, damaged, not a file backup...) says so at once
        # rather than after the form is filled in.
        try:
            lifecycle.plan_restore(backup, None)
        except lifecycle.LifecycleRefused as exc:
            if exc.field is None:
                refused = str(exc)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            plan = lifecycle.plan_restore(backup, data["target"])
            if plan.conflicts and not data["overwrite"]:
                raise lifecycle.LifecycleRefused(
                    f"{len(plan.conflicts)} file(s) already exist in {plan.dest}: restore elsewhere, "
                    "or tick “overwrite” to replace them",
                    field="overwrite",
                )
            if request.POST.get("confirm") == "yes":
                run = lifecycle.request_restore(backup, **data, user=request.user)
                messages.success(request, f"Restore into {plan.dest} started.")
                return redirect("backup", job_id=run.pk)
        except lifecycle.LifecycleRefused as exc:
            plan = None
            if exc.field:
                form.add_error(exc.field, str(exc))
            else:
                refused = str(exc)
    context = {"backup": backup, "form": form, "plan": plan, "refused": refused}
    return render(request, "scheduler/backup_restore.html", context)


@role_required(OPERATOR)
@require_POST
def backup_verify(request: HttpRequest, job_id: str) -> HttpResponse:
    backup = get_object_or_404(BackupJob.objects.select_related("zone"), pk=job_id)
    try:
        run, created = lifecycle.request_verification(
            backup, defer=request.POST.get("defer") == "1", user=request.user
        )
    except lifecycle.LifecycleRefused as exc:
        messages.error(request, str(exc))
        return redirect("backup", job_id=backup.pk)
    messages.success(request, "Verification started." if created else "A verification is already on its way.")
    return redirect("backup", job_id=run.pk)


@role_required(OPERATOR)
@require_http_methods(["GET", "POST"])
def backup_cancel(request: HttpRequest, job_id: str) -> HttpResponse:
    """Two steps, no script needed: a confirmation page saying what stops, then the confirmed POST
    (`confirm=yes`) cancels. A POST without it shows the confirmation too."""
    job = get_object_or_404(BackupJob.objects.select_related("zone"), pk=job_id)
    if request.method != "POST" or request.POST.get("confirm") != "yes":
        return render(
            request, "scheduler/backup_cancel.html", {"job": job, "cancellable": job.is_cancellable}
        )
    outcome = services.cancel_jobs([job.pk], request.user)
    if outcome.cancelled:
        messages.success(request, f"{operation_noun(job).capitalize()} cancelled.")
    else:
        messages.error(request, outcome.errors.get(job.pk, "could not cancel"))
    return redirect("backup", job_id=job.pk)


def _vm_choices() -> list[tuple[str, float | None]]:
    """Entries of the configured source folders, offered as suggestions for the VM path, each with
    its measured size in GB (10^9 bytes; None when it cannot be read): the estimate uses it when
    no data size is typed."""
    found: list[tuple[str, float | None]] = []
    for root in settings.BACKUP_SOURCE_ROOTS:
        try:
            entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
        except OSError:
            continue
        found.extend((str(p), _measured_gb(p)) for p in entries[: 100 - len(found)])
    return found[:100]


def _measured_gb(path: Path, *, limit: int = 10_000) -> float | None:
    """Bytes of a file, or of the files under a folder (the first `limit` entries), in GB."""
    try:
        if path.is_file():
            return path.stat().st_size / 1e9
        total, seen = 0, 0
        for item in path.rglob("*"):
            seen += 1
            if seen > limit:
                return None  # too big to measure on a page view: no guess
            if item.is_file():
                total += item.stat().st_size
        return total / 1e9
    except OSError:
        return None


@role_required(OPERATOR)
@require_http_methods(["GET", "POST"])
def backup_new(request: HttpRequest) -> HttpResponse:
    form = BackupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = services.submit_jobs([form.definition()], request.user)
        if outcome.job_ids:
            messages.success(request, "Backup submitted. Below: when it will run, and why.")
            return redirect("backup", job_id=outcome.job_ids[0])
        for error in outcome.errors:
            form.add_service_error(error)
    return render(request, "scheduler/backup_new.html", {"form": form, "vm_choices": _vm_choices()})


# --- recurring backups (policies) ----------------------------------------------------------------


@role_required(VIEWER)
@require_GET
def policy_list(request: HttpRequest) -> HttpResponse:
    policies = list(BackupPolicy.objects.select_related("zone").order_by("name", "pk"))
    for policy in policies:
        policy.schedule_text = describe_cron(policy.schedule)  # type: ignore[attr-defined]  # for the template
    return render(
        request,
        "scheduler/policy_list.html",
        {"policies": policies, "can_operate": has_role(request.user, OPERATOR)},
    )


def _save_policy_form(request: HttpRequest, form: PolicyForm, policy: BackupPolicy) -> BackupPolicy | None:
    try:
        return services.save_policy(policy, form.schedule_data(policy.job_template), request.user)
    except services.InvalidDefinition as exc:
        form.add_service_error(str(exc))
        return None


def _explain(form: PolicyForm, policy: BackupPolicy | None, now: datetime) -> dict[str, Any]:
    """The schedule and the flexible window in words, for what the form currently holds."""
    data = form.cleaned_data if form.is_bound and form.is_valid() else None
    schedule = data["schedule"] if data else (policy.schedule if policy else form["schedule"].value())
    window_start = data["window_start"] if data else (policy.window_start if policy else None)
    window_hours = data["window_hours"] if data else (policy.window_hours if policy else 8.0)
    runs = next_runs(schedule or "", now=now)
    return {
        "schedule_text": describe_cron(schedule or ""),
        "window_text": describe_window(window_start, float(window_hours or 0), runs[0] if runs else None),
        "next_runs": runs,
    }


@role_required(OPERATOR)
@require_http_methods(["GET", "POST"])
def policy_new(request: HttpRequest) -> HttpResponse:
    form = PolicyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        policy = _save_policy_form(request, form, BackupPolicy())
        if policy is not None:
            messages.success(request, f"Recurring backup “{policy.name}” created.")
            return redirect("policy", policy_id=policy.pk)
    context = {"form": form, "policy": None, **_explain(form, None, timezone.now())}
    return render(request, "scheduler/policy_form.html", context)


@role_required(VIEWER)
@require_http_methods(["GET", "POST"])
def policy_detail(request: HttpRequest, policy_id: str) -> HttpResponse:
    policy = get_object_or_404(BackupPolicy.objects.select_related("zone"), pk=policy_id)
    can_operate = has_role(request.user, OPERATOR)
    if request.method == "POST" and not can_operate:
        raise PermissionDenied("editing a recurring backup needs the operator role")
    form = PolicyForm(request.POST or None, initial=PolicyForm.initial_for(policy))
    if request.method == "POST" and form.is_valid() and _save_policy_form(request, form, policy):
        messages.success(request, "Recurring backup saved.")
        return redirect("policy", policy_id=policy.pk)
    context = {
        "form": form,
        "policy": policy,
        "can_operate": can_operate,
        "jobs": list(policy.jobs.select_related("zone").order_by("-requested_at")[:10]),
        **_explain(form, policy, timezone.now()),
        **_retention(policy),
    }
    return render(request, "scheduler/policy_form.html", context)


def _retention(policy: BackupPolicy, rule: Any = None) -> dict[str, Any]:
    """The rule for the policy's archives and what it would keep and delete now (a dry run)."""
    groups = retention.preview(policy, rule=rule)
    own_rule, source = retention.policy_rule(policy)
    return {
        "retention": groups[0] if groups else None,
        "retention_rule": rule or own_rule,
        "retention_source": "asked" if rule is not None else source,
        "default_rule": retention.default_rule(),
        "lifecycle_every": timedelta(minutes=settings.BACKUP_LIFECYCLE_MINUTES),
    }


@role_required(VIEWER)
@require_http_methods(["GET", "POST"])
def policy_retention(request: HttpRequest, policy_id: str) -> HttpResponse:
    """The rule's form. "Preview" shows what any counts typed in would keep and delete (nothing is
    stored nor deleted, so viewers may); "Save" stores them (operators)."""
    policy = get_object_or_404(BackupPolicy.objects.select_related("zone"), pk=policy_id)
    can_operate = has_role(request.user, OPERATOR)
    saving = request.method == "POST" and "preview" not in request.POST
    if saving and not can_operate:
        raise PermissionDenied("changing retention needs the operator role")
    form = RetentionForm(request.POST or None, initial=RetentionForm.initial_for(policy))
    asked = None
    if request.method == "POST" and form.is_valid():
        if saving:
            retention.set_policy_rule(policy, form.cleaned_data)
            messages.success(request, "Retention saved; the workers' next pruning applies it.")
            return redirect("policy", policy_id=policy.pk)
        asked = retention.rule_from(form.cleaned_data) or retention.default_rule()
    context = {"policy": policy, "form": form, "can_operate": can_operate, "what_if": asked is not None}
    return render(request, "scheduler/policy_retention.html", {**context, **_retention(policy, asked)})


@role_required(OPERATOR)
@require_POST
def policy_action(request: HttpRequest, policy_id: str, action: str) -> HttpResponse:
    policy = get_object_or_404(BackupPolicy.objects.select_related("zone"), pk=policy_id)
    if action in ("run", "plan"):
        job = services.run_policy(policy, user=request.user, at_once=action == "run")
        if action == "run":
            messages.success(request, f"“{policy.name}” runs now: its backup starts at once.")
        else:
            messages.success(
                request,
                f"“{policy.name}” planned now: its backup waits for the cleanest start in its window.",
            )
        return redirect("backup", job_id=job.pk)
    services.set_enabled(policy, action == "enable")
    messages.success(request, f"“{policy.name}” {'enabled' if policy.enabled else 'disabled'}.")
    if request.POST.get("next") == "detail":
        return redirect("policy", policy_id=policy.pk)
    return redirect("policies")


def error_text(fields: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {message}" for name, messages in fields.items() for message in messages)


@role_required(VIEWER)
@require_GET
def policy_describe(request: HttpRequest) -> JsonResponse:
    """The schedule and window in words while someone types (the policy form's page script)."""
    form = PolicyForm(
        {
            "name": "x",
            "vm_path": "x",
            "zone": "",
            "expected_duration_hours": 1,
            "schedule": request.GET.get("schedule", ""),
            "window_start": request.GET.get("window_start", ""),
            "window_hours": request.GET.get("window_hours", "0") or "0",
        }
    )
    form.is_valid()
    data = form.cleaned_data
    schedule = data.get("schedule") or request.GET.get("schedule", "")
    runs = next_runs(schedule, now=timezone.now())
    window = describe_window(
        data.get("window_start"), float(data.get("window_hours") or 0), runs[0] if runs else None
    )
    body: dict[str, Any] = {
        "schedule_text": describe_cron(schedule),
        "window_text": window,
        "next_runs": [format_utc(r) for r in runs],
    }
    # What the form would refuse is a 400 naming the field (the words above still say why).
    fields = {
        name: [str(message) for message in form.errors[name]]
        for name in ("schedule", "window_start", "window_hours")
        if name in form.errors
    }
    if fields:
        body.update(error=error_text(fields), fields=fields, timestamp=now_iso())
        return JsonResponse(body, status=400)
    return JsonResponse(body)
