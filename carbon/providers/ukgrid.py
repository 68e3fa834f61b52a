"""UK NESO Carbon Intensity API: national Great Britain intensity, no key (CC BY 4.0).

Half-hour periods with times written `YYYY-MM-DDThh:mmZ`. Endpoints used:
`/intensity` (the current half-hour), `/intensity/{from}/fw48h` (forecast), `/intensity/{from}/{to}`
(history), `/generation` and `/generation/{from}/{to}` (the fuel mix, for the renewable share
of the present and of the history).

The API returns `data` either as an array of periods or, on regional endpoints, as an object
`{regionid, ..., data: [periods]}` (and some regional arrays hold such objects); `parse_periods`
accepts all of them so a base URL pointing at a regional mirror still parses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from carbon.providers.base import ProviderError, Reading, ZoneRef
from carbon.providers.http import HttpClient, http_settings, intensity_number, parse_time
from hyperweb.lib.timefmt import format_utc

logger = logging.getLogger("carbon.providers")

DEFAULT_BASE_URL = "https://api.carbonintensity.org.uk"
# Fuels counted as renewable: wind, solar, hydro and biomass -- the same set Electricity Maps
# counts, so the two providers' percentages compare. Nuclear is low-carbon but not renewable;
# "imports" and "other" are of unknown origin, so they are not counted either.
RENEWABLE_FUELS = frozenset({"wind", "solar", "hydro", "biomass"})
MAX_FORECAST_HOURS = 48  # fw48h is the longest forward window the API offers


class UkGridProvider:
    """NESO national intensity for zone GB; any other zone is a ProviderError."""

    name = "ukgrid"
    simulated = False
    remote = True  # asked over the network: never from a web request (services.fetching)

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_delay: float = 30.0,
        fetch_mix: bool = True,
        history_chunk_days: int = 14,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.fetch_mix = fetch_mix
        # The API refuses /intensity/{from}/{to} ranges longer than 14 days, so history is chunked.
        self.history_chunk = timedelta(days=history_chunk_days)
        self._now = now or (lambda: datetime.now(UTC))
        self.http = HttpClient(
            self.name, timeout=timeout, retries=retries, backoff=backoff, max_delay=max_delay
        )

    def _check(self, zone: ZoneRef) -> None:
        if (zone.provider_code or zone.code).upper() != "GB":
            raise ProviderError("ukgrid covers GB only")

    def _get(self, path: str) -> Any:
        return self.http.get_json(f"{self.base_url}{path}", headers={"Accept": "application/json"})

    # -- the Provider interface -------------------------------------------------------------------

    def current(self, zone: ZoneRef, *, now: datetime | None = None) -> Reading:
        """The current half-hour: the actual value if published yet, else the forecast (estimated)."""
        self._check(zone)
        periods = parse_periods(self._get("/intensity"))
        readings = [r for r in (_actual_reading(p) for p in periods) if r is not None]
        if not readings:
            raise ProviderError("ukgrid /intensity returned no value for the current period")
        reading = readings[-1]
        if self.fetch_mix and reading.renewable_percent is None:
            reading = replace(reading, renewable_percent=self._renewable_percent())
        return reading

    def _renewable_percent(self) -> float | None:
        """The renewable share from /generation, or None if that call fails (not an outage)."""
        try:
            periods = parse_periods(self._get("/generation"))
        except ProviderError as exc:
            logger.warning("ukgrid /generation unavailable: %s", exc)
            return None
        for period in reversed(periods):
            share = renewable_percent(period.get("generationmix"))
            if share is not None:
                return share
        return None

    def forecast(self, zone: ZoneRef, hours: int = 72, *, now: datetime | None = None) -> list[Reading]:
        """Forecast half-hours from now, up to min(hours, 48) ahead; issued_at = fetch time."""
        self._check(zone)
        now = self._now()
        horizon = now + timedelta(hours=max(0, min(int(hours), MAX_FORECAST_HOURS)))
        periods = parse_periods(self._get(f"/intensity/{_fmt(now)}/fw48h"))
        readings: list[Reading] = []
        for period in periods:
            start, end = _period_times(period)
            value = _intensity(period).get("forecast")
            if value is None or end <= now or start >= horizon:
                continue
            readings.append(
                Reading(
                    start=start,
                    end=end,
                    value=intensity_number(value, "ukgrid forecast"),
                    kind="forecast",
                    issued_at=now,
                    renewable_percent=renewable_percent(period.get("generationmix")),
                )
            )
        return _dedupe(readings)

    def history(
        self, zone: ZoneRef, start: datetime, end: datetime, *, now: datetime | None = None
    ) -> list[Reading]:
        """Half-hours overlapping [start, end): actual values, or the forecast flagged estimated
        where NESO never published an actual."""
        self._check(zone)
        readings: list[Reading] = []
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(end, chunk_start + self.history_chunk)
            periods = parse_periods(self._get(f"/intensity/{_fmt(chunk_start)}/{_fmt(chunk_end)}"))
            shares = self._renewable_history(chunk_start, chunk_end) if self.fetch_mix else {}
            for period in periods:
                reading = _actual_reading(period)
                if reading is not None and reading.end > start and reading.start < end:
                    if reading.renewable_percent is None and reading.start in shares:
                        reading = replace(reading, renewable_percent=shares[reading.start])
                    readings.append(reading)
            chunk_start = chunk_end
        return _dedupe(readings)

    def _renewable_history(self, start: datetime, end: datetime) -> dict[datetime, float]:
        """The renewable share per half-hour from /generation/{from}/{to}; {} if that call fails
        (the intensity readings stand without it)."""
        try:
            periods = parse_periods(self._get(f"/generation/{_fmt(start)}/{_fmt(end)}"))
            shares: dict[datetime, float] = {}
            for period in periods:
                share = renewable_percent(period.get("generationmix"))
                if share is not None:
                    shares[_period_times(period)[0]] = share
            return shares
        except ProviderError as exc:
            logger.warning("ukgrid /generation history unavailable: %s", exc)
            return {}

    def zones(self, *, now: datetime | None = None) -> list[str]:
        return ["GB"]


# -- parsing (module functions so tests can feed them payloads directly) ----------------------------


def parse_periods(payload: Any) -> list[dict]:
    """The list of half-hour period objects in a NESO response, whatever shape `data` has."""
    if not isinstance(payload, dict) or "data" not in payload:
        raise ProviderError("ukgrid: response has no 'data'")
    data = payload["data"]
    if isinstance(data, dict):
        # Regional object shape {regionid, ..., data: [...]}, or /generation's single period.
        data = data["data"] if isinstance(data.get("data"), list) else [data]
    if not isinstance(data, list):
        raise ProviderError(f"ukgrid: 'data' is neither a list nor an object: {type(data).__name__}")
    periods: list[dict] = []
    for item in data:
        if not isinstance(item, dict):
            raise ProviderError(f"ukgrid: a period is not an object: {item!r}")
        if isinstance(item.get("data"), list):  # a regional array holding region objects
            periods.extend(p for p in item["data"] if isinstance(p, dict))
        else:
            periods.append(item)
    return periods


def renewable_percent(mix: Any) -> float | None:
    """Sum of the RENEWABLE_FUELS percentages of a generationmix list, or None without one."""
    if not isinstance(mix, list) or not mix:
        return None
    total = 0.0
    for entry in mix:
        if isinstance(entry, dict) and str(entry.get("fuel", "")).lower() in RENEWABLE_FUELS:
            perc = entry.get("perc")
            if isinstance(perc, int | float) and not isinstance(perc, bool):
                total += float(perc)
    return round(min(100.0, total), 2)


def _period_times(period: dict) -> tuple[datetime, datetime]:
    start = parse_time(period.get("from"), field="from")
    end = parse_time(period.get("to"), field="to")
    if end <= start:
        raise ProviderError(f"ukgrid: period ends before it starts: {period.get('from')}..{period.get('to')}")
    return start, end


def _intensity(period: dict) -> dict:
    intensity = period.get("intensity")
    if not isinstance(intensity, dict):
        raise ProviderError("ukgrid: a period has no 'intensity' object")
    return intensity


def _actual_reading(period: dict) -> Reading | None:
    start, end = _period_times(period)
    intensity = _intensity(period)
    actual, forecast = intensity.get("actual"), intensity.get("forecast")
    if actual is None and forecast is None:
        return None
    return Reading(
        start=start,
        end=end,
        value=intensity_number(actual if actual is not None else forecast, "ukgrid intensity"),
        kind="actual",
        # Only the forecast exists (the period is too recent, or NESO never published it).
        estimated=actual is None,
        renewable_percent=renewable_percent(period.get("generationmix")),
    )


def _dedupe(readings: list[Reading]) -> list[Reading]:
    unique: dict[datetime, Reading] = {}
    for reading in readings:
        unique.setdefault(reading.start, reading)
    return [unique[k] for k in sorted(unique)]


def _fmt(moment: datetime) -> str:
    return format_utc(moment, "minutes")  # 2026-01-31T22:00Z, the API's own form


def build() -> UkGridProvider:
    """The provider configured by UKGRID_BASE_URL."""
    return UkGridProvider(
        base_url=settings.UKGRID_BASE_URL,
        **http_settings(),
    )
