"""GET /metrics: who may scrape it, what it says (from the stored rows), and what a scrape costs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.scheduler.factories import BackupJobFactory, add_readings, zone

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def _access(settings) -> None:
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW_IPS = []


def scrape(client: Client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_anonymous_callers_get_a_json_401(client) -> None:
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response.json()["error"].startswith("authentication required")
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_a_wrong_token_is_refused_and_not_echoed(client) -> None:
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess-0123")
    assert response.status_code == 401 and "guess-0123" not in response.content.decode()
    assert TOKEN not in response.content.decode()


def test_without_a_token_configured_a_caller_outside_the_allow_list_gets_403(client, settings) -> None:
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW_IPS = ["10.0.0.0/8"]
    response = client.get("/metrics")  # the test client connects from 127.0.0.1
    assert response.status_code == 403 and "METRICS_ALLOW_IPS" in response.json()["error"]
    # A bearer token is no way in when none is configured.
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 401


def test_an_allow_listed_address_needs_no_token(client, settings) -> None:
    settings.METRICS_ALLOW_IPS = ["127.0.0.0/8", "::1"]
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 401
    # A forwarded-for header is not the connecting address.
    assert (
        client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 401
    )


def test_only_get_is_allowed(client) -> None:
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


def test_it_reports_jobs_runs_bytes_and_emissions_from_the_stored_rows(client) -> None:
    de = zone("DE")
    now = timezone.now()
    BackupJobFactory(
        zone=de,
        status="completed",
        attempts=2,
        bytes_written=1000,
        started_at=now,
        completed_at=now,
        energy_kwh=0.3,
        emissions_kg=0.045,
        counterfactual_kg=0.06,
        saving_kg=0.015,
        accounting={"signal": "average"},
    )
    BackupJobFactory(
        zone=de,
        status="completed",
        attempts=1,
        bytes_written=500,
        started_at=now,
        completed_at=now,
        energy_kwh=0.1,
        emissions_kg=0.05,
        counterfactual_kg=0.04,
        saving_kg=-0.01,
        accounting={"signal": "marginal"},
        integrity="damaged",
    )
    BackupJobFactory(zone=de, status="failed", attempts=3)
    BackupJobFactory(status="scheduled", planned_start=now + timedelta(hours=1))
    BackupJobFactory(zone=de, status="completed", operation="verify", attempts=1, bytes_written=0)

    m = scrape(client)

    backup = ("operation", "backup")
    assert m[("hyperweb_jobs", (backup, ("state", "completed"), ("zone", "DE")))] == 2
    assert m[("hyperweb_jobs", (backup, ("state", "failed"), ("zone", "DE")))] == 1
    assert m[("hyperweb_jobs", (backup, ("state", "scheduled"), ("zone", "none")))] == 1
    assert m[("hyperweb_backup_runs_total", (backup, ("zone", "DE")))] == 6
    assert m[("hyperweb_backups_finished_total", (backup, ("outcome", "failed"), ("zone", "DE")))] == 1
    assert m[("hyperweb_backup_written_bytes_total", (backup, ("zone", "DE")))] == 1500
    assert m[("hyperweb_backups_integrity", (("integrity", "damaged"), ("zone", "DE")))] == 1
    assert m[("hyperweb_backups_integrity", (("integrity", "unverified"), ("zone", "DE")))] == 1
    verify = ("operation", "verify")
    assert m[("hyperweb_jobs", (verify, ("state", "completed"), ("zone", "DE")))] == 1
    assert m[("hyperweb_backup_runs_total", (verify, ("zone", "DE")))] == 1
    avg = (("signal", "average"), ("zone", "DE"))
    assert m[("hyperweb_backup_emissions_kg_total", avg)] == pytest.approx(0.045)
    assert m[("hyperweb_backup_avoided_emissions_kg_total", avg)] == pytest.approx(0.015)
    assert m[
        ("hyperweb_backup_avoided_emissions_kg_total", (("signal", "marginal"), ("zone", "DE")))
    ] == pytest.approx(-0.01)
    assert m[("hyperweb_backup_counterfactual_kg_total", avg)] == pytest.approx(0.06)


def test_it_reports_queue_delay_and_the_oldest_due_job(client) -> None:
    now = timezone.now()
    BackupJobFactory(
        status="pending", planned_start=now - timedelta(minutes=10), requested_at=now - timedelta(minutes=10)
    )
    BackupJobFactory(
        status="completed",
        planned_start=now - timedelta(minutes=5),
        started_at=now - timedelta(minutes=5) + timedelta(seconds=4),
    )
    BackupJobFactory(
        status="completed",
        planned_start=now - timedelta(minutes=5),
        started_at=now - timedelta(minutes=5) + timedelta(seconds=2),
    )

    m = scrape(client)

    assert m[("hyperweb_queue_due_jobs", ())] == 1
    assert 600 <= m[("hyperweb_queue_oldest_due_seconds", ())] < 660
    assert m[("hyperweb_start_delay_jobs_24h", ())] == 2
    assert m[("hyperweb_start_delay_seconds_mean_24h", ())] == pytest.approx(3.0)
    assert m[("hyperweb_start_delay_seconds_max_24h", ())] == pytest.approx(4.0)


def test_it_reports_provider_fetches_and_the_age_of_each_zones_data(client) -> None:
    from carbon.models import FetchAttempt, Zone

    Zone.objects.exclude(code__in=["DE", "FR"]).update(active=False)
    de = zone("DE")
    now = timezone.now().replace(microsecond=0)
    add_readings(de, now - timedelta(hours=3), [300, 200])  # the newest ends 1 h ago
    FetchAttempt.objects.create(
        zone=de, provider="electricitymaps", what="current", at=now, ok=False, error="HTTP 503"
    )
    FetchAttempt.objects.create(
        zone=de, provider="electricitymaps", what="current", at=now - timedelta(hours=1), ok=True
    )
    FetchAttempt.objects.create(
        zone=de, provider="electricitymaps", what="forecast", at=now - timedelta(hours=2), ok=True
    )

    m = scrape(client)

    labels = (("outcome", "failed"), ("provider", "electricitymaps"), ("zone", "DE"))
    assert m[("hyperweb_provider_fetches_total", labels)] == 1
    assert m[("hyperweb_provider_fetches_total", (("outcome", "ok"),) + labels[1:])] == 2
    assert (
        m[("hyperweb_provider_last_success_timestamp_seconds", labels[1:])]
        == (now - timedelta(hours=1)).timestamp()
    )
    assert 3600 <= m[("hyperweb_carbon_data_age_seconds", (("zone", "DE"),))] < 3700
    assert ("hyperweb_carbon_data_age_seconds", (("zone", "FR"),)) not in m  # FR has no reading


def test_it_reports_plan_latency_recorded_when_a_submission_is_planned(client, settings) -> None:
    from scheduler.services import submit_jobs

    settings.BACKUP_PLAN_REFRESH = False
    zone("DE")
    meta = {"carbon_aware": True, "carbon_zone": "DE", "carbon_max_delay": 4 * 3600 * 10**9}
    submit_jobs([{"vm_path": "a.img", "metadata": meta}, {"vm_path": "b.img", "metadata": meta}])

    m = scrape(client)

    assert m[("hyperweb_plan_latency_jobs_24h", ())] == 2
    assert (
        0
        < m[("hyperweb_plan_latency_seconds_mean_24h", ())]
        <= m[("hyperweb_plan_latency_seconds_max_24h", ())]
    )
    assert m[("hyperweb_plan_decisions_total", (("strategy", "no_forecast"),))] == 2


def test_a_scrape_costs_the_same_few_queries_however_many_jobs_zones_and_fetches(
    client, django_assert_max_num_queries
) -> None:
    from carbon.models import FetchAttempt, Zone

    def add(n: int) -> None:
        now = timezone.now()
        for zone_row in Zone.objects.all()[:n]:
            add_readings(zone_row, now - timedelta(hours=2), [100, 200])
            FetchAttempt.objects.create(zone=zone_row, provider="simulated", what="current", at=now, ok=True)
            for status in ("completed", "failed", "scheduled", "running"):
                BackupJobFactory(
                    zone=zone_row,
                    status=status,
                    started_at=now,
                    planned_start=now,
                    emissions_kg=0.1,
                    energy_kwh=0.1,
                    saving_kg=0.0,
                    counterfactual_kg=0.1,
                )

    add(1)
    with django_assert_max_num_queries(10) as few:
        scrape(client)
    add(12)
    with django_assert_max_num_queries(len(few.captured_queries)):
        scrape(client)
