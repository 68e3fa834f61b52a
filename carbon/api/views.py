"""/carbon/* views: parse, authorize, call carbon.services, serialize. No carbon rule lives here."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import CarbonPublicRead
from carbon import services
from carbon.api import serializers as s
from carbon.models import Zone
from hyperweb.api.errors import api_error, field_error
from hyperweb.api.pagination import check_cap
from hyperweb.api.timestamps import now_iso, utcnow
from hyperweb.api.views import APIView


class CarbonView(APIView):
    """Carbon endpoints: read-only, open to anonymous callers when CARBON_PUBLIC_READ is on.

    Missing data is a 503 (providers failed and nothing is stored); an unknown zone in a body is
    a 400 on `zone`.
    """

    permission_classes = [CarbonPublicRead]
    extra_error_codes = ("503",)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, services.NoData):
            exc = api_error(503, str(exc))
        elif isinstance(exc, services.UnknownZone):
            exc = field_error("zone", f"{exc}; GET /carbon/zones lists the zones")
        return super().handle_exception(exc)

    @staticmethod
    def zone_from_body(code: str | None) -> Zone:
        return services.get_zone(code or settings.CARBON_DEFAULT_ZONE)

    @staticmethod
    def zone_from_path(zone_id: str) -> Zone:
        try:
            return services.get_zone(zone_id)
        except services.UnknownZone as exc:
            raise exceptions.NotFound(f"{exc}; GET /carbon/zones lists the zones") from None


class CarbonStatusView(CarbonView):
    @extend_schema(
        operation_id="carbon_status",
        request=s.CarbonStatusRequestSerializer,
        responses=s.CarbonStatusSerializer,
        summary="Grid intensity now, whether to back up now, the next 4 h",
        tags=["carbon"],
    )
    def post(self, request: Request) -> Response:
        """The zone's current intensity against a threshold (absent or 0: CARBON_DEFAULT_THRESHOLD),
        with the steps of the next 4 hours. `source`, `simulated` and `stale` say where the numbers
        come from. An unknown zone is a 400; no data at all (every provider failed, nothing
        stored) a 503."""
        data = self.body(s.CarbonStatusRequestSerializer)
        zone = self.zone_from_body(data.get("zone"))
        status = services.carbon_status(zone, data.get("threshold"), now=utcnow())
        current = status.current
        body = {
            **vars(current),
            "zone": zone.code,
            "current_intensity": current.value,
            "optimal_for_backup": status.optimal,
            "reasoning": status.reasoning,
            "threshold": status.threshold,
            "next_optimal_time": status.next_optimal.start if status.next_optimal else None,
            "forecast_next_4h": status.forecast,
            "measured_at": current.start,
            "timestamp": status.now,
        }
        return Response(s.CarbonStatusSerializer(body).data)


class ZoneListView(CarbonView):
    @extend_schema(
        operation_id="carbon_zones_list", responses=s.ZoneListSerializer, summary="All zones", tags=["carbon"]
    )
    def get(self, request: Request) -> Response:
        """Every configured zone with its typical intensity and provider chain."""
        zones = list(Zone.objects.all())
        body = {"zones": zones, "total": len(zones), "source": "configuration", "timestamp": utcnow()}
        return Response(s.ZoneListSerializer(body).data)


class ZoneDetailView(CarbonView):
    @extend_schema(
        operation_id="carbon_zone",
        responses=s.ZoneDetailSerializer,
        summary="One zone and its latest stored reading",
        tags=["carbon"],
    )
    def get(self, request: Request, zone_id: str) -> Response:
        """One zone by id (case-insensitive), with its latest stored reading (no provider is asked)."""
        zone = self.zone_from_path(zone_id)
        try:
            current = services.current_intensity(zone, refresh=False)
        except services.NoData:
            current = None
        return Response(
            s.ZoneDetailSerializer(zone, context={"current": current, "timestamp": now_iso()}).data
        )


class ZoneIntensityView(CarbonView):
    query_serializer_class = s.IntensityQuerySerializer

    @extend_schema(
        operation_id="carbon_zone_intensity",
        parameters=[s.IntensityQuerySerializer],
        responses=s.IntensitySeriesSerializer,
        summary="Stored readings of one kind over a bounded range",
        tags=["carbon"],
    )
    def get(self, request: Request, zone_id: str) -> Response:
        """Stored readings (`kind=actual` or `forecast`) overlapping [start, end), oldest first.
        Ranges longer than API_INTENSITY_MAX_DAYS, or matching more than API_INTENSITY_MAX_POINTS
        readings, are refused with a 400 that says so; narrow the range and page by time."""
        zone = self.zone_from_path(zone_id)
        query = self.query()
        start, end = services.reading_range(query["kind"], query.get("start"), query.get("end"), now=utcnow())
        readings = services.readings_between(zone, start, end, query["kind"])
        cap = settings.API_INTENSITY_MAX_POINTS
        rows = list(readings[: cap + 1])  # one query; the extra row tells "too many" apart
        check_cap(len(rows) if len(rows) <= cap else readings.count(), cap, field="end", what="readings")
        sources = sorted({row.source for row in rows})
        body = {
            "zone": zone.code,
            "kind": query["kind"],
            "start": start,
            "end": end,
            "count": len(rows),
            "readings": rows,
            "sources": sources,
            "source": ",".join(sources),
            "simulated": any(row.simulated for row in rows),
            "stale": False,  # stored history as it is; staleness applies to "now" answers
            "timestamp": utcnow(),
        }
        return Response(s.IntensitySeriesSerializer(body).data)


class EstimateView(CarbonView):
    @extend_schema(
        operation_id="carbon_estimate",
        request=s.EstimateRequestSerializer,
        responses=s.EstimateSerializer,
        summary="Emissions now versus the best window for the whole run",
        tags=["carbon"],
    )
    def post(self, request: Request) -> Response:
        """Emissions of a backup of `data_size_gb` lasting `duration_hours` if started now, versus the
        start within the horizon with the lowest mean intensity over the whole run."""
        data = self.body(s.EstimateRequestSerializer)
        zone = self.zone_from_body(data.get("zone"))
        estimate = services.estimate(
            zone, data["data_size_gb"], data["duration_hours"], horizon_hours=data.get("horizon_hours")
        )
        return Response(s.EstimateSerializer(estimate).data)
