"""A scriptable provider for service tests, registered under a name of the test's choosing."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from carbon.providers.base import ProviderError, Reading, ZoneRef
from carbon.providers.simulated import floor_step

STEP = timedelta(minutes=15)


class FakeProvider:
    """Answers with a constant value (or raises) and counts every question it is asked."""

    simulated = False
    remote = False  # answers in-process, so web requests may ask it

    def __init__(
        self,
        name: str,
        value: float = 200.0,
        *,
        fail: bool = False,
        forecast: list[float] | None = None,
        signal: str = "average",
    ) -> None:
        self.name = name
        self.value = value
        self.fail = fail
        self.forecast_values = forecast
        self.signal = signal
        self.calls: Counter[str] = Counter()

    def _check(self, what: str) -> None:
        self.calls[what] += 1
        if self.fail:
            raise ProviderError(f"{self.name} is down")

    def current(self, zone: ZoneRef, *, now: datetime) -> Reading:
        self._check("current")
        start = floor_step(now)
        return Reading(start=start, end=start + STEP, value=self.value, signal=self.signal)

    def history(self, zone: ZoneRef, start: datetime, end: datetime, *, now: datetime) -> list[Reading]:
        self._check("history")
        out, step = [], floor_step(start)
        while step < min(end, now):
            out.append(Reading(start=step, end=step + STEP, value=self.value, signal=self.signal))
            step += STEP
        return out

    def forecast(self, zone: ZoneRef, hours: int = 72, *, now: datetime) -> list[Reading]:
        self._check("forecast")
        values = self.forecast_values if self.forecast_values is not None else [self.value] * (hours * 4)
        issued = floor_step(now)
        return [
            Reading(
                start=issued + i * STEP,
                end=issued + (i + 1) * STEP,
                value=v,
                kind="forecast",
                issued_at=issued,
                signal=self.signal,
            )
            for i, v in enumerate(values)
        ]

    def zones(self, *, now: datetime | None = None) -> list[str]:
        return []
