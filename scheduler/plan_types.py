"""The planners' shared types and wording: a leaf that :mod:`scheduler.planner` (one job, re-planning),
:mod:`scheduler.fleet` (many jobs under capacity) and :mod:`scheduler.fleet_slots` all import at the
top, so none of them imports another inside a function. Pure, no ORM.

:class:`PlanRequest` is a job to plan, :class:`Decision` the answer; the formatting helpers and the
reasons here are the ones both planners write into a decision, so one job and a fleet say it alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from carbon.intensity import StepSeries
from hyperweb.lib.timefmt import format_utc

__all__ = [
    "STRATEGIES",
    "Decision",
    "PlanRequest",
    "ReplanResult",
    "fmt_duration",
    "fmt_span",
    "iso",
    "overdue_reason",
    "saving_pct",
    "series_summary",
    "threshold_reason",
]

STRATEGIES = ("best_window", "threshold_now", "no_forecast", "fallback_time", "capacity", "overdue")


@dataclass(frozen=True)
class PlanRequest:
    """One job to plan: it may start at any time in ``[earliest, latest]`` and runs ``duration``.

    ``group`` is what capacity is counted against and whose intensity the run sees (a zone
    code); ``limits`` are further capacity groups the run also counts against (backup targets),
    used by fleet planning only; ``weight`` scales the job's emissions in fleet planning (e.g.
    its energy in kWh; 1 if unknown). ``cost_group``, fleet planning only: the series (a key of
    ``series_by_group``) its starts are ranked on, e.g. the preference series that puts the start
    its risk setting chose first (scheduler.services.planning); empty: its group's own series. Capacity, the
    threshold rule and the figures of the decision always use the group's own series.
    """

    key: str
    earliest: datetime
    latest: datetime
    duration: timedelta
    threshold: float | None = None
    group: str = ""
    weight: float = 1.0
    limits: tuple[str, ...] = ()
    cost_group: str = ""


@dataclass(frozen=True)
class Decision:
    """The planner's answer for one job, with what it was based on.

    ``expected_intensity`` is the mean over the planned run and ``now_intensity`` the mean had it
    started at the earliest possible moment (both gCO2/kWh on the series used; None if unknown).
    ``inputs`` is a JSON-safe summary of the forecast and request.
    """

    key: str
    start: datetime
    end: datetime
    expected_intensity: float | None
    now_intensity: float | None
    expected_saving_pct: float | None
    reason: str
    strategy: str
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (ISO 8601 UTC strings with a ``Z``), for storing on the job."""
        return {
            "key": self.key,
            "start": iso(self.start),
            "end": iso(self.end),
            "expected_intensity": self.expected_intensity,
            "now_intensity": self.now_intensity,
            "expected_saving_pct": self.expected_saving_pct,
            "reason": self.reason,
            "strategy": self.strategy,
            "inputs": dict(self.inputs),
        }


@dataclass(frozen=True)
class ReplanResult:
    decisions: dict[str, Decision]
    changed: list[str]  # keys whose planned start moved


# -- formatting helpers -------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def iso(value: datetime | None) -> str | None:
    # Cached: a fleet plan formats the same few hundred slot times tens of thousands of times.
    if value is None:
        return None
    return format_utc(value, "seconds")


@lru_cache(maxsize=1024)
def fmt_duration(d: timedelta) -> str:
    minutes = round(d.total_seconds() / 60)
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


@lru_cache(maxsize=4096)
def fmt_span(start: datetime, end: datetime, ref: datetime) -> str:
    """``03:00-05:00 UTC``, with the date in front when the start is not on ``ref``'s day."""
    s = start.astimezone(UTC)
    e = end.astimezone(UTC)
    text = f"{s:%H:%M}-{e:%H:%M} UTC"
    if s.date() != ref.astimezone(UTC).date():
        text = f"{s:%Y-%m-%d} {text}"
    return text


def saving_pct(now_value: float | None, expected: float | None) -> float | None:
    if now_value is None or expected is None or now_value <= 0:
        return None
    return (now_value - expected) / now_value * 100.0


def series_summary(series: StepSeries | None, sources: Iterable[str] = ()) -> dict[str, Any]:
    """The forecast part of ``Decision.inputs``: first/last time, number of points, sources."""
    return {
        "series_first": iso(series.first_start) if series is not None and len(series) else None,
        "series_last": iso(series.last_end) if series is not None and len(series) else None,
        "points": len(series) if series is not None else 0,
        "sources": sorted(set(sources)),
    }


# -- reasons both planners give ----------------------------------------------------------------


def overdue_reason(latest: datetime, now_value: float | None = None) -> str:
    """Why a job whose latest start has passed starts at once (plan_job and plan_fleet say it alike)."""
    at = f" (averages {now_value:.0f} g/kWh)" if now_value is not None else ""
    return f"The latest start {iso(latest)} has passed: starting at once{at}."


def threshold_reason(dur: str, value: float, threshold: float) -> str:
    """Why a job starts now under its threshold (plan_job and plan_fleet say it alike)."""
    return (
        f"Starting now: the {dur} run starting now averages {value:.0f} g/kWh, "
        f"at or below the {threshold:.0f} g/kWh threshold."
    )
