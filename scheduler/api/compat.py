"""HyperSDK's advanced-scheduling routes (its clients call them; hyperweb's own API does not need
them): /schedules/queue, /retry, /timewindow, /validate answer from hyperweb's jobs and schedules
(scheduler.services.compat); /dependencies and /advanced/create answer a JSON 501 saying what is
not supported. Routed before /schedules/{id}.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import IsOperator, IsViewer
from hyperweb.api.errors import api_error
from hyperweb.api.schema import ErrorSerializer
from hyperweb.api.views import APIView, json_type
from scheduler.api.views import SCHEDULES, get_job
from scheduler.services import compat

NOT_SUPPORTED = OpenApiResponse(
    ErrorSerializer, description="Not supported by hyperweb: the message says what"
)


# -- shapes (the clients' declared fields first, hyperweb's extras after) -------------------------


class QueuedJobSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    job_name = serializers.CharField()
    priority = serializers.IntegerField(help_text="always 0: hyperweb orders by planned start, not priority")
    added_at = serializers.CharField(help_text="when the job was requested (UTC, Z)")
    attempts = serializers.IntegerField()
    state = serializers.CharField(
        help_text="pending (runnable now) or scheduled (waiting for its planned start)"
    )
    planned_start = serializers.CharField(allow_null=True)
    zone = serializers.CharField(allow_null=True)


class QueueSerializer(serializers.Serializer):
    queue_size = serializers.IntegerField(help_text="jobs waiting (pending + scheduled)")
    running_jobs = serializers.IntegerField()
    max_slots = serializers.IntegerField(help_text="worker processes that run backups (Q_WORKERS)")
    queued_jobs = QueuedJobSerializer(many=True, help_text="waiting jobs in start order (at most 100)")
    jobs_by_state = serializers.DictField(child=serializers.IntegerField(), help_text="job count per state")
    timestamp = serializers.CharField()


class RetryEventSerializer(serializers.Serializer):
    timestamp = serializers.CharField()
    level = serializers.CharField()
    message = serializers.CharField()


class RetryStatusSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    job_name = serializers.CharField()
    attempt = serializers.IntegerField(help_text="attempts started so far")
    max_attempts = serializers.IntegerField()
    last_error = serializers.CharField(required=False, help_text="absent when the job has no error")
    next_retry = serializers.CharField(
        required=False, help_text="when the next attempt is due (absent if none)"
    )
    history = RetryEventSerializer(
        many=True, help_text="the job's warnings and errors, newest first (at most 20)"
    )
    state = serializers.CharField()


class RetryListSerializer(serializers.Serializer):
    jobs = RetryStatusSerializer(
        many=True, help_text="jobs with a failed attempt that were or will be retried"
    )
    total = serializers.IntegerField()
    timestamp = serializers.CharField()


class WindowSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    start_time = serializers.CharField(help_text="earliest start (UTC, Z)")
    end_time = serializers.CharField(help_text="latest start, the deadline (UTC, Z)")
    days = serializers.ListField(
        child=serializers.CharField(), help_text="always empty: one window, not a weekly one"
    )
    timezone = serializers.CharField()
    active = serializers.BooleanField()
    next_start = serializers.CharField(required=False, help_text="the planned start")


class WindowStatusSerializer(serializers.Serializer):
    job_id = serializers.CharField()
    job_name = serializers.CharField()
    in_window = serializers.BooleanField()
    message = serializers.CharField()
    next_window_start = serializers.CharField(
        required=False, help_text="present while the window is not open yet"
    )
    windows = WindowSerializer(many=True)
    state = serializers.CharField()
    carbon_aware = serializers.BooleanField()
    zone = serializers.CharField(allow_null=True)
    planned_start = serializers.CharField(allow_null=True)


class WindowListSerializer(serializers.Serializer):
    jobs = WindowStatusSerializer(many=True, help_text="waiting jobs in start order (at most 100)")
    total = serializers.IntegerField()
    timestamp = serializers.CharField()


class ValidateRequestSerializer(serializers.Serializer):
    # Any JSON value per key: the checks are POST /schedules' own, and their failures are answered
    # as {"valid": false, "errors": [...]}, the way HyperSDK's clients expect them.
    name = serializers.JSONField(required=False, help_text="as POST /schedules")
    schedule = serializers.JSONField(required=False, help_text="cron expression, as POST /schedules")
    job_template = serializers.JSONField(required=False, help_text="JobDefinition, as POST /schedules")
    advanced_config = serializers.JSONField(required=False, help_text="not supported: reported in `warnings`")


class ValidateSerializer(serializers.Serializer):
    valid = serializers.BooleanField(help_text="POST /schedules would accept this body")
    errors = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]  # shadows Serializer.errors in the stubs only
    warnings = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField(required=False)
    next_run = serializers.CharField(required=False, allow_null=True)
    carbon_aware = serializers.BooleanField(required=False)
    zone = serializers.CharField(required=False, allow_null=True)


JOB_ID = OpenApiParameter(
    "job_id", OpenApiTypes.STR, required=False, description="one job (as HyperSDK's clients ask); absent: all"
)


class JobIdQuerySerializer(serializers.Serializer):
    job_id = serializers.CharField(required=False, allow_blank=True)


# -- views --------------------------------------------------------------------------------------


class QueueView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="schedules_queue", responses=QueueSerializer, summary="The job queue", tags=SCHEDULES
    )
    def get(self, request: Request) -> Response:
        """Job counts by state and the waiting jobs in the order they are due to start."""
        return Response(compat.queue_status())


class RetryView(APIView):
    permission_classes = [IsViewer]
    query_serializer_class = JobIdQuerySerializer
    extra_error_codes = ("404",)

    @extend_schema(
        operation_id="schedules_retry",
        parameters=[JOB_ID],
        responses=PolymorphicProxySerializer(
            component_name="RetryAnswer",
            serializers=[RetryStatusSerializer, RetryListSerializer],
            resource_type_field_name=None,
        ),
        summary="Retries: one job's, or every retried job",
        tags=SCHEDULES,
    )
    def get(self, request: Request) -> Response:
        """With `job_id`: that job's attempts, last error and next attempt (404 if unknown).
        Without: `{"jobs": [...], "total"}`, every job that failed an attempt and was or will be retried
        (BACKUP_MAX_ATTEMPTS, exponential backoff)."""
        job_id = self.query().get("job_id")
        if job_id:
            return Response(compat.retry_status(get_job(job_id)))
        return Response(compat.retry_list())


class TimeWindowView(APIView):
    permission_classes = [IsViewer]
    query_serializer_class = JobIdQuerySerializer
    extra_error_codes = ("404",)

    @extend_schema(
        operation_id="schedules_timewindow",
        parameters=[JOB_ID],
        responses=PolymorphicProxySerializer(
            component_name="TimeWindowAnswer",
            serializers=[WindowStatusSerializer, WindowListSerializer],
            resource_type_field_name=None,
        ),
        summary="Carbon-aware windows: one job's, or every waiting job's",
        tags=SCHEDULES,
    )
    def get(self, request: Request) -> Response:
        """With `job_id`: that job's window [earliest_start, latest_start], whether now is inside it
        and its planned start (404 if unknown). Without: `{"jobs": [...], "total"}` for every waiting job."""
        job_id = self.query().get("job_id")
        if job_id:
            return Response(compat.window_status(get_job(job_id)))
        return Response(compat.window_list())


class ValidateView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="schedules_validate",
        request=ValidateRequestSerializer,
        responses=ValidateSerializer,
        summary="Check a schedule as POST /schedules would, storing nothing",
        tags=SCHEDULES,
    )
    def post(self, request: Request) -> Response:
        """`{"valid": true, ...}` when POST /schedules would accept the body, else
        `{"valid": false, "errors": [...]}` (200 either way, as HyperSDK's clients expect). A body
        that is not a JSON object is a 400."""
        if not isinstance(request.data, dict):
            raise api_error(400, f"request body must be a JSON object, got {json_type(request.data)}")
        return Response(compat.validate_schedule(request.data))


class DependenciesView(APIView):
    permission_classes = [IsViewer]

    @extend_schema(
        operation_id="schedules_dependencies",
        parameters=[JOB_ID],
        responses={501: NOT_SUPPORTED},
        summary="Not supported: job dependencies",
        tags=SCHEDULES,
    )
    def get(self, request: Request) -> Response:
        """hyperweb has no dependencies between jobs: every job runs on its own window. 501."""
        raise api_error(
            501,
            "job dependencies are not supported by hyperweb: each job starts on its own carbon-aware "
            "window; GET /schedules/timewindow shows them",
        )


class AdvancedCreateView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        operation_id="schedules_advanced_create",
        request=OpenApiTypes.OBJECT,
        responses={501: NOT_SUPPORTED},
        summary="Not supported: advanced schedules",
        tags=SCHEDULES,
    )
    def post(self, request: Request) -> Response:
        """Advanced schedules (dependencies, retry policies, weekday time windows, priorities,
        conditions) are not supported: 501. POST /schedules creates a carbon-aware schedule."""
        raise api_error(
            501,
            "advanced schedules (depends_on, retry_policy, time_windows, priority, conditions) are not "
            "supported by hyperweb: create the schedule with POST /schedules (name, schedule, "
            "job_template; carbon-aware windows via zone and window_hours); retries follow "
            "BACKUP_MAX_ATTEMPTS",
        )
