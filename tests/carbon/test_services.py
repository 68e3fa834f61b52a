"""Storing readings, reading them back as one series, estimates, demo data and schedules."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django_q.models import Schedule

from carbon import schedules as carbon_schedules
from carbon import services
from carbon.models import CarbonReading, FetchAttempt, ForecastIssue, Zone
from carbon.providers import register, unregister
from carbon.providers.base import Reading
from hyperweb.schedules import register_all
from tests.carbon.factories import ZoneFactory
from tests.carbon.fakes import FakeProvider

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def actual(hour: float, value: float, hours: float = 1, **kw) -> Reading:
    start = NOW + timedelta(hours=hour)
    return Reading(start=start, end=start + timedelta(hours=hours), value=value, **kw)


def forecast(hour: float, value: float, issued: datetime, **kw) -> Reading:
    start = NOW + timedelta(hours=hour)
    return Reading(start=start, end=start + H, value=value, kind="forecast", issued_at=issued, **kw)


@pytest.fixture
def quiet(settings):
    """A zone whose only provider has nothing new to say, so only stored data counts."""
    provider = FakeProvider("quiet", fail=True)
    register("quiet", lambda: provider)
    settings.CARBON_FAILURE_COOLDOWN = 0
    yield ZoneFactory(code="Q", providers="quiet")
    unregister("quiet")


# -- storing --------------------------------------------------------------------------------------


def test_it_updates_a_refetched_period_instead_of_duplicating_it():
    zone = ZoneFactory()
    first = services.store_readings(zone, "p", [actual(0, 100), actual(1, 110)])
    again = services.store_readings(zone, "p", [actual(0, 100), actual(1, 120), actual(2, 130)])
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert (again.created, again.updated, again.unchanged) == (1, 1, 1)
    rows = CarbonReading.objects.filter(zone=zone).order_by("start")
    assert [r.value for r in rows] == [100, 120, 130]


def test_it_keeps_every_forecast_issue_and_updates_within_one():
    zone = ZoneFactory()
    first, second = NOW - 2 * H, NOW - H
    services.store_readings(zone, "p", [forecast(0, 100, first), forecast(1, 100, first)])
    services.store_readings(zone, "p", [forecast(0, 90, second), forecast(1, 95, second)])
    result = services.store_readings(zone, "p", [forecast(0, 91, second)])
    assert (result.created, result.updated) == (0, 1)
    issues = CarbonReading.objects.filter(zone=zone, kind="forecast").values_list("issued_at", "value")
    assert sorted(issues) == [(first, 100), (first, 100), (second, 91), (second, 95)]


def test_it_keeps_sources_and_signals_apart_when_storing():
    zone = ZoneFactory()
    services.store_readings(zone, "a", [actual(0, 100)])
    services.store_readings(zone, "b", [actual(0, 200)])
    services.store_readings(zone, "a", [actual(0, 300, signal="marginal")])
    assert CarbonReading.objects.filter(zone=zone).count() == 3


def test_it_skips_readings_it_cannot_store():
    zone = ZoneFactory()
    bad = [
        Reading(start=NOW, end=NOW, value=1.0),
        actual(0, float("nan")),
        actual(1, -5.0),
        Reading(start=NOW, end=NOW + H, value=1.0, kind="forecast"),
    ]
    result = services.store_readings(zone, "p", [*bad, actual(2, 10.0)])
    assert (result.created, result.skipped) == (1, 4)


def test_it_lists_readings_overlapping_a_range():
    zone = ZoneFactory()
    services.store_readings(zone, "p", [actual(h, 100 + h) for h in range(5)])
    rows = services.readings_between(zone, NOW + timedelta(minutes=90), NOW + 3 * H, "actual")
    assert [r.value for r in rows] == [101, 102]


def test_it_finds_zones_case_insensitively():
    assert services.get_zone("de").code == "DE"
    assert services.get_zone(" us-cal-ciso ").code == "US-CAL-CISO"
    with pytest.raises(services.UnknownZone, match="unknown zone 'NOPE'"):
        services.get_zone("NOPE")


# -- the merged series ----------------------------------------------------------------------------


def test_it_merges_actuals_up_to_now_with_the_newest_forecast_after(quiet):
    zone = quiet
    services.store_readings(zone, "quiet", [actual(h, 100) for h in range(-3, 0)])
    services.store_readings(zone, "quiet", [forecast(h, 500, NOW - 3 * H) for h in range(-3, 4)])
    services.store_readings(zone, "quiet", [forecast(h, 300, NOW - H) for h in range(-1, 4)])
    services.store_readings(zone, "quiet", [forecast(h, 900, NOW + H) for h in range(1, 4)])  # not yet issued
    info = services.intensity_series(zone, NOW - 3 * H, NOW + 3 * H, now=NOW)
    assert [(p.kind, p.value) for p in info.points] == [("actual", 100)] * 3 + [("forecast", 300)] * 3
    assert info.series.mean(NOW - 3 * H, NOW + 3 * H) == pytest.approx(200)
    assert (info.sources, info.simulated, info.stale, info.forecast_only) == ({"quiet"}, False, False, False)


def test_it_remembers_each_sources_newest_forecast_issue_when_storing():
    zone = ZoneFactory()
    services.store_readings(zone, "p", [forecast(h, 300, NOW - H) for h in range(0, 72)])  # to +72 h
    services.store_readings(zone, "p", [forecast(h, 300, NOW) for h in range(1, 3)])  # newer, shorter
    services.store_readings(zone, "p", [forecast(h, 300, NOW) for h in range(3, 5)])  # its next page
    services.store_readings(zone, "p", [forecast(h, 300, NOW - 2 * H) for h in range(0, 3)])  # older
    services.store_readings(zone, "p", [forecast(h, 900, NOW, signal="marginal") for h in range(0, 1)])
    services.store_readings(zone, "q", [forecast(h, 300, NOW - 5 * H) for h in range(0, 1)])
    rows = {
        (i.source, i.signal): (i.issued_at, i.first_start, i.last_end, i.ends_at)
        for i in ForecastIssue.objects.filter(zone=zone)
    }
    assert rows == {
        ("p", "average"): (NOW, NOW + H, NOW + 5 * H, NOW + 72 * H),
        ("p", "marginal"): (NOW, NOW, NOW + H, NOW + H),
        ("q", "average"): (NOW - 5 * H, NOW, NOW + H, NOW + H),
    }


def grouped_series(zone: Zone, start: datetime, end: datetime, now: datetime) -> list[tuple]:
    """The series as it was read before ForecastIssue: by grouping the stored forecast rows."""
    remembered = list(ForecastIssue.objects.filter(zone=zone).values())
    ForecastIssue.objects.filter(zone=zone).delete()
    try:
        return [vars(p) for p in services.intensity_series(zone, start, end, now=now).points]
    finally:
        ForecastIssue.objects.bulk_create(ForecastIssue(**row) for row in remembered)


@pytest.mark.parametrize("hours_from_now", [-2, 0, 0.5, 3, 30, 80])
def test_the_recorded_newest_issues_give_the_series_grouping_the_readings_gives(quiet, hours_from_now):
    zone = quiet
    day_ahead = NOW.replace(hour=0) + 24 * H
    services.store_readings(zone, "quiet", [actual(h, 100) for h in range(-3, 0)])
    # Hourly 72 h issues, then a newer short one, then a day-ahead one for tomorrow only: the
    # newest issue does not always reach the range, an older one does.
    for issue in range(-6, 0):
        services.store_readings(
            zone, "quiet", [forecast(h, 300 + issue, NOW + issue * H) for h in range(issue, 72)]
        )
    services.store_readings(zone, "quiet", [forecast(h, 200, NOW) for h in range(0, 2)])
    services.store_readings(
        zone, "quiet", [forecast(h, 700, NOW + 0.5 * H) for h in range(int((day_ahead - NOW) / H), 36)]
    )
    services.store_readings(zone, "csv", [forecast(h, 50, NOW - 400 * H) for h in range(-400, -300)])  # 2020
    services.store_readings(
        zone, "csv", [forecast(h, 60, NOW + 2 * H) for h in range(2, 9)]
    )  # not yet issued
    now = NOW + timedelta(hours=hours_from_now)
    for start, end in ((now, now + 4 * H), (now - 2 * H, now + 24 * H), (now + 20 * H, now + 40 * H)):
        recorded = [vars(p) for p in services.intensity_series(zone, start, end, now=now).points]
        assert recorded == grouped_series(zone, start, end, now)


def test_it_reads_the_newest_issues_by_one_lookup_without_grouping_the_readings(quiet):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    zone = quiet
    for issue in range(-6, 1):
        services.store_readings(zone, "quiet", [forecast(h, 300, NOW + issue * H) for h in range(issue, 72)])
    services.store_readings(zone, "csv", [forecast(h, 50, NOW - 400 * H) for h in range(-400, -300)])
    with CaptureQueriesContext(connection) as ctx:
        points = services.intensity_series(zone, NOW, NOW + 4 * H, now=NOW).points
    assert {p.source for p in points} == {"quiet"} and len(points) == 4
    sql = [q["sql"] for q in ctx.captured_queries]
    assert not any("MAX(" in q.upper() or "GROUP BY" in q.upper() for q in sql), sql
    # The actuals, the forecast probe that picks the signal (no actual here), the recorded
    # issues, the newest issue's rows; the 2020 csv issue is passed over unread.
    assert len(sql) == 4, sql


def test_it_falls_back_to_grouping_when_the_recorded_issue_has_no_rows_left(quiet):
    zone = quiet
    services.store_readings(zone, "quiet", [forecast(h, 300, NOW - H) for h in range(0, 4)])
    services.store_readings(zone, "quiet", [forecast(h, 200, NOW) for h in range(0, 4)])
    CarbonReading.objects.filter(zone=zone, issued_at=NOW).delete()  # e.g. removed by hand
    points = services.intensity_series(zone, NOW, NOW + 4 * H, now=NOW).points
    assert [p.value for p in points] == [300] * 4


def test_it_starts_the_forecast_where_the_actuals_end(quiet):
    zone = quiet
    services.store_readings(zone, "quiet", [actual(0, 100, hours=0.25)])  # the step in progress
    services.store_readings(zone, "quiet", [forecast(h, 300, NOW) for h in range(0, 2)])
    info = services.intensity_series(zone, NOW, NOW + 2 * H, now=NOW + timedelta(minutes=5))
    assert info.points[0].end == info.points[1].start == NOW + timedelta(minutes=15)
    assert info.series.mean(NOW, NOW + 2 * H) == pytest.approx((100 * 0.25 + 300 * 1.75) / 2)


def test_it_prefers_the_chain_order_and_fills_gaps_from_other_sources(quiet, settings):
    zone = quiet
    services.store_readings(zone, "csv", [actual(h, 50) for h in range(-4, 0)])
    services.store_readings(zone, "quiet", [actual(-3, 100), actual(-1, 100, hours=0.5)])
    info = services.intensity_series(zone, NOW - 4 * H, NOW, now=NOW)
    pieces = [(p.start.hour, p.start.minute, p.value, p.source) for p in info.points]
    assert pieces == [
        (8, 0, 50, "csv"),
        (9, 0, 100, "quiet"),
        (10, 0, 50, "csv"),
        (11, 0, 100, "quiet"),
        (11, 30, 50, "csv"),
    ]
    assert info.sources == {"csv", "quiet"}


def test_it_never_mixes_average_and_marginal_signals(quiet):
    zone = quiet
    services.store_readings(zone, "quiet", [actual(h, 900, signal="marginal") for h in range(-2, 0)])
    services.store_readings(zone, "csv", [actual(h, 100) for h in range(-2, 0)])
    zone.providers = "quiet"
    info = services.intensity_series(zone, NOW - 2 * H, NOW, now=NOW)
    assert {p.value for p in info.points} == {900} and info.signal == "marginal"


def test_it_flags_old_data_stale_and_forecast_only_series(quiet):
    zone = quiet
    services.store_readings(zone, "quiet", [actual(-6, 100)])
    assert services.intensity_series(zone, NOW - 8 * H, NOW + H, now=NOW).stale is True
    assert services.intensity_series(zone, NOW - 8 * H, NOW - 4 * H, now=NOW).stale is False
    services.store_readings(zone, "quiet", [forecast(h, 300, NOW) for h in range(0, 3)])
    info = services.intensity_series(zone, NOW, NOW + 3 * H, now=NOW)
    assert info.forecast_only is True and info.stale is False


def test_it_reports_the_current_step_with_its_labels():
    zone = Zone.objects.get(code="DE")
    current = services.current_intensity(zone, now=NOW + timedelta(minutes=7))
    assert current.start == NOW and current.end == NOW + timedelta(minutes=15)
    assert (current.source, current.simulated, current.stale, current.kind) == (
        "simulated",
        True,
        False,
        "actual",
    )
    assert current.quality in {"excellent", "good", "moderate", "poor", "very poor"}


def test_it_shows_a_forecast_for_now_as_a_forecast_when_no_actual_exists(quiet):
    zone = quiet
    services.store_readings(zone, "quiet", [forecast(0, 250, NOW - H)])
    current = services.current_intensity(zone, now=NOW + timedelta(minutes=10))
    assert (current.value, current.kind, current.stale) == (250, "forecast", False)


def test_it_lists_forecast_points_from_the_step_in_progress():
    zone = Zone.objects.get(code="FR")
    points = services.forecast_points(zone, now=NOW + timedelta(minutes=7), hours=4)
    assert points[0].kind == "actual" and all(p.kind == "forecast" for p in points[1:])
    assert points[-1].end == NOW + timedelta(hours=4, minutes=7)
    assert all(p.simulated and p.source == "simulated" for p in points)


# -- the status answer ----------------------------------------------------------------------------


def point(hour: float, value: float) -> services.ForecastPoint:
    start = NOW + timedelta(hours=hour)
    return services.ForecastPoint(start, start + H, value, "good", "x", False, "forecast")


def test_it_finds_the_first_upcoming_step_at_or_below_a_threshold():
    points = [point(0, 100), point(1, 250), point(2, 200), point(3, 150)]
    # The step in progress does not count as "upcoming", however clean; "at" the threshold does.
    assert services.next_step_at_or_below(points, 200, NOW + timedelta(minutes=5)) is points[2]
    assert services.next_step_at_or_below(points, 90, NOW) is None


def test_it_answers_the_status_with_the_next_step_at_or_below_the_threshold(quiet):
    services.store_readings(quiet, "quiet", [actual(-1, 260), actual(0, 300)])
    services.store_readings(
        quiet, "quiet", [forecast(h, v, NOW - H) for h, v in ((1, 320), (2, 190), (3, 150))]
    )
    status = services.carbon_status(quiet, 200, now=NOW + timedelta(minutes=10))
    assert (status.current.value, status.optimal, status.threshold) == (300, False, 200)
    assert status.next_optimal.start == NOW + 2 * H and status.next_optimal.value == 190
    assert [p.value for p in status.forecast] == [300, 320, 190, 150]
    assert "300 gCO2/kWh" in status.reasoning and "starts 14:00 UTC" in status.reasoning

    now_clean = services.carbon_status(quiet, 300, now=NOW + timedelta(minutes=10))
    assert now_clean.optimal and now_clean.next_optimal is None
    nothing = services.carbon_status(quiet, 100, now=NOW + timedelta(minutes=10))
    assert nothing.next_optimal is None and "No step in the next 4 h" in nothing.reasoning


def test_it_uses_the_default_threshold_when_none_or_zero_is_given(quiet, settings):
    settings.CARBON_DEFAULT_THRESHOLD = 280
    services.store_readings(quiet, "quiet", [actual(0, 300)])
    for threshold in (None, 0):
        status = services.carbon_status(quiet, threshold, now=NOW + timedelta(minutes=10))
        assert status.threshold == 280 and not status.optimal


def test_the_status_agrees_with_the_current_reading_and_the_forecast_points():
    zone = Zone.objects.get(code="FR")
    at = NOW + timedelta(minutes=7)
    status = services.carbon_status(zone, now=at)
    assert status.current == services.current_intensity(zone, now=at, refresh=False)
    assert status.forecast == services.forecast_points(zone, now=at, hours=4)


def test_it_falls_back_to_the_last_stale_reading_in_the_status(quiet):
    services.store_readings(quiet, "quiet", [actual(-5, 240)])
    status = services.carbon_status(quiet, 200, now=NOW)
    assert (status.current.value, status.current.stale, status.forecast) == (240, True, [])
    assert "stale" in status.reasoning


def test_it_defaults_a_reading_range_to_the_day_before_or_after_now():
    assert services.reading_range("actual", None, None, now=NOW) == (NOW - 24 * H, NOW)
    assert services.reading_range("forecast", None, None, now=NOW) == (NOW, NOW + 24 * H)
    assert services.reading_range("actual", None, NOW, now=NOW) == (NOW - 24 * H, NOW)
    assert services.reading_range("actual", NOW, None) == (NOW, NOW + 24 * H)
    assert services.reading_range("actual", NOW, NOW + H) == (NOW, NOW + H)


# -- estimates ------------------------------------------------------------------------------------


def test_it_estimates_the_best_window_over_the_whole_run(quiet, settings):
    zone = quiet
    # A single clean hour at +5 h is beaten by the two cleaner-on-average hours at +10..+12 h.
    values = [400] * 24
    values[5] = 50
    values[10] = values[11] = 150
    services.store_readings(zone, "quiet", [actual(0, 400, hours=0.25)])
    services.store_readings(zone, "quiet", [forecast(h, v, NOW) for h, v in enumerate(values)])
    settings.ENERGY_BASE_WATTS, settings.ENERGY_WATTS_PER_TB, settings.ENERGY_PUE = 100.0, 50.0, 1.0
    est = services.estimate(zone, 1000, 2, now=NOW, horizon_hours=20)
    assert est.best_start == NOW + 10 * H and est.best_intensity == pytest.approx(150)
    assert est.current_intensity == pytest.approx(400)
    assert est.energy_kwh == pytest.approx(0.3)  # (100 + 50) W x 2 h
    assert est.current_emissions_kg == pytest.approx(0.12)
    assert est.savings_kg == pytest.approx(0.075) and est.savings_percent == pytest.approx(62.5)
    assert est.delay_minutes == 600
    assert "Wait 10 h" in est.recommendation and "(simulated data)" not in est.recommendation
    assert est.sources == ["quiet"] and est.simulated is False and est.stale is False


def test_it_recommends_starting_now_when_nothing_is_cleaner(quiet):
    zone = quiet
    services.store_readings(zone, "quiet", [actual(0, 100, hours=0.25)])
    services.store_readings(zone, "quiet", [forecast(h, 100 + h, NOW) for h in range(10)])
    est = services.estimate(zone, 10, 1, now=NOW, horizon_hours=6)
    assert est.delay_minutes == 0 and est.savings_kg == 0 and est.best_start == NOW
    assert est.recommendation.startswith("Start now")


def test_it_uses_the_configured_horizon(quiet, settings):
    zone = quiet
    values = [400] * 30
    values[20] = 10
    services.store_readings(zone, "quiet", [forecast(h, v, NOW) for h, v in enumerate(values)])
    settings.CARBON_ESTIMATE_HORIZON_HOURS = 12
    assert services.estimate(zone, 10, 1, now=NOW).best_intensity == 400
    settings.CARBON_ESTIMATE_HORIZON_HOURS = 24
    assert services.estimate(zone, 10, 1, now=NOW).best_intensity == 10


def test_it_labels_an_estimate_on_simulated_data():
    est = services.estimate(Zone.objects.get(code="DE"), 500, 2, now=NOW)
    assert est.simulated and "(simulated data)" in est.recommendation
    assert est.best_intensity <= est.current_intensity and est.savings_kg >= 0
    assert est.forecast and est.forecast[0].start == NOW


def test_it_refuses_a_nonsense_estimate():
    with pytest.raises(ValueError):
        services.estimate(Zone.objects.get(code="DE"), 0, 2, now=NOW)


# -- demo data and schedules ----------------------------------------------------------------------


def test_it_loads_demo_data_for_every_active_zone_idempotently(settings):
    settings.CARBON_FORECAST_HOURS = 24
    Zone.objects.filter(code="IN").update(active=False)
    started = time.perf_counter()
    created = services.load_demo_data(days=2, now=NOW)
    assert time.perf_counter() - started < 10
    per_zone = 2 * 96 + (24 + 1) * 4
    assert created == 11 * per_zone == CarbonReading.objects.count()
    assert not CarbonReading.objects.filter(zone__code="IN").exists()
    assert services.load_demo_data(days=2, now=NOW) == 0
    assert CarbonReading.objects.count() == 11 * per_zone
    assert set(CarbonReading.objects.values_list("source", flat=True)) == {"simulated"}
    # the load counts as a fetch, so the first refresh after it finds the data fresh
    outcomes = services.refresh_zone(Zone.objects.get(code="DE"), now=NOW + timedelta(minutes=1))
    assert {o.status for o in outcomes} == {"cached"}
    assert FetchAttempt.objects.filter(zone__code="DE", ok=True).count() == 6


def test_it_registers_the_refresh_schedule_once_by_name(settings):
    register_all()
    settings.CARBON_REFRESH_MINUTES = 5
    register_all()
    schedule = Schedule.objects.get(name=carbon_schedules.REFRESH_SCHEDULE)
    assert (schedule.func, schedule.minutes, schedule.repeats) == ("carbon.tasks.refresh_all_zones", 5, -1)
    assert schedule.schedule_type == Schedule.MINUTES


def test_the_refresh_task_refreshes_active_zones():
    from carbon import tasks

    summary = tasks.refresh_all_zones()
    assert summary["zones"] == 12 and summary["failed"] == 0
    zone = Zone.objects.get(code="SE")
    assert tasks.refresh_zone(zone.id)["zone"] == "SE"
    assert CarbonReading.objects.filter(zone=zone, kind="forecast").exists()


def test_a_series_built_from_rows_read_once_over_a_wider_range_is_the_one_read_for_its_own_range():
    zone = ZoneFactory()
    # Two sources: "a" with overlapping steps, "b" filling its gaps; a marginal signal in each.
    services.store_readings(zone, "a", [actual(h, 100 + h, hours=1.5) for h in range(-30, 6, 2)])
    services.store_readings(zone, "b", [actual(h / 2, 50 + h, hours=0.5) for h in range(-70, 8)])
    services.store_readings(zone, "b", [actual(h, 900, signal="marginal") for h in range(-20, 0)])
    services.store_readings(zone, "a", [actual(h, 700, signal="marginal") for h in range(-60, -50)])
    services.store_readings(zone, "a", [forecast(h, 300, NOW - H) for h in range(-1, 6)])
    rows = services.actual_rows(zone, NOW - 100 * H, NOW + 6 * H, now=NOW)
    for start, end in [
        (NOW - 100 * H, NOW + 6 * H),
        (NOW - 20.25 * H, NOW - 3 * H),
        (NOW - 7 * H, NOW),
        (NOW - 5.5 * H, NOW + 2 * H),  # past now: the forecast is read on as intensity_series does
        (NOW - 70 * H, NOW - 45 * H),  # only the marginal signal there
        (NOW - 90 * H, NOW - 80 * H),  # nothing there
    ]:
        for with_points in (True, False):
            expected = services.intensity_series(zone, start, end, now=NOW, with_points=with_points)
            got = services.series_from_rows(zone, rows, start, end, now=NOW, with_points=with_points)
            assert got.series.steps() == expected.series.steps()
            assert {**vars(got), "series": None} == {**vars(expected), "series": None}


def test_actual_rows_are_the_rows_the_orm_reads_to_the_microsecond_and_time_zone():
    from carbon.services.series import _rows

    zone = ZoneFactory()
    services.store_readings(zone, "a", [actual(h, 100.25 + h, hours=1.5) for h in range(-30, 6, 2)])
    odd = NOW - timedelta(hours=3, microseconds=123_457)
    services.store_readings(zone, "b", [Reading(start=odd, end=odd + timedelta(seconds=301.5), value=7.0)])
    services.store_readings(zone, "a", [forecast(h, 300, NOW - H) for h in range(-1, 6)])
    rows = services.actual_rows(zone, NOW - 100 * H, NOW + 6 * H, now=NOW)
    expected = _rows(zone, "actual", NOW - 100 * H, NOW + 6 * H, start__lte=NOW)
    assert sorted(rows) == sorted(expected) and len(rows) == 17
    assert all(type(r[0]) is datetime and r[0].tzinfo is expected[0][0].tzinfo for r in rows)
    assert any(r[0] == odd for r in rows)
