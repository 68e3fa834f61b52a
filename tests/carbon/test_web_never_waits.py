"""A web request never waits on a remote provider: with a provider that accepts connections and
never answers, every web path that reads carbon data answers from what is stored, fast, and
queues the refresh for the workers (issue 11, item 1)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from carbon import services
from carbon.models import CarbonReading, FetchAttempt, Zone
from carbon.services.fetching import web_request
from tests.carbon.silent import SilentServer, silent_server

pytestmark = pytest.mark.django_db

P99_LIMIT = 0.5  # seconds
WARM_UP_LIMIT = 3.0  # a first call (imports, templates), still far below one 10 s provider timeout


@pytest.fixture
def silent(settings) -> Iterator[SilentServer]:
    with silent_server() as server:
        settings.ELECTRICITYMAPS_TOKEN = "em-token"
        settings.ELECTRICITYMAPS_BASE_URL = server.url + "/v3"
        settings.CARBON_HTTP_TIMEOUT = 10.0  # what a production worker would wait, per attempt
        settings.CARBON_HTTP_RETRIES = 3
        settings.CARBON_PROVIDERS = ["electricitymaps"]
        settings.CARBON_ZONE_PROVIDERS = {}
        yield server


@pytest.fixture
def de(silent) -> Zone:
    """DE with two hours of actuals that ended two hours ago: stored, but stale."""
    get_broker().purge_queue()  # Redis keeps other tests' enqueues; the ORM broker's roll back
    zone = Zone.objects.get(code="DE")
    zone.providers = ""
    zone.save()
    end = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    CarbonReading.objects.bulk_create(
        [
            CarbonReading(
                zone=zone,
                start=end - timedelta(hours=h + 1),
                end=end - timedelta(hours=h),
                value=321.0,
                source="electricitymaps",
            )
            for h in range(2)
        ]
    )
    return zone


def queued_tasks() -> list[dict]:
    """The tasks waiting in django-q2's queue, whatever the broker (the ORM's on the SQLite pass,
    Redis on the PostgreSQL + Redis pass)."""
    broker = get_broker()
    tasks = []
    while batch := broker.dequeue():
        tasks.extend(SignedPackage.loads(payload) for _, payload in batch)
    return tasks


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def test_it_answers_the_status_from_stored_data_fast_and_flags_it_stale(viewer_api, client, de, silent):
    # The first request of a process also pays for imports and URL resolution: timed apart, it
    # must still be far below one provider timeout (10 s).
    first, _ = timed(lambda: viewer_api.post("/carbon/status", {"zone": "DE"}, format="json"))
    assert first < WARM_UP_LIMIT
    samples, baseline = [], []
    for _ in range(100):
        elapsed, response = timed(
            lambda: viewer_api.post("/carbon/status", {"zone": "DE", "threshold": 200}, format="json")
        )
        samples.append(elapsed)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["current_intensity"] == 321.0 and body["stale"] is True
        # /health, timed in turn: what this machine's own load adds to any request (on a shared
        # machine a stall of a second now and then is the scheduler's, not the provider's).
        baseline.append(timed(lambda: client.get("/health"))[0])
    assert p99(samples) < P99_LIMIT + p99(baseline), (p99(samples), p99(baseline))
    assert silent.accepted == 0, "the web request never opened a connection to the provider"
    assert not FetchAttempt.objects.exists(), "nothing asked, nothing failed"
    # The refresh went to the workers, once for the zone however many requests came.
    queued = [task for task in queued_tasks() if task["func"] == "carbon.tasks.refresh_zone"]
    assert [tuple(task["args"]) for task in queued] == [(de.pk,)]


def test_health_is_unaffected_while_status_calls_meet_a_silent_provider(viewer_api, client, de, silent):
    client.get("/health")  # warm
    for _ in range(5):
        viewer_api.post("/carbon/status", {"zone": "DE"}, format="json")
    elapsed, response = timed(lambda: client.get("/health"))
    assert response.status_code == 200 and elapsed < P99_LIMIT


def test_a_zone_with_nothing_stored_answers_no_data_at_once(viewer_api, silent):
    zone = Zone.objects.get(code="FR")
    elapsed, response = timed(lambda: viewer_api.post("/carbon/status", {"zone": zone.code}, format="json"))
    assert response.status_code == 503 and "error" in response.json()
    assert elapsed < WARM_UP_LIMIT and silent.accepted == 0


def test_every_web_path_that_reads_carbon_data_answers_fast(
    viewer_api, operator_api, admin_client, de, silent, settings
):
    settings.BACKUP_PLAN_REFRESH = True
    calls = [
        lambda: viewer_api.post("/carbon/status", {"zone": "DE"}, format="json"),
        lambda: viewer_api.get("/carbon/zones/DE"),
        lambda: viewer_api.get("/carbon/zones"),
        lambda: viewer_api.post(
            "/carbon/estimate", {"zone": "DE", "data_gb": 10, "duration_hours": 1}, format="json"
        ),
        lambda: viewer_api.get("/carbon/report"),
        lambda: operator_api.post(
            "/jobs/submit",
            {"vm_path": "vm1.img", "name": "vm1", "metadata": {"carbon_aware": True, "carbon_zone": "DE"}},
            format="json",
        ),
        lambda: admin_client.get("/"),
        lambda: admin_client.get("/zones/DE"),
    ]
    # Rendering a dashboard page alone can take half a second on a busy machine, so the bound here
    # is "far below one provider timeout"; that no connection was opened is the real assertion.
    for call in calls:
        elapsed, response = timed(call)
        assert response.status_code < 500, (response.status_code, response.content[:300])
        assert elapsed < WARM_UP_LIMIT, (elapsed, response.request)
    assert silent.accepted == 0


def test_outside_a_web_request_the_workers_do_ask_the_provider(de, silent, settings):
    settings.CARBON_HTTP_TIMEOUT = 0.2
    settings.CARBON_HTTP_RETRIES = 0
    outcomes = services.refresh_zone(de)
    assert silent.accepted >= 1
    assert any(o.provider == "electricitymaps" and o.status == "failed" for o in outcomes)


def test_local_providers_are_still_asked_inside_a_web_request(settings):
    settings.CARBON_PROVIDERS = ["simulated"]
    zone = Zone.objects.get(code="FR")
    with web_request():
        status = services.carbon_status(zone, 200)
    assert status.current.source == "simulated" and not status.current.stale


def test_staleness_says_since_when_a_zones_data_is_stale(settings):
    settings.CARBON_STALE_MINUTES = 90
    zone = Zone.objects.get(code="SE")
    now = timezone.now()
    assert services.staleness(zone, now=now).stale  # nothing stored at all
    end = now - timedelta(hours=2)
    CarbonReading.objects.create(zone=zone, start=end - timedelta(hours=1), end=end, value=30.0, source="x")
    old = services.staleness(zone, now=now)
    assert old.stale and old.stale_since == end + timedelta(minutes=90)
    assert old.stale_for == timedelta(minutes=30) and old.newest == end
    fresh = services.staleness(zone, now=end + timedelta(minutes=10))
    assert not fresh.stale and fresh.stale_for == timedelta(0) and fresh.stale_since is None


def test_a_silent_provider_costs_the_workers_one_timeout_per_cooldown_not_one_per_zone(silent, settings):
    settings.CARBON_HTTP_TIMEOUT = 0.2
    settings.CARBON_HTTP_RETRIES = 0
    Zone.objects.update(active=False, providers="")
    Zone.objects.filter(code__in=["DE", "FR", "SE"]).update(active=True)

    outcomes = services.refresh_all_zones()

    assert silent.accepted == 1, "asked once, then passed over for every zone and kind of data"
    failed = [o for o in outcomes if o.provider == "electricitymaps" and o.status == "failed"]
    passed_over = [o for o in outcomes if o.provider == "electricitymaps" and o.status == "cooldown"]
    assert len(failed) == 1 and len(passed_over) == 3 * 3 - 1
