"""Request and response shapes of /carbon/* (HyperSDK's carbon calls, docs/API.md, plus the provenance keys).

Response serializers read the carbon services' dataclasses directly (`source=` maps the names), so
the OpenAPI schema is generated from the same code that renders the responses.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from carbon.intensity import quality
from carbon.models import CarbonReading, Zone
from hyperweb.api.fields import StrictCharField, StrictFloatField, TimestampField, non_blank
from hyperweb.api.limits import MAX_DATA_SIZE_GB, MAX_DURATION_HOURS, MAX_INTENSITY, MIN_DURATION_HOURS

# --- shared pieces -------------------------------------------------------------------------------


# The API's "source" fields shadow rest_framework's Field.source attribute in the stubs (not at run
# time: the serializer metaclass takes them out of the class): hence the ignores below.


class ProvenanceSerializer(serializers.Serializer):
    """Where the numbers came from: every carbon response carries these."""

    source = serializers.CharField(  # type: ignore[assignment]
        help_text="provider name(s), comma-separated, e.g. 'simulated' or 'electricitymaps'"
    )
    simulated = serializers.BooleanField(help_text="true when any number comes from the simulated provider")
    stale = serializers.BooleanField(help_text="true when providers failed and the last known data is shown")


class ForecastPointSerializer(serializers.Serializer):
    time = TimestampField(source="start", help_text="start of the step")
    intensity_gco2_kwh = serializers.FloatField(source="value")
    quality = serializers.CharField()
    end = TimestampField()
    kind = serializers.CharField(help_text="actual or forecast")
    source = serializers.CharField()  # type: ignore[assignment]
    simulated = serializers.BooleanField()


class RenewableSerializer(serializers.Serializer):
    """`renewable_percent` is always a number on the wire (HyperSDK's clients format it as one):
    0.0 with `renewable_percent_known: false` when no stored reading carries the share."""

    renewable_percent = serializers.SerializerMethodField(
        help_text="share of generation from renewables, 0-100; 0.0 when unknown (see renewable_percent_known)"
    )
    renewable_percent_known = serializers.SerializerMethodField(
        help_text="false when no provider reported the share: renewable_percent is then 0.0, not a measurement"
    )

    @staticmethod
    def _renewable(instance: Any) -> float | None:
        if isinstance(instance, dict):
            return instance.get("renewable_percent")
        return getattr(instance, "renewable_percent", None)

    @extend_schema_field(OpenApiTypes.DOUBLE)
    def get_renewable_percent(self, instance: Any) -> float:
        value = self._renewable(instance)
        return 0.0 if value is None else float(value)

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_renewable_percent_known(self, instance: Any) -> bool:
        return self._renewable(instance) is not None


class ZoneSerializer(serializers.Serializer):
    # A plain Serializer, not a ModelSerializer: it is built for every zone of every /carbon/zones
    # call, and ModelSerializer's per-instance model introspection costs more than the rest.
    id = serializers.CharField(source="code")
    name = serializers.CharField()
    region = serializers.CharField()
    description = serializers.CharField()
    typical_intensity = serializers.FloatField(help_text="typical gCO2/kWh")
    timezone = serializers.CharField(help_text="IANA name, e.g. Europe/Berlin")
    active = serializers.BooleanField(help_text="refreshed by the scheduled fetch")
    providers = serializers.ListField(
        child=serializers.CharField(),
        source="provider_chain",
        help_text="the provider chain asked in this order",
    )


class CurrentIntensitySerializer(serializers.Serializer):
    intensity_gco2_kwh = serializers.FloatField(source="value")
    quality = serializers.CharField()
    start = TimestampField()
    end = TimestampField()
    kind = serializers.CharField()
    signal = serializers.CharField()
    estimated = serializers.BooleanField()
    renewable_percent = serializers.FloatField(allow_null=True)
    source = serializers.CharField()  # type: ignore[assignment]
    simulated = serializers.BooleanField()
    stale = serializers.BooleanField()


def zone_field(**kwargs: Any) -> serializers.CharField:
    help_text = "zone id, e.g. DE (case-insensitive); default CARBON_DEFAULT_ZONE"
    if kwargs.get("allow_blank"):
        return StrictCharField(max_length=32, required=False, help_text=help_text, **kwargs)
    return non_blank(max_length=32, required=False, help_text=help_text, **kwargs)


# --- GET /carbon/zones, GET /carbon/zones/{id} ---------------------------------------------------


class ZoneListSerializer(serializers.Serializer):
    zones = ZoneSerializer(many=True)
    total = serializers.IntegerField()
    source = serializers.CharField(help_text='"configuration": zones are set up by admins')  # type: ignore[assignment]
    timestamp = TimestampField()


class ZoneDetailSerializer(ZoneSerializer):
    current = serializers.SerializerMethodField(
        help_text="latest stored reading (no provider call); null if none"
    )
    timestamp = serializers.SerializerMethodField()

    @extend_schema_field(CurrentIntensitySerializer(allow_null=True))
    def get_current(self, zone: Zone) -> dict | None:
        current = self.context.get("current")
        return None if current is None else CurrentIntensitySerializer(current).data

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_timestamp(self, zone: Zone) -> str:
        return self.context["timestamp"]


# --- GET /carbon/zones/{id}/intensity ------------------------------------------------------------


class IntensityQuerySerializer(serializers.Serializer):
    start = TimestampField(required=False, help_text="default: end - 24 h (actual) or now (forecast)")
    end = TimestampField(required=False, help_text="default: now (actual) or start + 24 h (forecast)")
    kind = serializers.ChoiceField(choices=CarbonReading.Kind.values, default=CarbonReading.Kind.ACTUAL)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start is not None and end is not None:
            if end <= start:
                raise serializers.ValidationError({"end": "must be after start"})
            limit = settings.API_INTENSITY_MAX_DAYS
            days = (end - start).total_seconds() / 86400
            if days > limit:
                raise serializers.ValidationError(
                    {"end": f"the range spans {days:.1f} days, more than the limit of {limit} days"}
                )
        return attrs


class ReadingSerializer(serializers.ModelSerializer):
    start = TimestampField()
    end = TimestampField()
    intensity_gco2_kwh = serializers.FloatField(source="value")
    quality = serializers.SerializerMethodField()
    issued_at = TimestampField(allow_null=True, help_text="forecasts: when the provider issued it")
    simulated = serializers.BooleanField()

    class Meta:
        model = CarbonReading
        fields = [
            "start",
            "end",
            "intensity_gco2_kwh",
            "quality",
            "kind",
            "signal",
            "source",
            "simulated",
            "estimated",
            "renewable_percent",
            "issued_at",
        ]

    def get_quality(self, reading: CarbonReading) -> str:
        return quality(reading.value)


class IntensitySeriesSerializer(ProvenanceSerializer):
    zone = serializers.CharField()
    kind = serializers.CharField()
    start = TimestampField()
    end = TimestampField()
    count = serializers.IntegerField()
    readings = ReadingSerializer(many=True)
    sources = serializers.ListField(child=serializers.CharField())
    timestamp = TimestampField()


# --- POST /carbon/status -------------------------------------------------------------------------


class CarbonStatusRequestSerializer(serializers.Serializer):
    zone = zone_field()
    threshold = StrictFloatField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=MAX_INTENSITY,
        help_text="gCO2/kWh; absent or 0 means CARBON_DEFAULT_THRESHOLD (200)",
    )


class CarbonStatusSerializer(RenewableSerializer, ProvenanceSerializer):
    zone = serializers.CharField()
    current_intensity = serializers.FloatField(help_text="gCO2/kWh of the step in progress")
    optimal_for_backup = serializers.BooleanField(help_text="current_intensity <= threshold")
    quality = serializers.CharField()
    reasoning = serializers.CharField()
    threshold = serializers.FloatField()
    next_optimal_time = TimestampField(
        required=False, help_text="first step in the next 4 h at or below the threshold (absent if none)"
    )
    forecast_next_4h = ForecastPointSerializer(many=True)
    measured_at = TimestampField(help_text="start of the step current_intensity belongs to")
    kind = serializers.CharField(help_text="actual, or forecast when no measurement exists")
    signal = serializers.CharField(help_text="average or marginal")
    estimated = serializers.BooleanField()
    timestamp = TimestampField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        if data.get("next_optimal_time") is None:
            data.pop("next_optimal_time", None)  # absent, as the original server's omitempty
        return data


# --- POST /carbon/estimate -----------------------------------------------------------------------


class EstimateRequestSerializer(serializers.Serializer):
    zone = zone_field()
    data_size_gb = StrictFloatField(positive=True, max_value=MAX_DATA_SIZE_GB, help_text="must be > 0")
    duration_hours = StrictFloatField(
        min_value=MIN_DURATION_HOURS,
        max_value=MAX_DURATION_HOURS,
        default=2.0,
        help_text="must be > 0 (default 2.0), at most 168",
    )
    horizon_hours = StrictFloatField(
        required=False,
        min_value=0,
        max_value=MAX_DURATION_HOURS,
        help_text="how far ahead a start may be (default CARBON_ESTIMATE_HORIZON_HOURS), 0..168",
    )


class EstimateSerializer(ProvenanceSerializer):
    zone = serializers.CharField()
    data_size_gb = serializers.FloatField(source="data_gb")
    duration_hours = serializers.FloatField()
    horizon_hours = serializers.FloatField()
    energy_kwh = serializers.FloatField()
    current_intensity_gco2_kwh = serializers.FloatField(
        source="current_intensity", help_text="mean over the run if started now"
    )
    current_emissions_kg_co2 = serializers.FloatField(source="current_emissions_kg")
    best_intensity_gco2_kwh = serializers.FloatField(
        source="best_intensity", help_text="mean over the whole run in the best window"
    )
    best_emissions_kg_co2 = serializers.FloatField(source="best_emissions_kg")
    best_time = TimestampField(source="best_start")
    best_end = TimestampField()
    savings_kg_co2 = serializers.FloatField(source="savings_kg")
    savings_percent = serializers.FloatField()
    delay_minutes = serializers.IntegerField()
    recommendation = serializers.CharField()
    signal = serializers.CharField()
    sources = serializers.ListField(child=serializers.CharField())
    forecast = ForecastPointSerializer(many=True)
    timestamp = TimestampField(source="now")


# --- POST /carbon/report -------------------------------------------------------------------------


class ReportRequestSerializer(serializers.Serializer):
    job_id = StrictCharField(
        max_length=128,
        required=False,
        allow_blank=True,
        help_text="a hyperweb job id adds the honest savings",
    )
    start_time = TimestampField()
    end_time = TimestampField()
    data_size_gb = StrictFloatField(positive=True, max_value=MAX_DATA_SIZE_GB, help_text="must be > 0")
    zone = zone_field(allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end_time"] <= attrs["start_time"]:
            raise serializers.ValidationError({"end_time": "must be after start_time"})
        limit = settings.API_INTENSITY_MAX_DAYS
        days = (attrs["end_time"] - attrs["start_time"]).total_seconds() / 86400
        if days > limit:
            raise serializers.ValidationError(
                {"end_time": f"the operation spans {days:.1f} days, more than the limit of {limit} days"}
            )
        return attrs


class ReportSerializer(RenewableSerializer, ProvenanceSerializer):
    operation_id = serializers.CharField()
    zone = serializers.CharField()
    start_time = TimestampField()
    end_time = TimestampField()
    duration_hours = serializers.FloatField()
    data_size_gb = serializers.FloatField()
    energy_kwh = serializers.FloatField()
    carbon_intensity_gco2_kwh = serializers.FloatField(
        help_text="time-weighted mean of stored readings over the run"
    )
    carbon_emissions_kg_co2 = serializers.FloatField()
    savings_vs_worst_kg_co2 = serializers.FloatField(
        help_text="against 1000 gCO2/kWh, kept for the HyperSDK clients"
    )
    savings_vs_requested_kg_co2 = serializers.FloatField(
        allow_null=True,
        help_text="against starting when the job was requested; null unless job_id is a known job",
    )
    requested_at = TimestampField(allow_null=True, help_text="the known job's request time; null otherwise")
    coverage = serializers.FloatField(help_text="fraction of the run covered by readings, 0..1")
    forecast_only = serializers.BooleanField()
    flags = serializers.ListField(child=serializers.CharField())
    equivalent = serializers.CharField(
        help_text="the emissions in everyday terms, worded as HyperSDK's clients show it, e.g. "
        "'12 km of driving' or '398 km of driving, or 4.6 tree-years to offset'"
    )
    equivalent_detail = serializers.DictField(
        help_text="the same as numbers: km_driving, tree_years, and the constants used (car_g_co2_per_km, "
        "tree_kg_co2_per_year, note)"
    )
    timestamp = TimestampField()
