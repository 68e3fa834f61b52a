"""The carbon status cache: per zone, under a data version that every stored reading changes,
never served past the end of the step in progress nor past CARBON_STATUS_CACHE_SECONDS, and
answering exactly what the uncached path answers at each call's own `now`.

These tests run outside a transaction (`transaction=True`): inside one, as in ordinary database
tests, the cache is bypassed on purpose (carbon.services.store.cache_allowed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from carbon import services
from carbon.models import CarbonReading, Zone
from carbon.providers import register, unregister
from carbon.providers.base import Reading
from carbon.services.fetching import ensure_fresh_cached
from tests.carbon.factories import ZoneFactory
from tests.carbon.fakes import FakeProvider

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)  # a step boundary of the fake's 15-minute steps
MIN = timedelta(minutes=1)
STEP = timedelta(minutes=15)
# A forecast with ups and downs, so which steps fall in each 4 h window shows in the answer.
SHAPE = [320.0, 310.0, 190.0, 150.0, 260.0, 400.0, 120.0, 330.0] * 40


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # The local-memory cache outlives each test's database; start and leave it empty.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def steady(settings) -> Iterator[FakeProvider]:
    provider = FakeProvider("steady", 300.0, forecast=SHAPE)
    register("steady", lambda: provider)
    settings.CARBON_PROVIDER_TTL = {"steady": 3600}  # asked once per test unless a test says so
    settings.CARBON_STATUS_CACHE_SECONDS = 3600  # so only the step and the version limit it
    yield provider
    unregister("steady")


@pytest.fixture
def zone(steady) -> Zone:
    zone = ZoneFactory(code="CC", providers="steady")
    # An imported source under the provider, with its own older forecast issue (merged behind).
    services.store_readings(
        zone,
        "csv",
        [
            Reading(
                kind="forecast",
                issued_at=NOW - 6 * STEP,
                start=NOW + i * STEP,
                end=NOW + (i + 1) * STEP,
                value=100.0 + i,
            )
            for i in range(40)
        ],
    )
    return zone


def uncached_status(settings, zone: Zone, threshold: float, now: datetime) -> services.CarbonStatus:
    settings.CARBON_STATUS_CACHE_SECONDS = 0
    try:
        return services.carbon_status(zone, threshold, now=now)
    finally:
        settings.CARBON_STATUS_CACHE_SECONDS = 3600


def sneak_in(zone: Zone, start: datetime, value: float) -> None:
    """An actual step written without bumping the zone's version (bulk_create sends no signal),
    so only the cache's own expiry can make it show."""
    CarbonReading.objects.filter(zone=zone, kind="actual", start=start).delete()
    CarbonReading.objects.bulk_create(
        [CarbonReading(zone=zone, start=start, end=start + STEP, value=value, source="steady")]
    )


def test_it_answers_from_the_cache_exactly_as_without_it_at_each_calls_own_now(zone, settings):
    services.carbon_status(zone, 200, now=NOW + MIN)  # fetches from the fake and caches
    for offset in (MIN, 2 * MIN, timedelta(minutes=7, seconds=13, microseconds=250001), STEP - MIN):
        for threshold in (200, 500, 50):
            now = NOW + offset
            with CaptureQueriesContext(connection) as ctx:
                cached = services.carbon_status(zone, threshold, now=now)
            assert len(ctx.captured_queries) == 0, "served from the cache"
            assert cached == uncached_status(settings, zone, threshold, now)
            assert cached.now == now and cached.forecast[0].start == now
            assert cached.forecast[-1].end == now + services.STATUS_WINDOW


def test_the_api_answers_from_the_cache_as_without_it_apart_from_the_timestamp(viewer_api, zone, settings):
    # Real time here (the view reads the clock); the fake answers for whatever step that is.
    payload = {"zone": "CC", "threshold": 200}
    viewer_api.post("/carbon/status", payload, format="json")
    cached = viewer_api.post("/carbon/status", payload, format="json").json()
    settings.CARBON_STATUS_CACHE_SECONDS = 0
    uncached = viewer_api.post("/carbon/status", payload, format="json").json()

    def without_clock(body: dict) -> dict:
        # The 4 h window starts at each call's own now: its first and last edges move with it.
        points = [dict(p) for p in body["forecast_next_4h"]]
        points[0].update(time=None, start=None)
        points[-1].update(end=None)
        return dict(body, timestamp=None, forecast_next_4h=points)

    assert without_clock(cached) == without_clock(uncached)
    assert cached["timestamp"] != uncached["timestamp"]


def test_storing_new_readings_for_the_zone_shows_at_the_next_call(zone):
    assert services.carbon_status(zone, 200, now=NOW + MIN).current.value == 300
    services.store_readings(zone, "steady", [Reading(start=NOW, end=NOW + STEP, value=111.0)])
    status = services.carbon_status(zone, 200, now=NOW + 2 * MIN)
    assert (status.current.value, status.optimal) == (111, True)


