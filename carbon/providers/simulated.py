"""A deterministic simulated grid: the offline default, labelled "simulated" wherever it shows.

The same question always gets the same answer: a value depends only on the zone and the time (and,
for a forecast, the issue time), never on global random state. A zone's curve is

    typical x (1 + daily shape + seasonal drift + smooth noise), floored well above zero

- daily shape, in the zone's local time: a midday solar dip and an evening peak;
- seasonal drift: higher in the local winter (southern-hemisphere zones are flipped);
- smooth noise: "value noise", i.e. pseudo-random knots from a hash of (zone, scale, knot index)
  joined by smoothstep curves, at a 6-hour and a 1-hour scale, so weather-like swings last hours.

Steps are 15 minutes, aligned to the quarter hour; a step's value is the curve at its midpoint.

A forecast is that "truth" plus an error that is itself smooth value noise, seeded by the issue
time, whose size grows with lead time (2 % at issue, about 20 % at 72 h). Forecasts are issued on
the hour, so refetching within an hour returns the identical issue, and comparing a forecast with
the later actuals measures a real (if synthetic) forecast error.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from carbon.providers.base import Reading, ZoneRef
from carbon.zones import DEFAULT_ZONES

STEP = timedelta(minutes=15)
_STEP_S = 900
_DAY_S = 86400.0
# Zones whose local winter is June-August: their seasonal term is flipped.
_SOUTHERN_TZ_PREFIXES = ("Australia/", "Pacific/Auckland", "America/Santiago", "America/Argentina")


def floor_step(moment: datetime) -> datetime:
    """The start of the quarter hour containing `moment` (UTC)."""
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % _STEP_S, tz=UTC)


@lru_cache(maxsize=65536)
def _knot(seed: str, index: int) -> float:
    """A pseudo-random number in [-1, 1) fixed by (seed, index): hash-based, no global state."""
    digest = hashlib.blake2b(f"{seed}|{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1.0


def _value_noise(seed: str, t: float, spacing: float) -> float:
    """Smooth noise in [-1, 1]: hashed knots every `spacing` seconds joined by smoothstep."""
    x = t / spacing
    k = math.floor(x)
    f = x - k
    f = f * f * (3.0 - 2.0 * f)
    a = _knot(seed, k)
    return a + (_knot(seed, k + 1) - a) * f


@lru_cache(maxsize=64)
def _tz(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except Exception:  # an unknown name in the admin should not break the demo: use UTC
        return ZoneInfo("UTC")


def _daily(hour: float) -> float:
    evening_peak = 0.08 * math.cos(2 * math.pi * (hour - 19.0) / 24.0)
    solar_dip = -0.15 * math.exp(-0.5 * ((hour - 13.0) / 2.5) ** 2)
    # +0.04 recentres the day so the zone's typical intensity stays its daily mean.
    return evening_peak + solar_dip + 0.04


def _seasonal(local: datetime, timezone: str) -> float:
    day = local.timetuple().tm_yday
    drift = 0.08 * math.cos(2 * math.pi * (day - 15) / 365.25)
    return -drift if timezone.startswith(_SOUTHERN_TZ_PREFIXES) else drift


def truth(zone: ZoneRef, moment: datetime) -> float:
    """The simulated intensity (gCO2eq/kWh) at an instant."""
    t = moment.timestamp()
    local = datetime.fromtimestamp(t, _tz(zone.timezone))
    hour = local.hour + local.minute / 60.0 + local.second / 3600.0
    noise = 0.12 * _value_noise(f"{zone.code}|6h", t, 6 * 3600.0) + 0.05 * _value_noise(
        f"{zone.code}|1h", t, 3600.0
    )
    factor = 1.0 + _daily(hour) + _seasonal(local, zone.timezone) + noise
    # The terms above cannot take the factor below ~0.5; the floor is a guarantee, not a shape.
    return round(max(zone.typical_intensity * max(factor, 0.05), 0.0), 3)


def step_value(zone: ZoneRef, start: datetime) -> float:
    """The value of the 15-minute step starting at `start` (the curve at the step's midpoint)."""
    return truth(zone, start + STEP / 2)


def forecast_error(zone: ZoneRef, issued_at: datetime, target: datetime) -> float:
    """Relative forecast error for `target` as issued at `issued_at`; grows with lead time."""
    lead_hours = max((target - issued_at).total_seconds() / 3600.0, 0.0)
    sigma = 0.02 + 0.0025 * min(lead_hours, 96.0)
    seed = f"{zone.code}|forecast|{int(issued_at.timestamp())}"
    return sigma * _value_noise(seed, target.timestamp(), 3 * 3600.0)


class SimulatedProvider:
    """Deterministic synthetic data for any zone (see the module docstring)."""

    name = "simulated"
    simulated = True
    remote = False

    def _now(self, now: datetime | None) -> datetime:
        return now if now is not None else datetime.now(UTC)

    def current(self, zone: ZoneRef, *, now: datetime | None = None) -> Reading:
        start = floor_step(self._now(now))
        return Reading(start=start, end=start + STEP, value=step_value(zone, start))

    def history(
        self, zone: ZoneRef, start: datetime, end: datetime, *, now: datetime | None = None
    ) -> list[Reading]:
        """Actual steps overlapping [start, end), up to and including the step in progress."""
        stop = min(end, self._now(now))
        readings = []
        step = floor_step(start)
        while step < stop:
            readings.append(Reading(start=step, end=step + STEP, value=step_value(zone, step)))
            step += STEP
        return readings

    def forecast(self, zone: ZoneRef, hours: int = 72, *, now: datetime | None = None) -> list[Reading]:
        """The forecast issued at the top of the current hour, covering at least `hours` from now."""
        moment = self._now(now)
        issued = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        readings = []
        for i in range((int(hours) + 1) * 4):
            start = issued + i * STEP
            actual = step_value(zone, start)
            value = max(actual * (1.0 + forecast_error(zone, issued, start + STEP / 2)), 0.0)
            readings.append(
                Reading(
                    start=start,
                    end=start + STEP,
                    value=round(value, 3),
                    kind="forecast",
                    issued_at=issued,
                )
            )
        return readings

    def zones(self, *, now: datetime | None = None) -> list[str]:
        return [zone["code"] for zone in DEFAULT_ZONES]


def build() -> SimulatedProvider:
    return SimulatedProvider()
