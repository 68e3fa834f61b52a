"""Grid zones and the carbon-intensity readings stored for them (the database is the cache)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from carbon.providers.base import ZoneRef


class Zone(models.Model):
    """A grid area whose carbon intensity hyperweb tracks (the 12 of carbon/zones.py by default)."""

    code = models.CharField(max_length=32, unique=True, help_text="hyperweb's zone id, e.g. DE")
    name = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=255, blank=True)
    typical_intensity = models.FloatField(help_text="typical gCO2eq/kWh; centre of simulated data")
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Berlin")
    provider_codes = models.JSONField(
        default=dict,
        blank=True,
        help_text='the providers\' own zone codes where they differ, e.g. {"electricitymaps": "JP-TK"}',
    )
    providers = models.CharField(
        max_length=200,
        blank=True,
        help_text="comma-separated provider chain for this zone; empty means the configured default",
    )
    active = models.BooleanField(default=True, help_text="refreshed by the scheduled fetch")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"

    def code_for(self, provider: str) -> str:
        """The zone's code in a provider's own naming."""
        return (self.provider_codes or {}).get(provider) or self.code

    def ref(self, provider: str) -> ZoneRef:
        """The zone as a provider sees it."""
        return ZoneRef(self.code, self.code_for(provider), self.typical_intensity, self.timezone)

    def provider_chain(self) -> list[str]:
        if self.providers.strip():
            return [p.strip() for p in self.providers.split(",") if p.strip()]
        return list(settings.CARBON_ZONE_PROVIDERS.get(self.code, settings.CARBON_PROVIDERS))


# The built-in forecaster's readings (carbon/services/modelled.py): "model" when made from real
# history, "model+simulated" when any of that history was simulated, so both labels show.
MODEL_SOURCE = "model"
MODEL_FROM_SIMULATED_SOURCE = "model+simulated"
SIMULATED_SOURCES = frozenset({"simulated", MODEL_FROM_SIMULATED_SOURCE})


def source_is_simulated(source: str) -> bool:
    """Numbers from the simulated provider, or a model forecast made from them."""
    return source in SIMULATED_SOURCES


class CarbonReading(models.Model):
    """One interval [start, end) of grid carbon intensity for a zone, as a provider gave it.

    Actual readings are unique per (zone, source, signal, start); a forecast point is unique per
    (zone, source, signal, start, issued_at), so older forecasts stay to measure accuracy later.
    """

    class Kind(models.TextChoices):
        ACTUAL = "actual"
        FORECAST = "forecast"

    class Signal(models.TextChoices):
        AVERAGE = "average"
        MARGINAL = "marginal"

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="readings")
    start = models.DateTimeField()
    end = models.DateTimeField()
    value = models.FloatField(help_text="gCO2eq/kWh")
    signal = models.CharField(max_length=10, choices=Signal.choices, default=Signal.AVERAGE)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ACTUAL)
    issued_at = models.DateTimeField(null=True, blank=True, help_text="forecasts: when issued")
    source = models.CharField(max_length=32, help_text="provider name, e.g. electricitymaps")
    estimated = models.BooleanField(default=False, help_text="the provider marked it estimated")
    renewable_percent = models.FloatField(null=True, blank=True)
    fetched_at = models.DateTimeField(auto_now=True)
    revised_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="when a re-fetch last changed the value or made an estimate a measurement",
    )

    class Meta:
        ordering = ["zone", "start"]
        indexes = [
            models.Index(fields=["zone", "kind", "start"], name="reading_zone_kind_start"),
            models.Index(fields=["zone", "kind", "end"], name="reading_zone_kind_end"),
            # One forecast issue's rows from a start on (the series' newest issue), and the daily
            # prune's issue times: equality up to issued_at, so neither walks other issues.
            models.Index(
                fields=["zone", "kind", "source", "signal", "issued_at", "start"], name="reading_issue_start"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["zone", "source", "signal", "start"],
                condition=Q(kind="actual"),
                name="unique_actual_reading",
            ),
            models.UniqueConstraint(
                fields=["zone", "source", "signal", "start", "issued_at"],
                condition=Q(kind="forecast"),
                name="unique_forecast_point",
            ),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="reading_end_after_start"),
            models.CheckConstraint(
                condition=Q(kind="actual") | Q(issued_at__isnull=False), name="forecast_has_issue_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.zone_id} {self.start:%Y-%m-%d %H:%M} {self.value:.0f} g/kWh ({self.source})"

    @property
    def simulated(self) -> bool:
        # One rule with the services (a model forecast made from simulated history counts too).
        return source_is_simulated(self.source)


class FetchAttempt(models.Model):
    """The outcome of asking one provider for one zone's data: the TTL clock and the audit trail."""

    class What(models.TextChoices):
        CURRENT = "current"
        FORECAST = "forecast"
        HISTORY = "history"

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="fetches")
    provider = models.CharField(max_length=32)
    what = models.CharField(max_length=10, choices=What.choices)
    # A default rather than auto_now_add, so services can record the `now` they were given (a
    # frozen clock in tests, the TTL check and the record then agree).
    at = models.DateTimeField(default=timezone.now)
    ok = models.BooleanField()
    readings = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["zone", "provider", "what", "-at"], name="fetch_lookup")]

    def __str__(self) -> str:
        return f"{self.provider}/{self.zone_id}/{self.what} {'ok' if self.ok else 'failed'}"


class ForecastIssue(models.Model):
    """The newest forecast issue stored for a zone, source and signal (kept by store_readings).

    The series reads "the newest issue per source" here with one indexed equality query instead
    of grouping every stored forecast row that overlaps its range (~10k rows with hourly 72 h
    issues). Rows written around store_readings (bulk_create) are not seen here; the series falls
    back to grouping the readings when this has nothing usable for a zone.
    """

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="forecast_issues")
    signal = models.CharField(max_length=10, choices=CarbonReading.Signal.choices)
    source = models.CharField(max_length=32)
    issued_at = models.DateTimeField(help_text="the newest issue's time")
    first_start = models.DateTimeField(help_text="the newest issue's first step starts")
    last_end = models.DateTimeField(help_text="the newest issue's last step ends")
    # Whether any issue at all reaches a range, without reading them: an old imported forecast
    # (a CSV of 2020) is then passed over at once instead of being grouped on every call.
    ends_at = models.DateTimeField(help_text="the latest end of any issue of this source and signal")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "signal", "source"], name="unique_forecast_issue_source")
        ]

    def __str__(self) -> str:
        return f"{self.zone_id} {self.source}/{self.signal} issued {self.issued_at:%Y-%m-%d %H:%M}"


class ZoneDenial(models.Model):
    """A zone a provider's credentials may not read (an Electricity Maps free token covers one
    zone): recorded at the first 401/403 for the zone, and the provider is then skipped for it,
    silently, until the credentials change (`credential` is a fingerprint, never the secret)."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="denials")
    provider = models.CharField(max_length=32)
    credential = models.CharField(max_length=64, help_text="fingerprint of the token that was refused")
    status = models.PositiveSmallIntegerField(help_text="the HTTP status of the refusal")
    detail = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["zone", "provider"]
        constraints = [models.UniqueConstraint(fields=["zone", "provider"], name="unique_zone_denial")]

    def __str__(self) -> str:
        return f"{self.provider} may not read {self.zone_id} (HTTP {self.status})"
