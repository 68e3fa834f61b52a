"""Refreshing zones: every kind of data through the provider chain (carbon.services.fetching), then,
when no provider gave a forecast, the built-in forecaster's (carbon.services.modelled).

It sits above both: the forecaster reads the stored series, which reads through fetching.
"""

from __future__ import annotations

import logging
from datetime import datetime

from carbon.models import Zone
from carbon.services.base import resolve_now
from carbon.services.fetching import ALL_WHATS, FORECAST, FetchOutcome, ensure_fresh
from carbon.services.modelled import store_model_forecast

log = logging.getLogger("carbon.fetch")


def refresh_zone(zone: Zone, *, now: datetime | None = None, force: bool = False) -> list[FetchOutcome]:
    """Bring a zone's current reading, recent history and forecast up to date (TTL permitting).

    When no provider in the chain has a forecast (asked now or fresh within its TTL), the built-in
    forecaster predicts one from the stored history (`modelled.store_model_forecast`); its
    outcome, or why it made none, is the last of the list.
    """
    now = resolve_now(now)
    outcomes = ensure_fresh(zone, ALL_WHATS, now=now, force=force)
    if not any(o.what == FORECAST and o.ok and o.readings > 0 for o in outcomes):
        try:
            outcomes.append(store_model_forecast(zone, now=now))
        except Exception as exc:  # the providers' outcomes above stand whatever the model does
            log.exception("%s: model forecast failed", zone.code)
            outcomes.append(
                FetchOutcome(zone.code, "model", FORECAST, "failed", error=f"{type(exc).__name__}: {exc}")
            )
    return outcomes


def refresh_all_zones(now: datetime | None = None, *, force: bool = False) -> list[FetchOutcome]:
    """Refresh every active zone; one zone's trouble does not stop the others."""
    outcomes: list[FetchOutcome] = []
    for zone in Zone.objects.filter(active=True):
        try:
            outcomes.extend(refresh_zone(zone, now=now, force=force))
        except Exception:
            log.exception("refreshing %s failed", zone.code)
    return outcomes
