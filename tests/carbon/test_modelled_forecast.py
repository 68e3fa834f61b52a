"""The built-in forecaster in the product: a zone without a provider forecast gets a model one."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from carbon import services
from carbon.models import CarbonReading
from carbon.providers import register, unregister
from carbon.providers.base import Reading, ZoneRef
from carbon.providers.simulated import floor_step
from carbon.services.series import intensity_series
from tests.carbon.factories import ZoneFactory
from tests.carbon.fakes import STEP, FakeProvider

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 1, 12, 5, tzinfo=UTC)
ISSUED = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
HOURS_NS = 3600 * 10**9


def daily(t: datetime) -> float:
    """A clean daily cycle: 500 g/kWh at 03:00 UTC, 100 at 15:00."""
    hour = t.hour + t.minute / 60
    return 300.0 + 200.0 * math.cos(2 * math.pi * (hour - 3) / 24)


class PatternProvider(FakeProvider):
    """Real-looking actuals following `daily`, and no forecast (like an Electricity Maps free token)."""

    def current(self, zone: ZoneRef, *, now: datetime) -> Reading:
        self._check("current")
        start = floor_step(now)
        return Reading(start=start, end=start + STEP, value=daily(start))

    def history(self, zone: ZoneRef, start: datetime, end: datetime, *, now: datetime) -> list[Reading]:
        self._check("history")
        out, step = [], floor_step(start)
        while step < min(end, now):
            out.append(Reading(start=step, end=step + STEP, value=daily(step)))
            step += STEP
        return out

    def forecast(self, zone: ZoneRef, hours: int = 72, *, now: datetime) -> list[Reading]:
        self._check("forecast")
        return []


@pytest.fixture
def providers(settings):
    """ "pattern" (history, no forecast) and "fake-fc" (forecasts); 4 days of history per refresh."""
    pattern, fc = PatternProvider("pattern"), FakeProvider("fake-fc", 250.0)
    register("pattern", lambda: pattern)
    register("fake-fc", lambda: fc)
    settings.CARBON_PROVIDER_TTL = {"pattern": 600, "fake-fc": 600}
    settings.CARBON_BACKFILL_HOURS = 4 * 24
    settings.CARBON_FORECAST_HOURS = 72
    yield pattern, fc
    unregister("pattern")
    unregister("fake-fc")


def model_rows(zone, source: str = "model"):
    return CarbonReading.objects.filter(zone=zone, kind="forecast", source=source)


def test_it_stores_a_model_forecast_for_a_zone_whose_providers_give_none(providers):
    zone = ZoneFactory(code="MDL", providers="pattern")
    outcomes = services.refresh_zone(zone, now=NOW)
    model = outcomes[-1]
    assert (model.provider, model.what, model.status, model.readings) == ("model", "forecast", "ok", 288)
    rows = list(model_rows(zone).order_by("start"))
    assert len(rows) == 288  # 72 h of 15-minute steps
    assert {r.issued_at for r in rows} == {ISSUED}
    assert rows[0].start == ISSUED and rows[-1].end == ISSUED + timedelta(hours=72)
    assert all(r.estimated and r.signal == "average" and not r.simulated for r in rows)
    by_start = {r.start: r.value for r in rows}
    # It learnt the daily cycle: tomorrow's 15:00 is far cleaner than tomorrow's 03:00.
    assert (
        by_start[datetime(2026, 4, 2, 15, tzinfo=UTC)]
        < 150
        < 450
        < by_start[datetime(2026, 4, 2, 3, tzinfo=UTC)]
    )
    # And the series the planner and the API read continues with it after the actuals.
    points = services.forecast_points(zone, now=NOW, hours=24)
    forecast = [p for p in points if p.kind == "forecast"]
    assert forecast and {p.source for p in forecast} == {"model"} and not any(p.simulated for p in forecast)


def test_it_upserts_a_re_run_within_the_hour_and_issues_anew_the_next_hour(providers):
    zone = ZoneFactory(code="MDL", providers="pattern")
    services.refresh_zone(zone, now=NOW)
    again = services.refresh_zone(zone, now=NOW + timedelta(minutes=40), force=True)
    assert again[-1].status == "ok" and again[-1].created == 0
    assert model_rows(zone).count() == 288
    services.refresh_zone(zone, now=NOW + timedelta(hours=1))
    assert set(model_rows(zone).values_list("issued_at", flat=True)) == {ISSUED, ISSUED + timedelta(hours=1)}


def test_it_makes_no_model_forecast_when_a_provider_in_the_chain_forecasts(providers):
    zone = ZoneFactory(code="MDL", providers="pattern,fake-fc")
    outcomes = services.refresh_zone(zone, now=NOW)
    assert "model" not in {o.provider for o in outcomes}
    assert not model_rows(zone).exists()
    assert CarbonReading.objects.filter(zone=zone, kind="forecast", source="fake-fc").exists()


def test_it_makes_none_from_too_little_history_and_says_why(providers, settings):
    settings.CARBON_BACKFILL_HOURS = 30
    zone = ZoneFactory(code="MDL", providers="pattern")
    outcome = services.refresh_zone(zone, now=NOW)[-1]
    assert (outcome.provider, outcome.status) == ("model", "skipped")
    assert "30.0 h of stored history" in outcome.error and "needs 48 h" in outcome.error
    assert not CarbonReading.objects.filter(zone=zone, kind="forecast").exists()
    info = intensity_series(zone, NOW, NOW + timedelta(hours=6), now=NOW)
    assert all(p.kind == "actual" for p in info.points)


def test_it_labels_a_model_forecast_from_simulated_history_as_simulated_too(providers, settings):
    settings.CARBON_BACKFILL_HOURS = 24
    zone = ZoneFactory(code="MDL", providers="pattern")
    # Demo data filled the days before the provider's own day of history.
    sim = FakeProvider("simulated", 300.0)
    services.store_readings(
        zone,
        "simulated",
        sim.history(zone.ref("simulated"), NOW - timedelta(days=4), NOW - timedelta(hours=23), now=NOW),
    )
    outcome = services.refresh_zone(zone, now=NOW)[-1]
    assert (outcome.provider, outcome.status) == ("model+simulated", "ok")
    assert not model_rows(zone).exists()
    rows = model_rows(zone, "model+simulated")
    assert rows.count() == 288 and all(r.simulated for r in rows)
    points = [p for p in services.forecast_points(zone, now=NOW, hours=6) if p.kind == "forecast"]
    assert points and all(p.simulated and p.source == "model+simulated" for p in points)


def test_it_shows_the_model_forecast_in_the_carbon_status_api(providers, viewer_api):
    now = timezone.now()
    zone = ZoneFactory(code="MDL", providers="pattern")
    assert services.refresh_zone(zone, now=now)[-1].status == "ok"
    body = viewer_api.post("/carbon/status", {"zone": "MDL"}, format="json").json()
    forecast = [p for p in body["forecast_next_4h"] if p["kind"] == "forecast"]
    assert forecast, body
    assert {p["source"] for p in forecast} == {"model"} and not any(p["simulated"] for p in forecast)
    assert body["simulated"] is False


def test_it_lets_the_planner_plan_on_the_model_forecast(providers, settings, tmp_path, monkeypatch):
    from scheduler.models import BackupJob
    from scheduler.services import submit_jobs

    settings.BACKUP_PLAN_REFRESH = False
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    settings.BACKUP_TARGET_ROOT = tmp_path / "backups"
    monkeypatch.setattr("scheduler.dispatch.enqueue_jobs", lambda ids, **kw: None)
    zone = ZoneFactory(code="MDL", providers="pattern")
    services.refresh_zone(zone, now=NOW)
    metadata = {
        "carbon_aware": True,
        "carbon_zone": "MDL",
        "carbon_max_delay": 12 * HOURS_NS,
        "expected_duration_hours": 1,
    }
    outcome = submit_jobs([{"vm_path": "vm1.img", "name": "vm1", "metadata": metadata}], now=NOW)
    assert outcome.errors == []
    job = BackupJob.objects.get(pk=outcome.job_ids[0])
    # The trough of the learnt cycle is at 15:00: a 1 h run centred on it.
    assert datetime(2026, 4, 1, 14, tzinfo=UTC) <= job.planned_start <= datetime(2026, 4, 1, 15, tzinfo=UTC)
    assert job.decision["strategy"] == "best_window"
    assert "model" in job.decision["series"]["sources"]
