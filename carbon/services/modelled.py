"""Model forecasts: the built-in forecaster (carbon/forecaster.py) fed with a zone's stored history.

For a zone whose provider chain gives no forecast (an Electricity Maps free token answers [],
CSV-only zones, a provider without forecasts), the refresh (`fetching.refresh_zone`) calls
`store_model_forecast`, which predicts the next CARBON_FORECAST_HOURS and stores them as
ordinary forecast readings, so planning and the API pick them up like any provider's forecast
(they read the newest issue; a provider in the chain still wins wherever both cover a step).

How the rows are labelled:

- ``kind="forecast"``, ``estimated=True``, ``signal`` = the history's signal;
- ``issued_at`` = now rounded down to the hour, and the model reads only history *before* that
  hour. So an issue is one well-defined prediction ("made at 12:00 from data up to 12:00"), and
  a re-run within the hour upserts the same rows (changed only if late history arrived);
- ``source="model"``, or ``"model+simulated"`` when any step of the history it was built from
  came from the simulated provider (demo data). The rule is by source name, like the rest of
  the product (`carbon.models.source_is_simulated`): a model forecast is "simulated" exactly when its
  input was, and both labels show. A model fed with real data is never called simulated.

With less than MIN_HISTORY of stored actual data in the lookback, or none in the last day, no
forecast is made (a number is never made up); the outcome says why and planning falls back to
its no-forecast rule.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings

from carbon.forecaster import DEFAULT_PARAMS, forecast_from_history
from carbon.models import MODEL_FROM_SIMULATED_SOURCE, MODEL_SOURCE, CarbonReading, Zone
from carbon.providers.base import Reading
from carbon.services.base import resolve_now
from carbon.services.fetching import FORECAST, FetchOutcome
from carbon.services.series import intensity_series
from carbon.services.store import store_readings

log = logging.getLogger("carbon.fetch")

# The profile needs the same time of day on earlier days: with under two days it is one noisy day.
MIN_HISTORY = timedelta(days=2)
# What the forecaster reads: its daily profile days (at least a week, for the weekly term) + 1.
LOOKBACK = timedelta(days=max(int(DEFAULT_PARAMS["days"]), 7) + 1)


def model_issue_time(now: datetime) -> datetime:
    """The issue time of a model forecast made at `now`: the hour it was made in."""
    return resolve_now(now).replace(minute=0, second=0, microsecond=0)


def store_model_forecast(
    zone: Zone, *, now: datetime | None = None, hours: int | None = None
) -> FetchOutcome:
    """Predict the zone's next `hours` (CARBON_FORECAST_HOURS) from its stored actual history and
    store them as a model forecast issued at the hour; see the module docstring.

    Returns a FetchOutcome with provider "model" and what "forecast": "ok" with the counts when
    stored, "skipped" with the reason in `error` when the history is too thin.
    """
    started = time.perf_counter()
    issued = model_issue_time(resolve_now(now))
    hours = settings.CARBON_FORECAST_HOURS if hours is None else hours
    # Only actual readings before the issue hour (end=issued: no forecast is read back).
    info = intensity_series(zone, issued - LOOKBACK, issued, now=issued)
    history = info.series
    covered = timedelta(seconds=history.coverage(issued - LOOKBACK, issued) * LOOKBACK.total_seconds())
    reason = ""
    if covered < MIN_HISTORY:
        reason = (
            f"no model forecast: {covered.total_seconds() / 3600:.1f} h of stored history in the "
            f"{LOOKBACK.days} days before {issued:%Y-%m-%d %H:%M} UTC, it needs "
            f"{MIN_HISTORY.total_seconds() / 3600:.0f} h"
        )
        steps = []
    else:
        steps = forecast_from_history(history, issued, hours=hours)
        if not steps:
            reason = f"no model forecast: no stored history in the day before {issued:%Y-%m-%d %H:%M} UTC"
    if reason:
        log.info("%s: %s", zone.code, reason)
        ms = int((time.perf_counter() - started) * 1000)
        return FetchOutcome(zone.code, MODEL_SOURCE, FORECAST, "skipped", error=reason, duration_ms=ms)

    source = MODEL_FROM_SIMULATED_SOURCE if info.simulated else MODEL_SOURCE
    readings = [
        Reading(
            start=s,
            end=e,
            value=round(v, 3),
            signal=info.signal,
            kind=CarbonReading.Kind.FORECAST.value,
            issued_at=issued,
            estimated=True,
        )
        for s, e, v in steps
    ]
    stored = store_readings(zone, source, readings)
    ms = int((time.perf_counter() - started) * 1000)
    log.info(
        "%s/%s forecast: %d steps issued %s from %.0f h of history (%d new, %d updated) in %d ms",
        source,
        zone.code,
        stored.stored,
        issued.isoformat(),
        covered.total_seconds() / 3600,
        stored.created,
        stored.updated,
        ms,
    )
    return FetchOutcome(
        zone.code,
        source,
        FORECAST,
        "ok",
        readings=stored.stored,
        created=stored.created,
        updated=stored.updated,
        duration_ms=ms,
    )
