"""The what-if page's answer: the distribution of best-window savings over the chosen history, and
the replay of the planner (forecast model vs perfect foresight vs HyperSDK's rule) over the last
30 days.

The replay is the slow part (a forecast every re-plan over 30 days). It depends only on the zone's
data (its data version), the duration and the wait, not on the history chosen for the
distribution: it is cached under exactly those, in the shared cache (Redis when REDIS_URL is set),
for one refresh interval. The workers compute the default inputs of every active zone after each
refresh (carbon.tasks -> warm), so a first view rarely waits for it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from carbon import services as carbon_services
from carbon.intensity import StepSeries
from carbon.models import Zone
from carbon.services.store import cache_allowed
from reports import charts, stats

DEFAULT_INPUTS = (2.0, 4.0, 90)  # duration hours, wait hours, history days: the form's initial values
WHATIF_DAYS = ((30, "last 30 days"), (90, "last 90 days"), (365, "last year"))
# The replay with a real forecast model re-forecasts every hour: ~0.3 s per 30 days, so it runs
# over the most recent 30 days only, whatever the history chosen for the distribution.
BACKTEST_DAYS = 30


def _backtest(series: Any, *, duration: timedelta, flexibility: timedelta) -> dict[str, Any] | None:
    """Average savings of the planner on a forecast model vs perfect foresight vs HyperSDK's rule."""
    from scheduler.backtest import HISTORY, BacktestConfig, run_backtest

    if series is None or not len(series):
        return None
    # The last BACKTEST_DAYS of request times, with the model's history before them if stored.
    series_end = series.last_end
    assert series_end is not None  # not empty
    recent = StepSeries.from_steps(
        s for s in series.steps() if s[1] > series_end - timedelta(days=BACKTEST_DAYS) - HISTORY
    )
    recent_start, recent_end = recent.first_start, recent.last_end
    assert recent_start is not None and recent_end is not None  # holds the last step at least
    start = max(series_end - timedelta(days=BACKTEST_DAYS), recent_start + HISTORY)
    if start > recent_end - timedelta(days=1):
        # A young zone: replay with the week of history the model works with (less than it wants).
        start = recent_start + timedelta(days=7)
    try:
        result = run_backtest(
            recent, BacktestConfig(duration=duration, max_delay=flexibility, forecast="model", start=start)
        )
    except ValueError:  # too little history for the model (it needs a week) or for one job
        return None
    hw = result.policies["hyperweb"]
    return {
        "days": max(1, round((result.last_submit - result.first_submit) / timedelta(days=1))),
        "jobs": result.jobs,
        **{k: v.saving_pct for k, v in result.policies.items()},
        # Regret: the jobs the planner made dirtier than starting at once, what they lost in all
        # (% of run-now emissions) and the worst one (% above its own run-now emissions).
        "worse_pct": hw.worse_share_pct,
        "lost_pct": hw.lost_pct,
        "worst_pct": hw.worst_pct,
        "risk": result.config.risk,
    }


def _ttl() -> int:
    return max(60, settings.CARBON_REFRESH_MINUTES * 60)


def _cached(key: str, compute: Any) -> Any:
    """compute(), kept for one refresh interval (a None answer too: "not enough history")."""
    found = cache.get(key)
    if found is None:
        found = {"value": compute()}
        cache.set(key, found, timeout=_ttl())
    return found["value"]


def replay(zone: Zone, duration_hours: float, flexibility_hours: float, *, version: str | None = None) -> Any:
    """The planner's replay over the last BACKTEST_DAYS (cached; None without enough history)."""
    version = version or carbon_services.data_version(zone.pk)
    key = f"whatif:replay:{zone.pk}:{version}:{float(duration_hours)}:{float(flexibility_hours)}"

    def compute() -> Any:
        from scheduler.backtest import HISTORY

        now = timezone.now()
        info = carbon_services.intensity_series(
            zone, now - timedelta(days=BACKTEST_DAYS) - HISTORY, now, now=now
        )
        return _backtest(
            info.series, duration=timedelta(hours=duration_hours), flexibility=timedelta(hours=flexibility_hours)
        )

    return _cached(key, compute)


def answer(zone: Zone, duration_hours: float, flexibility_hours: float, days: int) -> dict[str, Any]:
    """What the what-if page shows for these inputs (cached under the zone's data version)."""
    version = carbon_services.data_version(zone.pk)
    key = f"whatif:distribution:{zone.pk}:{version}:{float(duration_hours)}:{float(flexibility_hours)}:{days}"

    def compute() -> dict[str, Any]:
        now = timezone.now()
        # Stored actual readings only (the series ends at now): what really happened.
        info = carbon_services.intensity_series(zone, now - timedelta(days=days), now, now=now)
        result = stats.whatif_distribution(
            info.series,
            duration=timedelta(hours=duration_hours),
            flexibility=timedelta(hours=flexibility_hours),
            every=timedelta(minutes=30),
        )
        return {
            "result": result,
            "chart": charts.whatif_histogram(result.percents, median=result.median) if result.starts else "",
            "simulated": info.simulated,
        }

    found = dict(_cached(key, compute))
    found["replay"] = replay(zone, duration_hours, flexibility_hours, version=version)
    return found


def warm() -> int:
    """Compute the default inputs' answer of every active zone (the workers, after a refresh)."""
    if not cache_allowed():
        return 0
    zones = list(Zone.objects.filter(active=True))
    for zone in zones:
        answer(zone, *DEFAULT_INPUTS)
    return len(zones)
