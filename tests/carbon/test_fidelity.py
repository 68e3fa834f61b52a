"""Provider fidelity (issue 16): measurements replace estimates and revisions are kept, finished
backups are accounted again when their readings are revised, Electricity Maps' 24 h history
window holds with a clock that moves on, refusals are read by status code, zones a token may not
read are skipped, and history carries the renewable share."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from carbon import services
from carbon.models import CarbonReading, FetchAttempt, Zone, ZoneDenial
from carbon.providers import register, unregister
from carbon.providers.base import Reading, ZoneRef
from carbon.providers.electricitymaps import ElectricityMapsProvider
from carbon.providers.ukgrid import UkGridProvider
from carbon.signals import readings_revised
from scheduler.models import BackupJob
from scheduler.services.accounting import account_job
from tests.carbon.fakes import FakeProvider
from tests.carbon.fakeserver import EM_401, EM_403, FakeServer, Recorded, Reply

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
HALF = timedelta(minutes=30)
HOUR = timedelta(hours=1)
DE = ZoneRef("DE", "DE")


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


def actual(start: datetime, value: float, *, estimated: bool = False) -> Reading:
    return Reading(start=start, end=start + HALF, value=value, estimated=estimated)


# -- storing revisions --------------------------------------------------------------------------


def test_it_replaces_an_estimate_by_the_measurement_and_keeps_when_it_was_revised(
    django_capture_on_commit_callbacks,
):
    zone = Zone.objects.get(code="GB")
    sent = []
    readings_revised.connect(lambda sender, **kw: sent.append(kw), weak=False, dispatch_uid="test-revised")
    try:
        services.store_readings(zone, "ukgrid", [actual(T0, 200.0, estimated=True)])
        row = CarbonReading.objects.get(zone=zone, start=T0)
        assert row.estimated and row.revised_at is None
        with django_capture_on_commit_callbacks(execute=True):
            result = services.store_readings(zone, "ukgrid", [actual(T0, 250.0)])
        row.refresh_from_db()
        assert result.updated == 1 and (row.value, row.estimated) == (250.0, False)
        assert row.revised_at is not None
        assert [(s["start"], s["end"]) for s in sent] == [(T0, T0 + HALF)]
    finally:
        readings_revised.disconnect(dispatch_uid="test-revised")


def test_an_estimate_never_replaces_a_stored_measurement():
    zone = Zone.objects.get(code="GB")
    services.store_readings(zone, "ukgrid", [actual(T0, 250.0)])
    result = services.store_readings(zone, "ukgrid", [actual(T0, 200.0, estimated=True)])
    row = CarbonReading.objects.get(zone=zone, start=T0)
    assert result.unchanged == 1 and (row.value, row.estimated, row.revised_at) == (250.0, False, None)


def test_every_history_refresh_re_reads_the_trailing_window(settings):
    asked = []

    class Recording(FakeProvider):
        def history(self, zone, start, end, *, now):
            asked.append((start, end))
            return super().history(zone, start, end, now=now)

    register("rec", lambda: Recording("rec", 300.0))
    try:
        settings.CARBON_REFETCH_HOURS = 6
        settings.CARBON_PROVIDER_TTL = {"rec": 0}
        zone = Zone.objects.get(code="FR")
        zone.providers = "rec"
        zone.save()
        services.ensure_fresh(zone, ("history",), now=T0)
        services.ensure_fresh(zone, ("history",), now=T0 + HOUR)
        # The first fills the backfill window; the second re-reads the last 6 h, not just 1 h.
        assert asked == [(T0 - timedelta(hours=24), T0), (T0 + HOUR - timedelta(hours=6), T0 + HOUR)]
    finally:
        unregister("rec")


# -- Electricity Maps ------------------------------------------------------------------------------


def em_point(moment: datetime, value: float = 300.0, estimated: bool = False) -> dict:
    return {
        "zone": "DE",
        "carbonIntensity": value,
        "datetime": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "isEstimated": estimated,
    }


def em_history(clock: datetime) -> dict:
    top = clock.replace(minute=0, second=0, microsecond=0)
    return {"zone": "DE", "history": [em_point(top - h * HOUR) for h in range(24, -1, -1)]}


def breakdown_history(clock: datetime) -> dict:
    top = clock.replace(minute=0, second=0, microsecond=0)
    return {
        "zone": "DE",
        "history": [
            {"datetime": em_point(top - h * HOUR)["datetime"], "renewablePercentage": 40.0 + h}
            for h in range(24, -1, -1)
        ],
    }


def test_a_start_of_now_minus_24_h_reads_history_even_when_the_clock_moved_on(server):
    times = iter([T0 + timedelta(seconds=s) for s in (3, 90, 400)])  # the provider's clock moves on
    server.route("/v3/carbon-intensity/history", Reply(json=em_history(T0)))
    server.route("/v3/power-breakdown/history", Reply(json=breakdown_history(T0)))
    server.route("/v3/carbon-intensity/past-range", EM_403)
    provider = ElectricityMapsProvider("tok", server.url + "/v3", retries=0, now=lambda: next(times))

    for _ in range(3):
        readings = provider.history(DE, T0 - timedelta(hours=24), T0)
        assert readings and readings[0].start == T0 - timedelta(hours=24)
    assert server.count("/v3/carbon-intensity/past-range") == 0
    assert server.count("/v3/carbon-intensity/history") == 3
    # The renewable share comes with the history (power breakdown history, by datetime).
    assert readings[-1].renewable_percent == 41.0 and readings[0].renewable_percent == 64.0


def test_past_range_is_asked_only_beyond_the_24_h_window(server):
    server.route("/v3/carbon-intensity/history", Reply(json=em_history(T0)))
    server.route(
        "/v3/carbon-intensity/past-range",
        lambda r: Reply(json={"data": [em_point(T0 - timedelta(hours=h), 500.0) for h in range(30, 22, -1)]}),
    )
    provider = ElectricityMapsProvider("tok", server.url + "/v3", retries=0, now=lambda: T0)

    readings = provider.history(DE, T0 - timedelta(hours=30), T0)

    (call,) = server.requests_to("/v3/carbon-intensity/past-range")
    assert call.param("start") == "2026-03-31T06:00:00Z"
    assert call.param("end") == "2026-03-31T13:00:00Z"  # the window's start plus the margin
    by_start = {r.start: r.value for r in readings}
    assert by_start[T0 - timedelta(hours=30)] == 500.0  # only past-range has it
    assert by_start[T0 - timedelta(hours=24)] == 300.0  # /history wins where both answer


@pytest.mark.parametrize("refusal", [EM_401, EM_403], ids=["401", "403"])
def test_a_past_range_refusal_is_not_in_the_plan_logged_once_and_not_asked_again(server, caplog, refusal):
    server.route("/v3/carbon-intensity/history", Reply(json=em_history(T0)))
    server.route("/v3/carbon-intensity/past-range", refusal)
    provider = ElectricityMapsProvider("tok", server.url + "/v3", retries=3, backoff=0, now=lambda: T0)

    with caplog.at_level(logging.WARNING, logger="carbon"):
        first = provider.history(DE, T0 - timedelta(hours=72), T0)
        second = provider.history(DE, T0 - timedelta(hours=72), T0)

    assert first == second and len(first) == 24  # what /history covers: not a failed backfill
    assert server.count("/v3/carbon-intensity/past-range") == 1  # no retries, no storm
    assert len([r for r in caplog.records if "past-range" in r.getMessage()]) == 1


# -- NESO: forecasts first, actuals later, then a revision ---------------------------------------


class NesoLike:
    """A NESO-shaped server: intensity with `actual` null until published, then revised."""

    def __init__(self, server: FakeServer) -> None:
        self.clock = T0
        self.actual: float | None = None  # None: only forecasts published yet
        server.route(
            r"/intensity", lambda r: Reply(json={"data": [self.period(self.floor(self.clock), now=True)]})
        )
        server.route(
            r"/intensity/([^/]+)/fw48h",
            lambda r: Reply(
                json={"data": self.periods(self.floor(self.clock), self.clock + 48 * HOUR, forecast=True)}
            ),
        )
        server.route(r"/intensity/([^/]+)/([^/]+)", self.range)
        server.route(
            r"/generation", Reply(json={"data": {"from": "x", "to": "y", "generationmix": self.mix()}})
        )
        server.route(r"/generation/([^/]+)/([^/]+)", self.generation)

    @staticmethod
    def floor(moment: datetime) -> datetime:
        return moment.replace(minute=30 if moment.minute >= 30 else 0, second=0, microsecond=0)

    @staticmethod
    def mix() -> list[dict]:
        return [{"fuel": "wind", "perc": 30.0}, {"fuel": "solar", "perc": 5.0}, {"fuel": "gas", "perc": 65.0}]

    def period(self, start: datetime, *, now: bool = False, forecast: bool = False) -> dict:
        published = None if (now or forecast or start + HALF > self.clock) else self.actual
        return {
            "from": start.strftime("%Y-%m-%dT%H:%MZ"),
            "to": (start + HALF).strftime("%Y-%m-%dT%H:%MZ"),
            "intensity": {"forecast": 200, "actual": published, "index": "moderate"},
        }

    def periods(self, start: datetime, end: datetime, **kw: bool) -> list[dict]:
        out, step = [], self.floor(start)
        while step < end:
            out.append(self.period(step, **kw))
            step += HALF
        return out

    @staticmethod
    def bounds(request: Recorded) -> tuple[datetime, datetime]:
        _, start, end = request.path.split("/")[-3:]
        parse = lambda text: datetime.strptime(text, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)  # noqa: E731
        return parse(start), parse(end)

    def range(self, request: Recorded) -> Reply:
        start, end = self.bounds(request)
        return Reply(json={"data": self.periods(start, min(end, self.clock))})

    def generation(self, request: Recorded) -> Reply:
        start, end = self.bounds(request)
        periods = [dict(p, generationmix=self.mix()) for p in self.periods(start, min(end, self.clock))]
        return Reply(json={"data": periods})


def test_neso_forecasts_then_actuals_then_a_revision_end_measured_and_reaccounted(
    server, django_capture_on_commit_callbacks, admin_client
):
    def badge_shown() -> bool:
        return (
            '<span class="badge">estimated</span>' in admin_client.get(f"/backups/{job.pk}").content.decode()
        )

    neso = NesoLike(server)
    register("ukgrid", lambda: UkGridProvider(server.url, retries=0, backoff=0, now=lambda: neso.clock))
    try:
        gb = Zone.objects.get(code="GB")
        gb.providers = "ukgrid"
        gb.save()
        run_start = T0 - 3 * HOUR
        job = BackupJob.objects.create(
            name="vm",
            vm_path="vm.img",
            definition={"vm_path": "vm.img"},
            zone=gb,
            requested_at=run_start,
            earliest_start=run_start,
            latest_start=run_start,
            started_at=run_start,
            completed_at=run_start + HOUR,
            status=BackupJob.Status.COMPLETED,
            data_size_gb=100,
        )

        # 1. Only forecasts are published: stored as estimates; the backup says so.
        with django_capture_on_commit_callbacks(execute=True):
            services.refresh_zone(gb, now=neso.clock)
        account_job(job, now=neso.clock)
        job.refresh_from_db()
        assert job.intensity_experienced == pytest.approx(200.0)
        assert "estimated" in job.accounting["flags"] and job.accounting["estimated"] is True
        assert badge_shown()
        row = CarbonReading.objects.get(zone=gb, kind="actual", start=run_start)
        assert row.estimated and row.renewable_percent == 35.0  # /generation/{from}/{to}

        # 2. An hour later NESO has published actuals: they replace the estimates, and the
        #    backup is accounted again on its own (the readings_revised signal).
        neso.clock, neso.actual = T0 + HOUR, 250.0
        with django_capture_on_commit_callbacks(execute=True):
            services.refresh_zone(gb, now=neso.clock)
        job.refresh_from_db()
        row.refresh_from_db()
        assert (row.value, row.estimated) == (250.0, False) and row.revised_at is not None
        assert job.intensity_experienced == pytest.approx(250.0)
        assert "estimated" not in job.accounting["flags"] and job.accounting["estimated"] is False
        assert not badge_shown()

        # 3. A day-later revision of the same periods is kept, and accounted again.
        neso.clock, neso.actual = T0 + 2 * HOUR, 262.0
        with django_capture_on_commit_callbacks(execute=True):
            services.refresh_zone(gb, now=neso.clock)
        job.refresh_from_db()
        assert CarbonReading.objects.get(zone=gb, kind="actual", start=run_start).value == 262.0
        assert job.intensity_experienced == pytest.approx(262.0)
    finally:
        unregister("ukgrid")


# -- a free-tier Electricity Maps token: one zone, no past-range, no forecast --------------------


def free_tier(server: FakeServer) -> None:
    def for_de(payload):
        return lambda r: Reply(json=payload(timezone.now())) if r.param("zone") == "DE" else EM_403

    server.route(
        "/v3/carbon-intensity/latest",
        for_de(lambda now: em_point(now.replace(minute=0, second=0, microsecond=0), 310.0)),
    )
    server.route("/v3/carbon-intensity/history", for_de(em_history))
    server.route(
        "/v3/power-breakdown/latest", for_de(lambda now: {"zone": "DE", "renewablePercentage": 55.0})
    )
    server.route("/v3/power-breakdown/history", for_de(breakdown_history))
    server.route("/v3/carbon-intensity/past-range", EM_401)
    server.route("/v3/power-breakdown/past-range", EM_401)
    server.route("/v3/carbon-intensity/forecast", EM_401)


def test_a_free_tier_token_gives_one_working_zone_and_eleven_served_by_the_next_provider(
    server, settings, caplog, admin_client
):
    free_tier(server)
    settings.ELECTRICITYMAPS_TOKEN = "free-token"
    settings.ELECTRICITYMAPS_BASE_URL = server.url + "/v3"
    settings.CARBON_PROVIDERS = ["electricitymaps", "simulated"]
    settings.CARBON_ZONE_PROVIDERS = {}
    settings.CARBON_BACKFILL_HOURS = 72  # reaches past /history: past-range is tried, once
    Zone.objects.update(providers="", active=True)
    zones = list(Zone.objects.order_by("code"))
    assert len(zones) == 12

    with caplog.at_level(logging.WARNING, logger="carbon"):
        services.refresh_all_zones()

    de = Zone.objects.get(code="DE")
    assert services.current_intensity(de, refresh=False).source == "electricitymaps"
    assert CarbonReading.objects.filter(
        zone=de, source="electricitymaps", renewable_percent__isnull=False
    ).exists()
    others = [z for z in zones if z.code != "DE"]
    for zone in others:
        assert services.current_intensity(zone, refresh=False).source == "simulated"
    assert set(ZoneDenial.objects.values_list("zone__code", flat=True)) == {z.code for z in others}
    # One log line per refused zone; no failed backfill, no failure recorded at all.
    denied_lines = [r.getMessage() for r in caplog.records if "may not read" in r.getMessage()]
    assert sorted(re.search(r"/(\S+):", m).group(1) for m in denied_lines) == sorted(z.code for z in others)
    assert not FetchAttempt.objects.filter(ok=False).exists()
    assert len([r for r in caplog.records if "past-range" in r.getMessage()]) == 1

    # The next refresh does not ask Electricity Maps about the refused zones, nor log them again.
    asked_before = len([r for r in server.requests if r.param("zone") == "FR"])
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="carbon"):
        services.refresh_all_zones(force=True)
    assert len([r for r in server.requests if r.param("zone") == "FR"]) == asked_before
    assert not [r for r in caplog.records if "may not read" in r.getMessage()]

    # Shown on the zone page and in `manage.py carbon zones`.
    page = admin_client.get("/zones/FR").content.decode()
    assert "token may not read this zone" in page
    out = StringIO()
    call_command("carbon", "zones", stdout=out)
    lines = {line.split()[0]: line for line in out.getvalue().splitlines() if line.strip()}
    assert "electricitymaps (denied)" in lines["FR"] and "(denied)" not in lines["DE"]

    # A new token is asked again.
    settings.ELECTRICITYMAPS_TOKEN = "paid-token"
    assert services.denials(Zone.objects.get(code="FR")) == []
