"""The simulated provider: deterministic, plausible, labelled, never negative."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

from carbon.providers import get_provider
from carbon.providers.base import ZoneRef
from carbon.providers.simulated import SimulatedProvider, step_value, truth

DE = ZoneRef("DE", "DE", 380.0, "Europe/Berlin")
SE = ZoneRef("SE", "SE", 50.0, "Europe/Stockholm")
AU = ZoneRef("AU", "AU", 670.0, "Australia/Sydney")
NOW = datetime(2026, 3, 10, 12, 7, 30, tzinfo=UTC)


def test_it_gives_the_same_answer_to_the_same_question():
    a, b = SimulatedProvider(), SimulatedProvider()
    assert a.current(DE, now=NOW) == b.current(DE, now=NOW)
    assert a.forecast(DE, 24, now=NOW) == b.forecast(DE, 24, now=NOW)
    start = NOW - timedelta(days=2)
    assert a.history(DE, start, NOW, now=NOW) == b.history(DE, start, NOW, now=NOW)


def test_it_gives_each_zone_its_own_curve():
    other = ZoneRef("XX", "XX", 380.0, "Europe/Berlin")
    days = [NOW + timedelta(hours=h) for h in range(48)]
    assert [truth(DE, t) for t in days] != [truth(other, t) for t in days]


def test_it_aligns_steps_to_the_quarter_hour():
    reading = SimulatedProvider().current(DE, now=NOW)
    assert reading.start == datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert reading.end - reading.start == timedelta(minutes=15)
    history = SimulatedProvider().history(DE, NOW - timedelta(hours=3, minutes=2), NOW, now=NOW)
    assert all(r.start.minute % 15 == 0 and r.start.second == 0 for r in history)
    assert all(b.start == a.end for a, b in zip(history, history[1:], strict=False))
    assert history[-1].start <= NOW < history[-1].end


def test_it_stays_around_the_typical_intensity_and_never_goes_negative():
    provider = SimulatedProvider()
    for zone in (DE, SE, AU):
        year = provider.history(
            zone, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC), now=NOW
        )
        values = [r.value for r in year]
        assert len(values) == 365 * 96
        assert min(values) > 0
        assert abs(statistics.fmean(values) - zone.typical_intensity) < 0.1 * zone.typical_intensity
        assert max(values) < 1.6 * zone.typical_intensity


def test_it_varies_smoothly_from_one_step_to_the_next():
    history = SimulatedProvider().history(DE, NOW - timedelta(days=7), NOW, now=NOW)
    jumps = [abs(b.value - a.value) for a, b in zip(history, history[1:], strict=False)]
    assert max(jumps) < 0.05 * DE.typical_intensity


def test_it_has_a_midday_dip_below_the_evening_peak_in_local_time():
    # Averaged over a month, 13:00 Berlin is cleaner than 19:00 Berlin (UTC+1 in January).
    days = [datetime(2026, 1, d, tzinfo=UTC) for d in range(1, 31)]
    midday = statistics.fmean(step_value(DE, d + timedelta(hours=12)) for d in days)
    evening = statistics.fmean(step_value(DE, d + timedelta(hours=18)) for d in days)
    assert midday < evening * 0.85


def test_it_drifts_with_the_seasons_opposite_in_the_south():
    def month_mean(zone: ZoneRef, month: int) -> float:
        start = datetime(2025, month, 1, tzinfo=UTC)
        return statistics.fmean(step_value(zone, start + timedelta(hours=h)) for h in range(0, 28 * 24))

    assert month_mean(DE, 1) > month_mean(DE, 7)
    assert month_mean(AU, 1) < month_mean(AU, 7)


def test_it_forecasts_with_an_error_that_grows_with_lead_time():
    provider = SimulatedProvider()
    errors_near, errors_far = [], []
    for day in range(20):
        issued_now = NOW + timedelta(days=day, hours=5)
        forecast = provider.forecast(DE, 72, now=issued_now)
        assert all(r.kind == "forecast" and r.issued_at == forecast[0].issued_at for r in forecast)
        assert forecast[0].issued_at == issued_now.replace(minute=0, second=0, microsecond=0)
        assert forecast[-1].end >= issued_now + timedelta(hours=72)
        for r in forecast[:8]:
            errors_near.append(abs(r.value - step_value(DE, r.start)) / step_value(DE, r.start))
        for r in forecast[-8:]:
            errors_far.append(abs(r.value - step_value(DE, r.start)) / step_value(DE, r.start))
    assert statistics.fmean(errors_near) < 0.03
    assert statistics.fmean(errors_far) > 2 * statistics.fmean(errors_near)


def test_it_issues_the_same_forecast_within_the_hour():
    provider = SimulatedProvider()
    assert provider.forecast(DE, 6, now=NOW) == provider.forecast(DE, 6, now=NOW + timedelta(minutes=40))


def test_it_is_registered_and_labelled_simulated():
    provider = get_provider("simulated")
    assert provider.name == "simulated" and provider.simulated is True
    assert "DE" in provider.zones() and len(provider.zones()) == 12
