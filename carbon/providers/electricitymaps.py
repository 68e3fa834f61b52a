"""Electricity Maps v3: average (consumption-based, life-cycle) intensity for most grids.

Endpoints used (see PROVIDERS.md): `carbon-intensity/latest`, `/forecast`, `/history`
(last 24 h), `/past-range` (older ranges), `power-breakdown/latest` (the only source of the
renewable percentage), and `zones`. Auth is the `auth-token` header; the token never appears in a
URL, a log line or an exception message.

A free token cannot read forecasts: the API answers 401/403 with a message about access. That is
"no forecast" (an empty list), not an outage, so the provider chain does not move on because of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from carbon.providers.base import ProviderError, Reading, ZoneRef
from carbon.providers.http import (
    HttpClient,
    HTTPStatusError,
    http_settings,
    intensity_number,
    parse_time,
    step_from_times,
)

logger = logging.getLogger("carbon.providers")

DEFAULT_BASE_URL = "https://api.electricitymap.org/v3"
HOUR = 3600.0
# Words in a 401/403 body that mean "your plan has no forecast access" rather than "bad token".
_NO_ACCESS_HINTS = ("forecast", "access", "plan", "subscription", "tier", "permission", "not allowed")


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
        self.http = HttpClient(
            self.name,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_delay=max_delay,
            secrets=[self.token],
        )

    # -- plumbing ---------------------------------------------------------------------------------

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
                )
            )
        return readings

    # -- the Provider interface -------------------------------------------------------------------

    def current(self, zone: ZoneRef) -> Reading:
        payload = self._get("carbon-intensity/latest", zone)
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

    def forecast(self, zone: ZoneRef, hours: int = 72) -> list[Reading]:
        """Hourly forecast points up to `hours` (max 72) ahead; [] when the token has no access."""
        horizon = max(1, min(int(hours), 72))
        fetched_at = self._now()
        try:
            payload = self._get("carbon-intensity/forecast", zone, horizonHours=horizon)
        except HTTPStatusError as exc:
            if exc.status == 403 or (
                exc.status == 401 and any(h in exc.body.lower() for h in _NO_ACCESS_HINTS)
            ):
                logger.info(
                    "electricitymaps: no forecast access for %s (HTTP %d); treating as no forecast",
                    zone.provider_code,
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

    def history(self, zone: ZoneRef, start: datetime, end: datetime) -> list[Reading]:
        """Actual readings overlapping [start, end).

        A range inside the last 24 hours uses `carbon-intensity/history` (one call); anything older
        uses `carbon-intensity/past-range` in chunks of `past_range_days`.
        """
        if end <= start:
            return []
        now = self._now()
        if start >= now - timedelta(hours=24):
            payload = self._get("carbon-intensity/history", zone)
            readings = self._readings(payload.get("history"), what="carbon-intensity/history")
        else:
            readings = []
            chunk_start = start
            while chunk_start < end:
                chunk_end = min(end, chunk_start + self.past_range)
                payload = self._get(
                    "carbon-intensity/past-range",
                    zone,
                    start=_iso(chunk_start),
                    end=_iso(chunk_end),
                )
                readings.extend(self._readings(payload.get("data"), what="carbon-intensity/past-range"))
                chunk_start = chunk_end
        unique: dict[datetime, Reading] = {}
        for reading in readings:
            if reading.end > start and reading.start < end:
                unique.setdefault(reading.start, reading)  # chunk edges can repeat a point
        return [unique[k] for k in sorted(unique)]

    def zones(self) -> list[str]:
        payload = self._get("zones")
        return sorted(payload)


def _percent(value: Any) -> float:
    number = intensity_number(value, "electricitymaps renewablePercentage")
    if number > 100:
        raise ProviderError(f"electricitymaps renewablePercentage {value!r} is over 100")
    return number


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build() -> ElectricityMapsProvider:
    """The provider configured by ELECTRICITYMAPS_TOKEN / ELECTRICITYMAPS_BASE_URL."""
    from django.conf import settings

    return ElectricityMapsProvider(
        token=getattr(settings, "ELECTRICITYMAPS_TOKEN", ""),
        base_url=getattr(settings, "ELECTRICITYMAPS_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL,
        **http_settings(),
    )
