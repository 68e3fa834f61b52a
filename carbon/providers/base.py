"""The one small interface every carbon data provider implements.

A provider answers four questions about a zone: its current intensity, a forecast, history over a
range, and which zones it knows. It returns plain `Reading` values (aware UTC datetimes, gCO2eq/kWh)
and knows nothing of the database; `carbon.services` stores what it returns. Every method takes
`now`, the fetch's clock, so callers pass it without asking which provider they hold: a provider
that can answer "as of" a time (the simulated one) uses it; one that only knows the present (a
remote API) may ignore it.

Failures are exceptions: `ProviderError` for an outage (network, 5xx after retries, bad payload),
which makes the chain move on to the next provider. A provider that simply has no forecast for a
zone (e.g. an Electricity Maps free token) returns an empty list instead: that is not an outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class ZoneRef:
    """What a provider needs to know about a zone."""

    code: str  # hyperweb's code, e.g. "JP"
    provider_code: str  # the provider's own code, e.g. "JP-TK"
    typical_intensity: float = 300.0
    timezone: str = "UTC"


@dataclass(frozen=True)
class Reading:
    """One interval [start, end) of intensity as a provider reported it."""

    start: datetime
    end: datetime
    value: float  # gCO2eq/kWh
    signal: str = "average"  # "average" or "marginal": never mixed in one curve
    kind: str = "actual"  # "actual" or "forecast"
    issued_at: datetime | None = None  # forecasts: when the provider issued it
    estimated: bool = False
    renewable_percent: float | None = None


class ProviderError(Exception):
    """The provider could not answer (outage, auth failure, unusable payload)."""


class ProviderUnreachable(ProviderError):
    """The provider did not answer at all (timeouts, refused connections) after the retries: the
    fetch service leaves it alone for every zone for CARBON_FAILURE_COOLDOWN, so one silent
    provider costs one timeout per cooldown, not one per zone and kind of data."""


class ZoneNotPermitted(ProviderError):
    """The provider's credentials may not read this zone (e.g. HTTP 403 for a zone outside an
    Electricity Maps free token's one zone). The fetch service records it once and skips the
    provider for the zone until the credentials change (carbon.models.ZoneDenial)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class Provider(Protocol):
    name: str
    simulated: bool
    # Asked over the network: web requests never wait on it, they queue a refresh for the workers
    # (carbon.services.fetching.web_request). A provider without the attribute counts as remote.
    remote: bool

    def current(self, zone: ZoneRef, *, now: datetime | None = None) -> Reading: ...

    def forecast(self, zone: ZoneRef, hours: int = 72, *, now: datetime | None = None) -> list[Reading]: ...

    def history(
        self, zone: ZoneRef, start: datetime, end: datetime, *, now: datetime | None = None
    ) -> list[Reading]: ...

    def zones(self, *, now: datetime | None = None) -> list[str]: ...
