"""Service endpoints: GET /health (no auth), GET /status, GET /capabilities, and the benchmark's
constant endpoint (routed only when settings.BENCH_ENDPOINT is on). They live in the scheduler app,
the lowest layer that may answer them: /status counts its jobs, /capabilities asks its executors."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from hyperweb.api.fields import TimestampField
from hyperweb.api.timestamps import go_duration, now_iso
from hyperweb.api.views import APIView
from scheduler.executors import EXECUTOR_NAMES, get_executor
from scheduler.models import BackupJob
from scheduler.vocabulary import BACKUP_FORMATS

_STARTED = time.monotonic()  # per process: uptime of this web worker


def job_counts() -> dict[str, int]:
    """Jobs per state (every BackupJob.Status) and in total, in one query."""
    counts = BackupJob.objects.aggregate(
        total=Count("pk"), **{state: Count("pk", filter=Q(status=state)) for state in BackupJob.Status.values}
    )
    return {key: value or 0 for key, value in counts.items()}


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField(help_text='always "healthy" when the process answers')
    version = serializers.CharField()
    timestamp = TimestampField()


class StatusSerializer(serializers.Serializer):
    version = serializers.CharField()
    uptime = serializers.CharField(help_text="this web process's uptime, Go duration style (3h2m1s)")
    uptime_seconds = serializers.IntegerField()
    total_jobs = serializers.IntegerField()
    running_jobs = serializers.IntegerField()
    completed_jobs = serializers.IntegerField()
    failed_jobs = serializers.IntegerField()
    cancelled_jobs = serializers.IntegerField()
    pending_jobs = serializers.IntegerField(help_text="waiting, including scheduled")
    scheduled_jobs = serializers.IntegerField(help_text="waiting for a planned carbon-aware start")
    timestamp = TimestampField()


class CapabilitySerializer(serializers.Serializer):
    available = serializers.BooleanField()
    description = serializers.CharField()


class CarbonCapabilitySerializer(serializers.Serializer):
    carbon_aware = serializers.BooleanField()
    providers = serializers.ListField(child=serializers.CharField())
    forecast_hours = serializers.IntegerField()
    public_read = serializers.BooleanField()


class CapabilitiesSerializer(serializers.Serializer):
    capabilities = serializers.DictField(
        child=CapabilitySerializer(), help_text="export method -> availability"
    )
    default_method = serializers.CharField()
    formats = serializers.ListField(child=serializers.CharField())
    carbon = CarbonCapabilitySerializer()
    timestamp = TimestampField()


class HealthView(APIView):
    authentication_classes: list = []  # no auth at all, so a stale header cannot make it fail
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="health",
        responses=HealthSerializer,
        summary="Liveness (no authentication)",
        tags=["service"],
    )
    def get(self, request: Request) -> Response:
        """Answers while the process is up; needs no authentication."""
        return Response({"status": "healthy", "version": settings.VERSION, "timestamp": now_iso()})


class StatusView(APIView):
    @extend_schema(
        operation_id="status",
        responses=StatusSerializer,
        summary="Version, uptime and job counts",
        tags=["service"],
    )
    def get(self, request: Request) -> Response:
        """Version, this process's uptime, and job counts by state (every key always present)."""
        counts = job_counts()
        uptime = time.monotonic() - _STARTED
        return Response(
            {
                "version": settings.VERSION,
                "uptime": go_duration(uptime),
                "uptime_seconds": int(uptime),
                "total_jobs": counts["total"],
                "running_jobs": counts["running"],
                "completed_jobs": counts["completed"],
                "failed_jobs": counts["failed"],
                "cancelled_jobs": counts["cancelled"],
                "pending_jobs": counts["pending"] + counts["scheduled"],
                "scheduled_jobs": counts["scheduled"],
                "timestamp": now_iso(),
            }
        )


def _executor_capabilities() -> dict[str, dict[str, Any]]:
    descriptions = {
        "file": "back up VM disk images or directories into checksummed archives",
        "hypersdk": "forward jobs to a HyperSDK daemon",
    }
    result = {}
    for name in EXECUTOR_NAMES:
        try:
            executor = get_executor(name)
            available = bool(getattr(executor, "available", True))
        except Exception:  # not configured (e.g. no HyperSDK URL)
            available = False
        result[name] = {"available": available, "description": descriptions[name]}
    return result


class CapabilitiesView(APIView):
    @extend_schema(
        operation_id="capabilities",
        responses=CapabilitiesSerializer,
        summary="Export methods and carbon features",
        tags=["service"],
    )
    def get(self, request: Request) -> Response:
        """Which export methods (executors) this server can run, the default one, and carbon features."""
        return Response(
            {
                "capabilities": _executor_capabilities(),
                "default_method": settings.BACKUP_DEFAULT_EXECUTOR,
                "formats": list(BACKUP_FORMATS),
                "carbon": {
                    "carbon_aware": True,
                    "providers": list(settings.CARBON_PROVIDERS),
                    "forecast_hours": settings.CARBON_FORECAST_HOURS,
                    "public_read": settings.CARBON_PUBLIC_READ,
                },
                "timestamp": now_iso(),
            }
        )


class BenchConstantView(APIView):
    """The benchmark's baseline: the same auth, role check and renderer as a real endpoint, no work."""

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response({"status": "ok", "timestamp": now_iso()})
