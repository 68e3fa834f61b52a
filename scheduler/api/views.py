"""/jobs/* and /schedules views: parse, authorize, call scheduler.services, return. No rules here."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import IsOperator, IsViewer, ReadViewerWriteOperator
from accounts.roles import VIEWER, has_role
from carbon.api import serializers as carbon_s
from carbon.api.views import CarbonView
from hyperweb.api.errors import api_error, field_error
from hyperweb.api.timestamps import now_iso, utcnow
from hyperweb.api.views import APIView, json_type, require_body
from scheduler import services
from scheduler.api import schemas
from scheduler.api import serializers as s
from scheduler.api.report import NoReadings, carbon_report, find_job
from scheduler.models import BackupJob, BackupPolicy
from scheduler.services import lifecycle
from scheduler.services.definitions import IdTaken, problem_text
from scheduler.services.jobs import job_eta

JOBS = ["jobs"]
SCHEDULES = ["schedules"]


def get_job(job_id: str) -> BackupJob:
    job = BackupJob.objects.select_related("zone").filter(pk=job_id).first()
    if job is None:
        raise exceptions.NotFound(f"job {job_id} not found")
    return job


class SubmitView(APIView):
    permission_classes = [IsOperator]
    body_required = True

    @extend_schema(
        operation_id="jobs_submit",
        request={"application/json": schemas.submit_schema()},
        responses=s.SubmitResponseSerializer,
        summary='Submit one JobDefinition, an array of them, or {"jobs": [...]}',
        tags=JOBS,
    )
    def post(self, request: Request) -> Response:
        """200 for well-formed definitions: each is accepted (its id in `job_ids`) or rejected with
        the reason in `errors` (a path outside the roots, an unknown zone, an id taken, a
        not_before more than 366 days ahead). A definition that breaks this schema makes the
        whole request a 400 naming `[i].field`, and nothing is stored. Carbon-aware jobs
        (`metadata.carbon_aware`) are planned into the cleanest window and get their id at once;
        others are dispatched at once."""
        data = require_body(request)
        if isinstance(data, dict) and isinstance(data.get("jobs"), list):
            extra = sorted(set(data) - {"jobs"})
            if extra:
                raise field_error(extra[0], 'unknown key beside "jobs" (put job definitions in the list)')
            definitions, prefix = data["jobs"], "jobs"
        elif isinstance(data, dict):
            definitions, prefix = [data], None
        elif isinstance(data, list):
            definitions, prefix = data, ""
        else:
            raise api_error(
                400,
                f'body must be a JobDefinition object, an array of them or {{"jobs": [...]}}, got {json_type(data)}',
            )
        if not definitions:
            raise field_error(prefix or "jobs", "at least one job definition is required")
        outcome = services.submit_jobs(definitions, request.user, prefix=prefix)
        if outcome.malformed:
            raise exceptions.ValidationError(outcome.malformed)
        return Response(
            {
                "job_ids": outcome.job_ids,
                "accepted": outcome.accepted,
                "rejected": outcome.rejected,
                "errors": outcome.errors,
                "timestamp": now_iso(),
            }
        )


def _query_response(jobs: QuerySet[BackupJob], limit: int) -> Response:
    total = jobs.count()
    return Response(
        {
            "jobs": [services.job_to_hypersdk_json(job) for job in jobs[:limit]],
            "total": total,
            "timestamp": now_iso(),
        }
    )


class QueryView(APIView):
    permission_classes = [IsViewer]
    query_serializer_class = s.QueryParamsSerializer

    @extend_schema(
        operation_id="jobs_query_get",
        parameters=[s.QueryParamsSerializer],
        responses=s.QueryResponseSerializer,
        summary="List jobs, newest first",
        tags=JOBS,
    )
    def get(self, request: Request) -> Response:
        """Jobs newest first (`?status=running,pending` filters; `limit` caps the list, `total`
        counts all matches)."""
        params = self.query()
        statuses = [x.strip() for x in params.get("status", "").split(",") if x.strip()]
        return _query_response(services.query_jobs(None, statuses), params.get("limit", 100))

    @extend_schema(
        operation_id="jobs_query",
        request=s.QueryRequestSerializer,
        responses=s.QueryResponseSerializer,
        summary="Find jobs by id and/or status, newest first",
        tags=JOBS,
    )
    def post(self, request: Request) -> Response:
        """`job_ids` and `status` filter (both optional; `all` or neither lists every job)."""
        data = self.body(s.QueryRequestSerializer)
        return _query_response(
            services.query_jobs(data.get("job_ids"), data.get("status")), data.get("limit", 100)
        )


class JobDetailView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(operation_id="jobs_retrieve", responses=s.JobSerializer, summary="One job", tags=JOBS)
    def get(self, request: Request, job_id: str) -> Response:
        """The bare Job; its `definition.metadata` carries the carbon decision."""
        return Response(services.job_to_hypersdk_json(get_job(job_id)))


class CancelView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        operation_id="jobs_cancel",
        request=s.CancelRequestSerializer,
        responses=s.CancelResponseSerializer,
        summary="Cancel pending or running jobs",
        tags=JOBS,
    )
    def post(self, request: Request) -> Response:
        """A running backup is really stopped (within about a second) and its partial output
        removed; finished or unknown jobs are listed in `failed` with the reason in `errors`."""
        data = self.body(s.CancelRequestSerializer)
        outcome = services.cancel_jobs(data["job_ids"], request.user)
        return Response(
            {
                "cancelled": outcome.cancelled,
                "failed": outcome.failed,
                "errors": outcome.errors,
                "timestamp": now_iso(),
            }
        )


class ProgressView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="jobs_progress",
        responses=s.ProgressResponseSerializer,
        summary="Progress of a job",
        tags=JOBS,
    )
    def get(self, request: Request, job_id: str) -> Response:
        """Progress as an object and flattened at the top level (`phase` always present)."""
        job = get_job(job_id)
        progress = services.job_progress(job)
        return Response(
            {
                **progress,
                "job_id": job.id,
                "status": job.wire_status,
                "timestamp": now_iso(),
                "progress": progress,
            }
        )


class LogsView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="jobs_logs", responses=s.LogsResponseSerializer, summary="A job's log", tags=JOBS
    )
    def get(self, request: Request, job_id: str) -> Response:
        """Timestamped log lines, oldest first."""
        job = get_job(job_id)
        logs = [
            {"timestamp": services.format_ts(e.timestamp), "level": e.level, "message": e.message}
            for e in job.events.order_by("timestamp", "pk")
        ]
        return Response({"job_id": job.id, "logs": logs, "log_count": len(logs), "timestamp": now_iso()})


class EtaView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="jobs_eta", responses=s.EtaResponseSerializer, summary="When a job will end", tags=JOBS
    )
    def get(self, request: Request, job_id: str) -> Response:
        """For a waiting job: its planned start plus the expected duration; for a running one: from
        its progress rate."""
        job = get_job(job_id)
        eta, remaining = job_eta(job)
        return Response(
            {
                "job_id": job.id,
                "status": job.wire_status,
                "timestamp": now_iso(),
                "eta": eta,
                "estimated_remaining": remaining,
            }
        )


def _refused(exc: lifecycle.LifecycleRefused) -> exceptions.APIException:
    """A LifecycleRefused as the API answers it: 400 naming the field, or 409/404 with the reason."""
    if exc.field and exc.status == 400:
        return field_error(exc.field, str(exc))
    return api_error(exc.status, f"{exc.field}: {exc}" if exc.field else str(exc))


class RestoreView(APIView):
    permission_classes = [IsOperator]
    extra_error_codes = ("409",)

    @extend_schema(
        operation_id="jobs_restore",
        request=s.RestoreRequestSerializer,
        responses={202: s.JobSerializer},
        summary="Restore a completed backup into a folder inside BACKUP_RESTORE_ROOT",
        tags=JOBS,
    )
    def post(self, request: Request, job_id: str) -> Response:
        """Creates a restore run (`operation: restore`, `subject`: this backup), dispatched at once
        unless `defer`. The run verifies the archive against its manifest before writing anything;
        follow it with /jobs/progress/{id} and /jobs/logs/{id}. 400 names the field (a folder
        outside the root); 409 when the backup cannot be restored (not completed, damaged,
        pruned, no local archive) or files exist there and `overwrite` is false."""
        data = self.body(s.RestoreRequestSerializer)
        try:
            run = lifecycle.request_restore(
                get_job(job_id),
                target=data.get("target"),
                overwrite=data["overwrite"],
                defer=data["defer"],
                user=request.user,
            )
        except lifecycle.LifecycleRefused as exc:
            raise _refused(exc) from None
        return Response(services.job_to_hypersdk_json(get_job(run.pk)), status=202)


class VerifyView(APIView):
    permission_classes = [IsOperator]
    extra_error_codes = ("409",)

    @extend_schema(
        operation_id="jobs_verify",
        request=s.VerifyRequestSerializer,
        responses={202: s.JobSerializer},
        summary="Verify a completed backup's archive against its manifest",
        tags=JOBS,
    )
    def post(self, request: Request, job_id: str) -> Response:
        """Creates a verification run (`operation: verify`), at once unless `defer`; a backup
        already waiting for one gets that run back. Its verdict lands on the backup's
        `integrity` (`verified` or `damaged`)."""
        data = self.body(s.VerifyRequestSerializer)
        try:
            run, _ = lifecycle.request_verification(get_job(job_id), defer=data["defer"], user=request.user)
        except lifecycle.LifecycleRefused as exc:
            raise _refused(exc) from None
        return Response(services.job_to_hypersdk_json(get_job(run.pk)), status=202)


# -- schedules ----------------------------------------------------------------------------------


def _invalid(exc: services.InvalidDefinition) -> exceptions.APIException:
    if isinstance(exc, IdTaken):
        return api_error(409, str(exc))
    field = getattr(exc, "field", "")
    return exceptions.ValidationError({field: [problem_text(exc)]} if field else str(exc))


def _json_body(request: Request) -> dict[str, Any]:
    data = require_body(request)
    if not isinstance(data, dict):
        raise api_error(400, f"request body must be a JSON object, got {json_type(data)}")
    return data


class ScheduleListView(APIView):
    permission_classes = [ReadViewerWriteOperator]
    body_required = True  # POST
    extra_error_codes = ("409",)  # POST with an id that is taken

    @extend_schema(
        operation_id="schedules_list",
        responses=s.ScheduledJobSerializer(many=True),
        summary="All schedules",
        tags=SCHEDULES,
    )
    def get(self, request: Request) -> Response:
        """A bare array of ScheduledJobs."""
        policies = BackupPolicy.objects.select_related("zone").order_by("name", "pk")
        return Response([services.policy_to_json(p) for p in policies])

    @extend_schema(
        operation_id="schedules_create",
        request={"application/json": schemas.schedule_schema(creating=True)},
        responses={201: s.ScheduledJobSerializer},
        summary="Create a recurring backup",
        tags=SCHEDULES,
    )
    def post(self, request: Request) -> Response:
        """Carbon-aware by default when a zone is known (`zone` or `job_template.metadata.carbon_zone`):
        each run may start any time in the flexible window (`window_start`, `window_hours`)."""
        try:
            policy = services.save_policy(BackupPolicy(), _json_body(request), request.user)
        except services.InvalidDefinition as exc:
            raise _invalid(exc) from None
        return Response(services.policy_to_json(policy), status=201)


class ScheduleDetailView(APIView):
    permission_classes = [ReadViewerWriteOperator]
    body_required = True  # PUT

    @extend_schema(
        operation_id="schedules_retrieve",
        responses=s.ScheduledJobSerializer,
        summary="One schedule",
        tags=SCHEDULES,
    )
    def get(self, request: Request, schedule_id: str) -> Response:
        """One ScheduledJob."""
        return Response(services.policy_to_json(_policy(schedule_id)))

    @extend_schema(
        operation_id="schedules_update",
        request={"application/json": schemas.schedule_schema(creating=False)},
        responses=s.ScheduledJobSerializer,
        summary="Update a schedule (the fields given)",
        tags=SCHEDULES,
    )
    def put(self, request: Request, schedule_id: str) -> Response:
        """Fields absent from the body keep their values."""
        try:
            policy = services.save_policy(_policy(schedule_id), _json_body(request), partial=True)
        except services.InvalidDefinition as exc:
            raise _invalid(exc) from None
        return Response(services.policy_to_json(policy))

    @extend_schema(
        operation_id="schedules_destroy",
        responses={204: None},
        summary="Delete a schedule",
        tags=SCHEDULES,
    )
    def delete(self, request: Request, schedule_id: str) -> Response:
        """204 with no body (the HyperSDK clients read nothing back). Jobs it already created stay."""
        policy = _policy(schedule_id)
        policy.delete()
        return Response(status=204)


def _policy(schedule_id: str) -> BackupPolicy:
    policy = BackupPolicy.objects.select_related("zone").filter(pk=schedule_id).first()
    if policy is None:  # worded like a missing job, not Django's "No BackupPolicy matches the given query."
        raise exceptions.NotFound(f"schedule {schedule_id} not found; GET /schedules lists them")
    return policy


class ScheduleEnableView(APIView):
    permission_classes = [IsOperator]
    enabled = True

    @extend_schema(
        operation_id="schedules_enable",
        request=None,
        responses=s.ScheduledJobSerializer,
        summary="Enable",
        tags=SCHEDULES,
    )
    def post(self, request: Request, schedule_id: str) -> Response:
        """The schedule fires again from its next cron time."""
        return Response(services.policy_to_json(services.set_enabled(_policy(schedule_id), self.enabled)))


class ScheduleDisableView(ScheduleEnableView):
    enabled = False

    @extend_schema(
        operation_id="schedules_disable",
        request=None,
        responses=s.ScheduledJobSerializer,
        summary="Disable",
        tags=SCHEDULES,
    )
    def post(self, request: Request, schedule_id: str) -> Response:
        """The schedule stops firing; its jobs already created stay."""
        return super().post(request, schedule_id)


class ScheduleTriggerView(APIView):
    permission_classes = [IsOperator]
    extra_error_codes = ("409",)  # its stored template no longer passes today's checks

    @extend_schema(
        operation_id="schedules_trigger",
        request=None,
        responses=s.TriggerResponseSerializer,
        summary="Create this schedule's job now",
        tags=SCHEDULES,
    )
    def post(self, request: Request, schedule_id: str) -> Response:
        """Creates the job now, within the flexible window that opens now (carbon-aware schedules
        still wait for the cleanest start in it)."""
        try:
            job = services.run_policy(_policy(schedule_id), user=request.user)
        except services.InvalidDefinition as exc:  # a template stored before today's checks
            raise api_error(409, f"this schedule's stored template is no longer valid: {exc}") from None
        job = BackupJob.objects.select_related("zone").get(pk=job.pk)
        return Response(
            {
                "status": "triggered",
                "schedule_id": schedule_id,
                "job_id": job.id,
                "job": services.job_to_hypersdk_json(job),
                "timestamp": now_iso(),
            }
        )


# POST /carbon/report: a carbon endpoint by URL and schema, here because it reads the scheduler's
# jobs too (scheduler/api/report.py).


class ReportView(CarbonView):
    # It stores nothing, so CARBON_PUBLIC_READ opens it like the other carbon reads (HyperSDK's CLI
    # sends no credentials). What a job id would reveal (its request time, the honest saving) is
    # only looked up for callers with the viewer role; anonymous callers get the report alone.

    @extend_schema(
        operation_id="carbon_report",
        request=carbon_s.ReportRequestSerializer,
        responses=carbon_s.ReportSerializer,
        summary="Energy, intensity and emissions of a finished operation",
        tags=["carbon"],
    )
    def post(self, request: Request) -> Response:
        """Energy, the time-weighted mean intensity of stored readings over [start_time, end_time],
        and emissions of a finished operation. `savings_vs_worst_kg_co2` compares with 1000 gCO2/kWh
        (kept for HyperSDK clients); `savings_vs_requested_kg_co2` compares with starting when the
        job was requested, for jobs hyperweb knows (and only to viewers: with CARBON_PUBLIC_READ
        an anonymous caller gets the report without those two)."""
        data = self.body(carbon_s.ReportRequestSerializer)
        job = find_job(data.get("job_id", "")) if has_role(request.user, VIEWER) else None
        code = data.get("zone") or (job.zone.code if job is not None and job.zone is not None else None)
        zone = self.zone_from_body(code)
        try:
            report = carbon_report(
                zone=zone,
                job=job,
                job_id=data.get("job_id", ""),
                start=data["start_time"],
                end=data["end_time"],
                data_gb=data["data_size_gb"],
                now=utcnow(),
            )
        except NoReadings as exc:
            raise field_error("start_time", str(exc)) from None
        return Response(carbon_s.ReportSerializer(report).data)