def test_another_zones_readings_leave_its_cached_status_alone(zone):
    other = ZoneFactory(code="OT", providers="steady")
    services.carbon_status(zone, 200, now=NOW + MIN)
    services.store_readings(other, "steady", [Reading(start=NOW, end=NOW + STEP, value=111.0)])
    with CaptureQueriesContext(connection) as ctx:
        assert services.carbon_status(zone, 200, now=NOW + 2 * MIN).current.value == 300
    assert len(ctx.captured_queries) == 0


def test_a_cached_status_is_not_served_after_its_step_ends(zone):
    assert services.carbon_status(zone, 200, now=NOW + MIN).current.value == 300
    sneak_in(zone, NOW, 111.0)  # the step in progress, changed behind the cache's back
    sneak_in(zone, NOW + STEP, 222.0)  # and the next one
    # Within the step the cached answer stands (which is why nothing may write that way) ...
    assert services.carbon_status(zone, 200, now=NOW + STEP - MIN).current.value == 300
    # ... but not a microsecond after it ends.
    after = services.carbon_status(zone, 200, now=NOW + STEP)
    assert after.current.value == 222 and after.current.start == NOW + STEP


def test_a_cached_status_is_not_served_after_its_maximum_age(zone, settings):
    settings.CARBON_STATUS_CACHE_SECONDS = 30
    assert services.carbon_status(zone, 200, now=NOW + MIN).current.value == 300
    sneak_in(zone, NOW, 111.0)
    assert services.carbon_status(zone, 200, now=NOW + MIN + timedelta(seconds=29)).current.value == 300
    assert services.carbon_status(zone, 200, now=NOW + MIN + timedelta(seconds=30)).current.value == 111


def test_a_cached_status_is_not_served_for_an_earlier_now(zone):
    services.carbon_status(zone, 200, now=NOW + MIN)  # fetches: the data is fresh from here on
    cache.clear()
    services.carbon_status(zone, 200, now=NOW + 5 * MIN)  # cached as of 12:05
    sneak_in(zone, NOW, 111.0)
    assert services.carbon_status(zone, 200, now=NOW + 4 * MIN).current.value == 111


def test_zero_seconds_turns_the_cache_off(zone, settings):
    settings.CARBON_STATUS_CACHE_SECONDS = 0
    services.carbon_status(zone, 200, now=NOW + MIN)
    sneak_in(zone, NOW, 111.0)
    with CaptureQueriesContext(connection) as ctx:
        assert services.carbon_status(zone, 200, now=NOW + 2 * MIN).current.value == 111
    # Freshness (current, forecast), recent actuals, newest issue per source, 2 issues' rows.
    assert len(ctx.captured_queries) == 6


def test_it_asks_the_provider_again_when_its_ttl_ends_despite_the_cached_freshness(zone, steady, settings):
    settings.CARBON_PROVIDER_TTL = {"steady": 600}
    ensure_fresh_cached(zone, ("current", "forecast"), now=NOW)
    assert steady.calls == {"current": 1, "forecast": 1}
    with CaptureQueriesContext(connection) as ctx:
        until = ensure_fresh_cached(zone, ("current", "forecast"), now=NOW + 9 * MIN)
    assert len(ctx.captured_queries) == 0 and until == NOW + 10 * MIN
    assert steady.calls == {"current": 1, "forecast": 1}
    ensure_fresh_cached(zone, ("current", "forecast"), now=NOW + 10 * MIN)
    assert steady.calls == {"current": 2, "forecast": 2}


def test_the_status_is_cached_no_longer_than_the_freshness_of_its_data(zone, steady, settings):
    settings.CARBON_PROVIDER_TTL = {"steady": 300}
    services.carbon_status(zone, 200, now=NOW + MIN)
    steady.value = 111.0
    assert services.carbon_status(zone, 200, now=NOW + 5 * MIN).current.value == 300
    assert services.carbon_status(zone, 200, now=NOW + 6 * MIN).current.value == 111  # re-asked


def test_a_repeated_status_call_costs_only_authentication_and_the_zone(viewer_api, steady):
    ZoneFactory(code="QC", providers="steady")
    payload = {"zone": "QC", "threshold": 200}
    assert viewer_api.post("/carbon/status", payload, format="json").status_code == 200  # fetches
    cache.clear()  # a cold cache over data already fresh in the database

    def queries(threshold: float) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = viewer_api.post("/carbon/status", dict(payload, threshold=threshold), format="json")
        assert response.status_code == 200, response.content
        return len(ctx.captured_queries)

    # First: 2 to authenticate (key with user, role groups), the zone, 2 freshness checks, the
    # recent actuals, the newest forecast issue per source, that rows. Then only the 3.
    assert [queries(200), queries(200), queries(350)] == [8, 3, 3]
