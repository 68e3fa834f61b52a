"""Fetching: per-provider TTL, the provider chain, stale fallback, never a silent guess."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from carbon import services
from carbon.models import CarbonReading, FetchAttempt
from carbon.providers import register, unregister
from tests.carbon.factories import CarbonReadingFactory, ZoneFactory
from tests.carbon.fakes import FakeProvider

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 1, 12, 5, tzinfo=UTC)


@pytest.fixture
def fakes(settings):
    """Two fake providers, "fake-a" then "fake-b", and a zone whose chain is exactly those."""
    a, b = FakeProvider("fake-a", 111.0), FakeProvider("fake-b", 222.0)
    register("fake-a", lambda: a)
    register("fake-b", lambda: b)
    settings.CARBON_PROVIDER_TTL = {"fake-a": 600, "fake-b": 600}
    settings.CARBON_FAILURE_COOLDOWN = 60
    zone = ZoneFactory(code="TZ", providers="fake-a,fake-b")
    yield zone, a, b
    unregister("fake-a")
    unregister("fake-b")


def test_it_does_not_ask_the_provider_again_within_its_ttl(fakes):
    zone, a, _ = fakes
    services.current_intensity(zone, now=NOW)
    services.current_intensity(zone, now=NOW + timedelta(minutes=9))
    assert a.calls["current"] == 1


def test_it_asks_again_once_the_ttl_has_passed(fakes):
    zone, a, _ = fakes
    services.current_intensity(zone, now=NOW)
    reading = services.current_intensity(zone, now=NOW + timedelta(minutes=10, seconds=1))
    assert a.calls["current"] == 2
    assert reading.start == datetime(2026, 4, 1, 12, 15, tzinfo=UTC)


def test_it_reads_the_ttl_per_provider(fakes, settings):
    zone, a, _ = fakes
    settings.CARBON_PROVIDER_TTL = {"fake-a": 60}
    services.current_intensity(zone, now=NOW)
    services.current_intensity(zone, now=NOW + timedelta(minutes=2))
    assert a.calls["current"] == 2
    assert services.provider_ttl("fake-a") == timedelta(seconds=60)
    assert services.provider_ttl("nobody") == timedelta(seconds=settings.CARBON_PROVIDER_TTL_DEFAULT)


def test_it_asks_again_within_the_ttl_when_forced(fakes):
    zone, a, _ = fakes
    services.refresh_zone(zone, now=NOW)
    outcomes = services.refresh_zone(zone, now=NOW + timedelta(minutes=1), force=True)
    assert a.calls["current"] == 2
    assert {o.status for o in outcomes} == {"ok"}


def test_it_moves_down_the_chain_when_a_provider_fails_and_says_so(fakes):
    zone, a, b = fakes
    a.fail = True
    reading = services.current_intensity(zone, now=NOW)
    assert (reading.source, reading.value, reading.stale) == ("fake-b", 222.0, False)
    failed = FetchAttempt.objects.get(provider="fake-a", what="current")
    assert not failed.ok and "fake-a is down" in failed.error and failed.at == NOW
    assert FetchAttempt.objects.get(provider="fake-b", what="current").ok


def test_it_leaves_a_failed_provider_alone_during_the_cooldown(fakes):
    zone, a, b = fakes
    a.fail = True
    services.refresh_zone(zone, now=NOW)
    outcomes = services.refresh_zone(zone, now=NOW + timedelta(seconds=30))
    assert a.calls["current"] == 1
    assert [o.status for o in outcomes if o.provider == "fake-a"] == ["cooldown"] * 3
    services.refresh_zone(zone, now=NOW + timedelta(seconds=61))
    assert a.calls["current"] == 2


def test_it_prefers_the_first_provider_again_once_it_recovers(fakes):
    zone, a, _ = fakes
    a.fail = True
    assert services.current_intensity(zone, now=NOW).source == "fake-b"
    a.fail = False
    assert services.current_intensity(zone, now=NOW + timedelta(minutes=2)).source == "fake-a"


def test_it_serves_the_last_known_data_flagged_stale_when_every_provider_fails(fakes):
    zone, a, b = fakes
    CarbonReadingFactory(
        zone=zone, source="fake-a", start=NOW - timedelta(hours=5), end=NOW - timedelta(hours=4), value=321.0
    )
    a.fail = b.fail = True
    reading = services.current_intensity(zone, now=NOW)
    assert (reading.value, reading.source, reading.stale) == (321.0, "fake-a", True)
    assert reading.start == NOW - timedelta(hours=5)


def test_it_raises_no_data_rather_than_guessing(fakes):
    zone, a, b = fakes
    a.fail = b.fail = True
    with pytest.raises(services.NoData):
        services.current_intensity(zone, now=NOW)
    with pytest.raises(services.NoData):
        services.estimate(zone, 100, 1, now=NOW)


def test_it_treats_an_empty_forecast_as_an_answer_and_looks_further_down_the_chain(fakes):
    zone, a, b = fakes
    a.forecast_values = []
    b.forecast_values = [150.0] * 16
    outcomes = services.refresh_zone(zone, now=NOW)
    forecast = [o for o in outcomes if o.what == "forecast"]
    assert [(o.provider, o.status, o.readings) for o in forecast] == [
        ("fake-a", "ok", 0),
        ("fake-b", "ok", 16),
    ]
    assert FetchAttempt.objects.get(provider="fake-a", what="forecast").ok
    points = services.forecast_points(zone, now=NOW, hours=2)
    assert points[0].source == "fake-a" and points[0].kind == "actual"
    assert {p.source for p in points[1:]} == {"fake-b"} and {p.kind for p in points[1:]} == {"forecast"}


def test_it_records_an_unknown_provider_in_the_chain_as_a_failure(fakes):
    zone, *_ = fakes
    zone.providers = "nosuch,fake-b"
    zone.save()
    reading = services.current_intensity(zone, now=NOW)
    assert reading.source == "fake-b"
    assert "unknown provider 'nosuch'" in FetchAttempt.objects.get(provider="nosuch", what="current").error


def test_it_keeps_the_chain_going_when_a_provider_has_a_bug(fakes):
    zone, a, _ = fakes

    def broken(*args, **kwargs):
        raise KeyError("carbonIntensity")

    a.current = broken
    assert services.current_intensity(zone, now=NOW).source == "fake-b"
    assert "KeyError" in FetchAttempt.objects.get(provider="fake-a", what="current").error


def test_it_logs_every_fetch_outcome(fakes, caplog):
    zone, a, _ = fakes
    a.fail = True
    with caplog.at_level(logging.INFO, logger="carbon.fetch"):
        services.refresh_zone(zone, now=NOW)
    messages = [r.getMessage() for r in caplog.records if r.name == "carbon.fetch"]
    assert any("fake-a/TZ current: failed" in m and "fake-a is down" in m for m in messages)
    assert any(m.startswith("fake-b/TZ current: 1 readings") for m in messages)
    assert any(m.startswith("fake-b/TZ forecast:") for m in messages)


def test_it_fills_the_history_gap_since_the_last_refresh():
    zone = ZoneFactory(code="GAP", providers="simulated")
    services.refresh_zone(zone, now=NOW)
    services.refresh_zone(zone, now=NOW + timedelta(hours=3))
    actual = list(
        CarbonReading.objects.filter(
            zone=zone, kind="actual", start__gte=NOW - timedelta(minutes=5)
        ).order_by("start")
    )
    assert all(b.start == a.end for a, b in zip(actual, actual[1:], strict=False))
    assert actual[-1].start <= NOW + timedelta(hours=3) < actual[-1].end


def test_it_refreshes_every_active_zone_only(fakes):
    zone, a, _ = fakes
    idle = ZoneFactory(code="IDLE", providers="fake-a", active=False)
    # the 12 default zones use the simulated default chain
    outcomes = services.refresh_all_zones(NOW)
    zones = {o.zone for o in outcomes}
    assert "TZ" in zones and "DE" in zones and idle.code not in zones
    assert CarbonReading.objects.filter(zone__code="DE", source="simulated", kind="forecast").exists()
