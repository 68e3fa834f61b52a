"""WattTime v3: marginal (co2_moer) or average (co2_aoer) emissions for a balancing authority.

Login is `GET {base}/login` with HTTP Basic (not under /v3) and returns a token valid 30 minutes.
The token is cached and renewed a little before it expires; a 401 on a data call means it expired
early (or was revoked), so the provider logs in again once and repeats the call.

Values arrive in lbs CO2/MWh and are converted to g/kWh (1 lb/MWh = 0.45359237 g/kWh). The signal
type decides the `signal` of every reading: a marginal signal is never presented as an average one.
Neither the password nor the token ever appears in a URL, a log line or an exception message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from carbon.providers.base import ProviderError, Reading, ZoneRef
from carbon.providers.http import HttpClient, HTTPStatusError, http_settings, intensity_number, parse_time
from hyperweb.lib.timefmt import format_utc

logger = logging.getLogger("carbon.providers")

DEFAULT_BASE_URL = "https://api.watttime.org"
LBS_PER_MWH_TO_G_PER_KWH = 0.45359237  # 1 lb = 453.59237 g and 1 MWh = 1000 kWh
SIGNALS = {"co2_moer": "marginal", "co2_aoer": "average"}
UNIT_FACTORS = {"lbs_co2_per_mwh": LBS_PER_MWH_TO_G_PER_KWH, "g_co2_per_kwh": 1.0}
MAX_FORECAST_HOURS = 72
DEFAULT_PERIOD_SECONDS = 300


class WattTimeProvider:
    """WattTime v3 client; `zone.provider_code` is the WattTime region, e.g. CAISO_NORTH."""

    name = "watttime"
    simulated = False
    remote = True  # asked over the network: never from a web request (services.fetching)

    def __init__(
        self,
        username: str,
        password: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        signal_type: str = "co2_moer",
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_delay: float = 30.0,
        token_lifetime: timedelta = timedelta(minutes=25),
        history_chunk_days: int = 30,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if signal_type not in SIGNALS:
            raise ProviderError(
                f"watttime: signal type {signal_type!r} is not one of {', '.join(sorted(SIGNALS))}"
            )
        self.username = username or ""
        self.password = password or ""
        self.base_url = base_url.rstrip("/")
        self.signal_type = signal_type
        self.signal = SIGNALS[signal_type]
        # Tokens live 30 minutes; renewing at 25 avoids a guaranteed 401 on a long-lived worker.
        self.token_lifetime = token_lifetime
        # /v3/historical answers at most 30 days per call.
        self.history_chunk = timedelta(days=history_chunk_days)
        self._now = now or (lambda: datetime.now(UTC))
        self._token: str | None = None
        self._token_at: datetime | None = None
        self.http = HttpClient(
            self.name,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_delay=max_delay,
            secrets=[self.password],
        )

    # -- authentication ---------------------------------------------------------------------------

    def login(self) -> str:
        """Fetch a fresh token with HTTP Basic and cache it."""
        if not self.username or not self.password:
            raise ProviderError(
                "watttime: no credentials configured (set WATTTIME_USERNAME and WATTTIME_PASSWORD)"
            )
        try:
            payload = self.http.get_json(f"{self.base_url}/login", auth=(self.username, self.password))
        except HTTPStatusError as exc:
            if exc.status in (401, 403):
                raise ProviderError(
                    f"watttime login refused (HTTP {exc.status}): check WATTTIME_USERNAME / WATTTIME_PASSWORD"
                ) from None
            raise
        token = payload.get("token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise ProviderError("watttime login returned no token")
        self.http.add_secret(token)
        self._token, self._token_at = token, self._now()
        logger.info("watttime: logged in as %s", self.username)
        return token

    def _current_token(self) -> str:
        if (
            self._token is None
            or self._token_at is None
            or self._now() - self._token_at >= self.token_lifetime
        ):
            return self.login()
        return self._token

    def _data(self, path: str, params: dict[str, Any]) -> dict:
        """GET a /v3 data endpoint with the bearer token, logging in again once on a 401."""
        url = f"{self.base_url}{path}"
        token = self._current_token()
        try:
            payload = self.http.get_json(url, params=params, headers={"Authorization": f"Bearer {token}"})
        except HTTPStatusError as exc:
            if exc.status != 401:
                raise
            logger.info("watttime: token rejected on %s; logging in again", path)
            token = self.login()
            payload = self.http.get_json(url, params=params, headers={"Authorization": f"Bearer {token}"})
        if not isinstance(payload, dict):
            raise ProviderError(f"watttime {path}: expected a JSON object")
        return payload

    # -- parsing ----------------------------------------------------------------------------------

    def _readings(self, payload: dict, *, what: str, kind: str, fetched_at: datetime) -> list[Reading]:
        raw_meta = payload.get("meta")
        meta = raw_meta if isinstance(raw_meta, dict) else {}
        signal_type = meta.get("signal_type") or self.signal_type
        if signal_type not in SIGNALS:
            raise ProviderError(f"watttime {what}: unexpected signal type {signal_type!r}")
        # lbs_co2_per_mwh is the v3 unit for both CO2 signals, so an absent field means it.
        units = meta.get("units") or "lbs_co2_per_mwh"
        if units not in UNIT_FACTORS:
            raise ProviderError(f"watttime {what}: unexpected units {units!r}")
        factor = UNIT_FACTORS[units]
        period = meta.get("data_point_period_seconds") or DEFAULT_PERIOD_SECONDS
        if isinstance(period, bool) or not isinstance(period, int | float) or period <= 0:
            raise ProviderError(f"watttime {what}: bad data_point_period_seconds {period!r}")
        step = timedelta(seconds=float(period))
        issued_at = None
        if kind == "forecast":
            generated = meta.get("generated_at")
            issued_at = parse_time(generated, field="generated_at") if generated else fetched_at
        data = payload.get("data")
        if data is None:
            data = []
        if not isinstance(data, list):
            raise ProviderError(f"watttime {what}: 'data' is not a list")
        unique: dict[datetime, Reading] = {}
        for point in data:
            if not isinstance(point, dict):
                raise ProviderError(f"watttime {what}: a point is not an object: {point!r}")
            value = point.get("value")
            if value is None:
                continue  # a gap stays a gap
            start = parse_time(point.get("point_time"), field="point_time")
            unique.setdefault(
                start,
                Reading(
                    start=start,
                    end=start + step,
                    value=intensity_number(value, f"watttime {what}") * factor,
                    signal=SIGNALS[signal_type],
                    kind=kind,
                    issued_at=issued_at,
                ),
            )
        return [unique[k] for k in sorted(unique)]

    # -- the Provider interface -------------------------------------------------------------------

    def current(self, zone: ZoneRef, *, now: datetime | None = None) -> Reading:
        """The latest historical point of the past hour (kind "actual").

        When the account may not read history for the region (403/404) or the last hour is
        empty, the first forecast point is returned instead, as kind "forecast" with its issue
        time, so nobody mistakes it for a measurement.
        """
        now = self._now()
        try:
            readings = self._historical(zone, now - timedelta(hours=1), now)
        except HTTPStatusError as exc:
            if exc.status not in (403, 404):
                raise
            logger.info(
                "watttime: no historical access for %s (HTTP %d); using the forecast",
                zone.provider_code,
                exc.status,
            )
            readings = []
        past = [r for r in readings if r.start <= now]
        if past:
            return past[-1]
        ahead = self.forecast(zone, hours=1)
        if not ahead:
            raise ProviderError(f"watttime has no current value for {zone.provider_code}")
        return ahead[0]

    def forecast(self, zone: ZoneRef, hours: int = 72, *, now: datetime | None = None) -> list[Reading]:
        horizon = max(1, min(int(hours), MAX_FORECAST_HOURS))
        fetched_at = self._now()
        payload = self._data(
            "/v3/forecast",
            {"region": zone.provider_code, "signal_type": self.signal_type, "horizon_hours": horizon},
        )
        return self._readings(payload, what="forecast", kind="forecast", fetched_at=fetched_at)

    def history(
        self, zone: ZoneRef, start: datetime, end: datetime, *, now: datetime | None = None
    ) -> list[Reading]:
        readings = self._historical(zone, start, end)
        return [r for r in readings if r.end > start and r.start < end]

    def _historical(self, zone: ZoneRef, start: datetime, end: datetime) -> list[Reading]:
        unique: dict[datetime, Reading] = {}
        chunk_start = start
        while chunk_start < end:
            chunk_end = min(end, chunk_start + self.history_chunk)
            fetched_at = self._now()
            payload = self._data(
                "/v3/historical",
                {
                    "region": zone.provider_code,
                    "signal_type": self.signal_type,
                    "start": _iso(chunk_start),
                    "end": _iso(chunk_end),
                },
            )
            for reading in self._readings(payload, what="historical", kind="actual", fetched_at=fetched_at):
                unique.setdefault(reading.start, reading)  # chunk edges can repeat a point
            chunk_start = chunk_end
        return [unique[k] for k in sorted(unique)]

    def zones(self, *, now: datetime | None = None) -> list[str]:
        """Always []: hyperweb does not ask WattTime for its region list; regions come from zone mappings."""
        return []


def _iso(moment: datetime) -> str:
    return format_utc(moment, "seconds")


def build() -> WattTimeProvider:
    """The provider configured by WATTTIME_USERNAME / _PASSWORD / _BASE_URL / _SIGNAL."""
    return WattTimeProvider(
        username=settings.WATTTIME_USERNAME,
        password=settings.WATTTIME_PASSWORD,
        base_url=settings.WATTTIME_BASE_URL,
        signal_type=settings.WATTTIME_SIGNAL,
        **http_settings(),
    )
