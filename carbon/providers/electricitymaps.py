"""Electricity Maps v3: average (consumption-based, life-cycle) intensity for most grids.

Endpoints used (Electricity Maps' v3 API): `carbon-intensity/latest`, `/forecast`, `/history`
(last 24 h), `/past-range` (older ranges), `power-breakdown/latest`, `/history` and `/past-range`
(the renewable percentage, the only source of it), and `zones`. Auth is the `auth-token` header;
the token never appears in a URL, a log line or an exception message.

What a refusal means is decided by the status code, never by words in the body:

- forecast: 401/403 is "no forecast in this plan" (an empty list, logged once), not an outage;
- past-range: 401/403 is "older history not in this plan": logged once, not asked again by this
  process for the same token, and history() returns what `/history` covers (no failed backfill);
- latest/history for a zone: 403 is `ZoneNotPermitted` (a free token reads one zone), which the
  fetch service records once and then skips the provider for that zone until the token changes;
  401 stays an ordinary failure (a wrong or revoked token).

History: `/history` covers the last 24 h by the server's clock. A range starting within that
window plus HISTORY_MARGIN (a start of "now - 24 h" by a clock that has since moved on) is read
from `/history` alone; only what lies beyond it goes to `/past-range`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from carbon.providers.base import ProviderError, Reading, ZoneNotPermitted, ZoneRef
from carbon.providers.http import (
    HttpClient,
    HTTPStatusError,
    http_settings,
    intensity_number,
    parse_time,
    step_from_times,
)
from hyperweb.lib.timefmt import format_utc

logger = logging.getLogger("carbon.providers")

DEFAULT_BASE_URL = "https://api.electricitymap.org/v3"
HOUR = 3600.0
HISTORY_WINDOW = timedelta(hours=24)  # what /history covers, by the server's clock
# How far past that window a range may start and still be read from /history alone: the fetch
# service's "now - 24 h" is older than 24 h by the time the request reaches the server.
HISTORY_MARGIN = timedelta(hours=1)
NOT_IN_PLAN = (401, 403)


class ElectricityMapsProvider:
    """Electricity Maps v3 client; `zone.provider_code` is the Electricity Maps zone key."""

    name = "electricitymaps"
    simulated = False
    remote = True  # asked over the network: never from a web request (services.fetching)

    def __init__(
        self,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_delay: float = 30.0,
        emission_factor_type: str | None = None,
        past_range_days: int = 10,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.token = token or ""
        self.base_url = base_url.rstrip("/")
        self.emission_factor_type = emission_factor_type
        # Past-range calls are capped server-side; chunking keeps a long import inside the cap.
        self.past_range = timedelta(days=past_range_days)
        self._now = now or (lambda: datetime.now(UTC))
        # Refusals already logged by this instance (a new token builds a new instance).
        self._no_past_range = False
        self._no_forecast = False
        self.http = HttpClient(
            self.name,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_delay=max_delay,
            secrets=[self.token],
        )

    @property
    def credential(self) -> str:
        """A fingerprint of the token (never the token): a zone refused to one token is asked
        again once the token changes."""
        return hashlib.sha256(self.token.encode()).hexdigest()[:16] if self.token else ""

    # -- plumbing ---------------------------------------------------------------------------------

    def _zone_get(self, path: str, zone: ZoneRef, **params: Any) -> Any:
        """_get for a zone's data, where a 403 means the token may not read the zone."""
        try:
            return self._get(path, zone, **params)
        except HTTPStatusError as exc:
            if exc.status == 403:
                raise ZoneNotPermitted(
                    f"electricitymaps: the token may not read zone {zone.provider_code} (HTTP 403)",
                    status=403,
                ) from None
            raise

    def _get(self, path: str, zone: ZoneRef | None = None, **params: Any) -> Any:
        if not self.token:
            raise ProviderError("electricitymaps: no token configured (set ELECTRICITYMAPS_TOKEN)")
        query: dict[str, Any] = {}
        if zone is not None:
            query["zone"] = zone.provider_code
        if self.emission_factor_type:
            query["emissionFactorType"] = self.emission_factor_type
        query.update({k: v for k, v in params.items() if v is not None})
        payload = self.http.get_json(
            f"{self.base_url}/{path}", params=query, headers={"auth-token": self.token}
        )
        if not isinstance(payload, dict):
            raise ProviderError(
                f"electricitymaps {path}: expected a JSON object, got {type(payload).__name__}"
            )
        return payload

    def _readings(
        self,
        items: Any,
        *,
        what: str,
        kind: str = "actual",
        issued_at: datetime | None = None,
        renewable: dict[datetime, float] | None = None,
    ) -> list[Reading]:
        """Readings from a list of `{carbonIntensity, datetime, isEstimated?}`; nulls are skipped."""
        if not isinstance(items, list):
            raise ProviderError(f"electricitymaps {what}: expected a list of points")
        points: list[tuple[datetime, dict]] = []
        for item in items:
            if not isinstance(item, dict):
                raise ProviderError(f"electricitymaps {what}: a point is not an object: {item!r}")
            points.append((parse_time(item.get("datetime"), field="datetime"), item))
        step = timedelta(seconds=step_from_times((t for t, _ in points), HOUR))
        readings: list[Reading] = []
        seen: set[datetime] = set()
        for start, item in sorted(points, key=lambda p: p[0]):
            value = item.get("carbonIntensity")
            if value is None:
                # A gap the provider could not fill: leave it a gap rather than invent a value.
                continue
            if start in seen:
                continue
            seen.add(start)
            readings.append(
                Reading(
                    start=start,
                    end=start + step,
                    value=intensity_number(value, f"electricitymaps {what}"),
                    signal="average",
                    kind=kind,
                    issued_at=issued_at,
                    estimated=bool(item.get("isEstimated")),
                    renewable_percent=(renewable or {}).get(start),
                )
            )
        return readings

    # -- the Provider interface -------------------------------------------------------------------

    def current(self, zone: ZoneRef, *, now: datetime | None = None) -> Reading:
        payload = self._zone_get("carbon-intensity/latest", zone)
        readings = self._readings([payload], what="carbon-intensity/latest")
        if not readings:
            raise ProviderError(f"electricitymaps has no current value for {zone.provider_code}")
        # One point, so the step is the API's default hourly granularity.
        return replace(readings[0], renewable_percent=self._renewable_percent(zone))

    def _renewable_percent(self, zone: ZoneRef) -> float | None:
        """renewablePercentage from power-breakdown/latest, or None if that call fails.

        It is an extra, not the reading itself: its failure must not turn a good reading into an
        outage. (fossilFreePercentage counts nuclear too, so it is not used as a stand-in.)
        """
        try:
            payload = self._get("power-breakdown/latest", zone)
            value = payload.get("renewablePercentage")
            return None if value is None else _percent(value)
        except ProviderError as exc:
            logger.warning("electricitymaps power-breakdown for %s unavailable: %s", zone.provider_code, exc)
            return None

    def forecast(self, zone: ZoneRef, hours: int = 72, *, now: datetime | None = None) -> list[Reading]:
        """Hourly forecast points up to `hours` (max 72) ahead; [] when the plan has no forecast."""
        horizon = max(1, min(int(hours), 72))
        fetched_at = self._now()
        if self._no_forecast:
            return []
        try:
            payload = self._get("carbon-intensity/forecast", zone, horizonHours=horizon)
        except HTTPStatusError as exc:
            if exc.status in NOT_IN_PLAN:
                self._no_forecast = True
                logger.warning(
                    "electricitymaps: forecasts are not in this token's plan (HTTP %d); the built-in "
                    "forecaster fills in (not asked again until the token changes)",
                    exc.status,
                )
                return []
            raise
        if payload.get("forecast") is None:
            logger.warning("electricitymaps forecast for %s has no forecast points", zone.provider_code)
            return []
        updated = payload.get("updatedAt")
        issued_at = parse_time(updated, field="updatedAt") if updated else fetched_at
        readings = self._readings(
            payload["forecast"], what="carbon-intensity/forecast", kind="forecast", issued_at=issued_at
        )
        limit = fetched_at + timedelta(hours=horizon)
        return [r for r in readings if r.start < limit]

    def history(
        self, zone: ZoneRef, start: datetime, end: datetime, *, now: datetime | None = None
    ) -> list[Reading]:
        """Actual readings overlapping [start, end), with the renewable share where known.

        `/history` serves the last 24 h (and a start up to HISTORY_MARGIN before that, see the
        module docstring); only the part of the range older than that goes to `/past-range`, in
        chunks of `past_range_days`, and not at all once this token was refused it.
        """
        if end <= start:
            return []
        clock = self._now()
        window_start = clock - HISTORY_WINDOW
        readings: list[Reading] = []
        if start < window_start - HISTORY_MARGIN:
            readings.extend(self._past_range(zone, start, min(end, window_start + HISTORY_MARGIN)))
        if end > window_start:
            payload = self._zone_get("carbon-intensity/history", zone)
            renewable = self._renewable_history("power-breakdown/history", zone, "history")
            readings.extend(
                self._readings(payload.get("history"), what="carbon-intensity/history", renewable=renewable)
            )
        unique: dict[datetime, Reading] = {}
        for reading in readings:
            if reading.end > start and reading.start < end:
                unique[reading.start] = reading  # the later call (/history) wins over past-range
        return [unique[k] for k in sorted(unique)]

    def _past_range(self, zone: ZoneRef, start: datetime, end: datetime) -> list[Reading]:
        if self._no_past_range:
            return []
        readings: list[Reading] = []
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(end, chunk_start + self.past_range)
            params = {"start": _iso(chunk_start), "end": _iso(chunk_end)}
            try:
                payload = self._get("carbon-intensity/past-range", zone, **params)
            except HTTPStatusError as exc:
                if exc.status not in NOT_IN_PLAN:
                    raise
                self._no_past_range = True
                logger.warning(
                    "electricitymaps: history older than 24 h (past-range) is not in this token's "
                    "plan (HTTP %d); only the last 24 h are fetched (not asked again until the "
                    "token changes)",
                    exc.status,
                )
                return readings
            renewable = self._renewable_history("power-breakdown/past-range", zone, "data", **params)
            readings.extend(
                self._readings(payload.get("data"), what="carbon-intensity/past-range", renewable=renewable)
            )
            chunk_start = chunk_end
        return readings

    def _renewable_history(self, path: str, zone: ZoneRef, key: str, **params: Any) -> dict[datetime, float]:
        """renewablePercentage by datetime from a power-breakdown history call; {} if it fails
        (the intensity readings stand without it)."""
        try:
            payload = self._get(path, zone, **params)
            out: dict[datetime, float] = {}
            items = payload.get(key)
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and item.get("renewablePercentage") is not None:
                    out[parse_time(item.get("datetime"), field="datetime")] = _percent(
                        item["renewablePercentage"]
                    )
            return out
        except ProviderError as exc:
            logger.info("electricitymaps %s for %s unavailable: %s", path, zone.provider_code, exc)
            return {}

    def zones(self, *, now: datetime | None = None) -> list[str]:
        payload = self._get("zones")
        return sorted(payload)


def _percent(value: Any) -> float:
    number = intensity_number(value, "electricitymaps renewablePercentage")
    if number > 100:
        raise ProviderError(f"electricitymaps renewablePercentage {value!r} is over 100")
    return number


def _iso(moment: datetime) -> str:
    return format_utc(moment, "seconds")


def build() -> ElectricityMapsProvider:
    """The provider configured by ELECTRICITYMAPS_TOKEN / ELECTRICITYMAPS_BASE_URL."""
    return ElectricityMapsProvider(
        token=settings.ELECTRICITYMAPS_TOKEN,
        base_url=settings.ELECTRICITYMAPS_BASE_URL,
        **http_settings(),
    )
