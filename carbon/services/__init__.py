"""Carbon operations shared by the API, the dashboard, the workers and the `carbon` command.

- fetching: ask providers only when stale (per-provider TTL), walk the chain on failure, log and
  record every outcome; readers keep the "nobody needs asking until T" decision in Django's cache
  (`ensure_fresh_cached`);
- refresh: bring zones up to date through fetching, then the built-in forecaster where no
  provider gave a forecast (`refresh_zone`, `refresh_all_zones`);
- store: upsert readings (`store_readings`, `readings_between`), bump the zone's data version
  that cached answers are keyed by (`data_version`, `bump_data_version`), and record each
  source's newest forecast issue (carbon.models.ForecastIssue);
- series: read them back (`current_intensity`, `intensity_series`, `forecast_points`,
  `reading_range`; `actual_rows` + `series_from_rows` for several ranges from one read), and the one notion of stale data (`staleness`: since when, for how long);
- status: `carbon_status` with its rule `next_step_at_or_below`, cached per zone for at most
  CARBON_STATUS_CACHE_SECONDS, never past the step in progress;
- renewables: `renewable_share`, a run's time-weighted mean of the providers' renewable share as
  stored with readings; None when not known (the current reading falls back to the newest recent
  reading that has one: series.current_intensity);
- estimates: `estimate`, a backup's emissions now against the best window ahead;
- data: CSV import, simulated demo data (the worker schedules are in carbon/schedules.py);
- retention: thin out old forecast issues, keeping each UTC day's first (`prune_forecasts`);
- accuracy: how good the stored forecasts were against what was then measured, overall and by
  lead time (`forecast_accuracy`, the zone page's figures);
- modelled: the built-in forecaster's forecast from stored history, for zones whose providers
  give none (`store_model_forecast`, called by `refresh_zone`).
"""

from carbon.services.accuracy import forecast_accuracy
from carbon.services.base import NoData, UnknownZone, energy_model, get_zone, resolve_now
from carbon.services.data import (
    FORMATS,
    ImportResult,
    import_readings,
    load_demo_data,
)
from carbon.services.estimates import Estimate, estimate
from carbon.services.fetching import (
    FetchOutcome,
    denials,
    ensure_fresh,
    ensure_fresh_cached,
    provider_ttl,
)
from carbon.services.modelled import store_model_forecast
from carbon.services.refresh import refresh_all_zones, refresh_zone
from carbon.services.renewables import renewable_share
from carbon.services.retention import prune_forecasts
from carbon.services.series import (
    CurrentIntensity,
    ForecastPoint,
    SeriesInfo,
    Staleness,
    actual_rows,
    current_intensities,
    current_intensity,
    forecast_points,
    intensity_series,
    reading_range,
    series_from_rows,
    staleness,
)
from carbon.services.status import STATUS_WINDOW, CarbonStatus, carbon_status, next_step_at_or_below
from carbon.services.store import (
    StoreResult,
    bump_data_version,
    data_version,
    readings_between,
    store_readings,
)

__all__ = [
    "FORMATS",
    "STATUS_WINDOW",
    "CarbonStatus",
    "CurrentIntensity",
    "Estimate",
    "FetchOutcome",
    "ForecastPoint",
    "ImportResult",
    "NoData",
    "SeriesInfo",
    "Staleness",
    "StoreResult",
    "UnknownZone",
    "actual_rows",
    "bump_data_version",
    "carbon_status",
    "current_intensities",
    "current_intensity",
    "data_version",
    "denials",
    "energy_model",
    "ensure_fresh",
    "ensure_fresh_cached",
    "estimate",
    "forecast_accuracy",
    "forecast_points",
    "get_zone",
    "import_readings",
    "intensity_series",
    "load_demo_data",
    "next_step_at_or_below",
    "provider_ttl",
    "prune_forecasts",
    "series_from_rows",
    "reading_range",
    "readings_between",
    "refresh_all_zones",
    "refresh_zone",
    "renewable_share",
    "resolve_now",
    "store_model_forecast",
    "staleness",
    "store_readings",
]
