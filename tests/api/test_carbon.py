"""/carbon/* as the HyperSDK clients call them: exact keys and types per role, and who may not."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from carbon.models import CarbonReading, Zone
from tests.api.test_conventions import assert_error
from tests.carbon.factories import CarbonReadingFactory

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
NUMBER = (int, float)

STATUS_KEYS = {
    "zone": str,
    "current_intensity": NUMBER,
    "optimal_for_backup": bool,
    "quality": str,
    "reasoning": str,
    "timestamp": str,
    "forecast_next_4h": list,
    "renewable_percent": float,
    "renewable_percent_known": bool,
    "source": str,
    "simulated": bool,
    "stale": bool,
}
POINT_KEYS = {"time": str, "intensity_gco2_kwh": NUMBER, "quality": str}
ZONE_KEYS = {"id": str, "name": str, "region": str, "description": str, "typical_intensity": NUMBER}
ESTIMATE_KEYS = {
    "current_intensity_gco2_kwh": NUMBER,
    "current_emissions_kg_co2": NUMBER,
    "best_intensity_gco2_kwh": NUMBER,
    "best_emissions_kg_co2": NUMBER,
    "best_time": str,
    "savings_kg_co2": NUMBER,
    "savings_percent": NUMBER,
    "delay_minutes": int,
    "recommendation": str,
    "forecast": list,
    "source": str,
    "simulated": bool,
    "stale": bool,
}
REPORT_KEYS = {
    "operation_id": str,
    "start_time": str,
    "end_time": str,
    "duration_hours": NUMBER,
    "data_size_gb": NUMBER,
    "energy_kwh": NUMBER,
    "carbon_intensity_gco2_kwh": NUMBER,
    "carbon_emissions_kg_co2": NUMBER,
    "savings_vs_worst_kg_co2": NUMBER,
    "renewable_percent": float,
    "renewable_percent_known": bool,
    "equivalent": str,
    "equivalent_detail": dict,
    "source": str,
    "simulated": bool,
    "stale": bool,
}


def assert_shape(body: dict, keys: dict) -> None:
    missing = set(keys) - set(body)
    assert not missing, f"missing keys {missing}"
    for key, kind in keys.items():
        assert isinstance(body[key], kind), f"{key}={body[key]!r} is not {kind}"
        if isinstance(body[key], bool) and kind is NUMBER:
            raise AssertionError(f"{key} is a boolean")
    for key, value in body.items():
        if key in ("time", "timestamp", "start_time", "end_time", "best_time", "next_optimal_time"):
            assert TIMESTAMP.match(value), f"{key}={value!r}"


@pytest.fixture
def clients(admin_api, operator_api, viewer_api):
    return {"admin": admin_api, "operator": operator_api, "viewer": viewer_api}


# --- POST /carbon/status --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "operator", "viewer"])
def test_it_reports_the_grid_status_with_the_contract_keys(clients, role):
    response = clients[role].post("/carbon/status", {"zone": "DE", "threshold": 300}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_shape(body, STATUS_KEYS)
    assert body["zone"] == "DE"
    assert "renewable_percent" in body
    assert body["optimal_for_backup"] == (body["current_intensity"] <= 300)
    assert body["simulated"] is True and body["source"] == "simulated"
    assert body["forecast_next_4h"], "the simulated provider forecasts"
    for point in body["forecast_next_4h"]:
        assert_shape(point, POINT_KEYS)


@pytest.mark.django_db
def test_it_uses_200_when_the_threshold_is_absent_or_zero(viewer_api):
    for payload in ({"zone": "de"}, {"zone": "DE", "threshold": 0}):
        body = viewer_api.post("/carbon/status", payload, format="json").json()
        assert body["threshold"] == 200
        assert body["optimal_for_backup"] == (body["current_intensity"] <= 200)


@pytest.mark.django_db
def test_it_gives_the_next_optimal_time_only_when_waiting_helps(viewer_api):
    body = viewer_api.post("/carbon/status", {"zone": "DE", "threshold": 10_000}, format="json").json()
    assert body["optimal_for_backup"] is True
    assert "next_optimal_time" not in body


@pytest.mark.django_db
def test_it_uses_the_default_zone_when_none_is_named(viewer_api, settings):
    settings.CARBON_DEFAULT_ZONE = "FR"
    assert viewer_api.post("/carbon/status", {}, format="json").json()["zone"] == "FR"


@pytest.mark.django_db
def test_it_refuses_an_unknown_zone_or_a_negative_threshold(viewer_api):
    assert_error(
        viewer_api.post("/carbon/status", {"zone": "XX"}, format="json"), 400, "zone: unknown zone 'XX'"
    )
    assert_error(
        viewer_api.post("/carbon/status", {"zone": "DE", "threshold": -5}, format="json"), 400, "threshold:"
    )


@pytest.mark.django_db
def test_it_answers_503_when_there_is_no_data_at_all(viewer_api, settings):
    settings.CARBON_PROVIDERS = ["electricitymaps"]  # no token: the provider fails, nothing is stored
    settings.ELECTRICITYMAPS_TOKEN = ""
    assert_error(viewer_api.post("/carbon/status", {"zone": "DE"}, format="json"), 503, "DE")


# --- GET /carbon/zones, /carbon/zones/{id}, /carbon/zones/{id}/intensity ---------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "operator", "viewer"])
def test_it_lists_the_zones(clients, role, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # auth (key + last_used + role) and one zone query
        response = clients[role].get("/carbon/zones")
    body = response.json()
    assert response.status_code == 200
    assert body["total"] == len(body["zones"]) == Zone.objects.count() == 12
    for zone in body["zones"]:
        assert_shape(zone, ZONE_KEYS)
    assert {"id": "SE", "name": "Sweden", "region": "Europe", "typical_intensity": 50.0}.items() <= next(
        z for z in body["zones"] if z["id"] == "SE"
    ).items()


@pytest.mark.django_db
def test_it_lists_zones_with_a_constant_number_of_queries(viewer_api, django_assert_max_num_queries):
    viewer_api.get("/carbon/zones")  # warm: last_used_at is written once a minute at most
    Zone.objects.bulk_create([Zone(code=f"X{i}", name=f"X{i}", typical_intensity=100) for i in range(30)])
    with django_assert_max_num_queries(3):
        assert viewer_api.get("/carbon/zones").json()["total"] == 42


@pytest.mark.django_db
def test_it_shows_one_zone_with_its_latest_stored_reading(viewer_api):
    body = viewer_api.get("/carbon/zones/se").json()
    assert_shape(body, {**ZONE_KEYS, "providers": list, "timestamp": str})
    assert body["id"] == "SE" and body["current"] is None  # nothing stored, no provider call
    CarbonReadingFactory(
        zone=Zone.objects.get(code="SE"), start=datetime.now(UTC) - timedelta(minutes=5), value=42
    )
    current = viewer_api.get("/carbon/zones/SE").json()["current"]
    assert current["intensity_gco2_kwh"] == 42 and current["quality"] == "excellent"


@pytest.mark.django_db
def test_it_answers_404_for_an_unknown_zone_id(viewer_api):
    assert_error(viewer_api.get("/carbon/zones/XX"), 404, "unknown zone 'XX'")
    assert_error(viewer_api.get("/carbon/zones/XX/intensity"), 404)


@pytest.mark.django_db
def test_it_returns_stored_readings_in_a_range(viewer_api, django_assert_max_num_queries):
    zone = Zone.objects.get(code="FR")
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(8):
        CarbonReadingFactory(
            zone=zone, start=base + timedelta(hours=i), end=base + timedelta(hours=i + 1), value=50 + i
        )
    with django_assert_max_num_queries(5):
        response = viewer_api.get(
            "/carbon/zones/FR/intensity?start=2026-01-01T02:00:00&end=2026-01-01T05:00:00Z"
        )
    body = response.json()
    assert response.status_code == 200, body
    assert body["count"] == 3 and [r["intensity_gco2_kwh"] for r in body["readings"]] == [52, 53, 54]
    assert body["readings"][0]["start"] == "2026-01-01T02:00:00Z"
    assert body["kind"] == "actual" and body["source"] == "simulated" and body["simulated"] is True
    empty = viewer_api.get(
        "/carbon/zones/FR/intensity?start=2025-01-01T00:00:00Z&end=2025-01-02T00:00:00Z"
    ).json()
    assert empty["readings"] == [] and empty["sources"] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, fragment",
    [
        ("start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", "end: must be after start"),
        ("start=2026-01-01T00:00:00Z&end=2026-06-01T00:00:00Z", "end: the range spans 151.0 days"),
        ("start=yesterday", "start:"),
        ("kind=guess", "kind:"),
    ],
)
def test_it_refuses_a_bad_intensity_range(viewer_api, query, fragment):
    assert_error(viewer_api.get(f"/carbon/zones/DE/intensity?{query}"), 400, fragment)


@pytest.mark.django_db
def test_it_caps_the_number_of_readings_with_a_clear_error(viewer_api, settings):
    settings.API_INTENSITY_MAX_POINTS = 10
    zone = Zone.objects.get(code="FR")
    base = datetime(2026, 1, 1, tzinfo=UTC)
    CarbonReading.objects.bulk_create(
        CarbonReading(
            zone=zone,
            start=base + timedelta(hours=i),
            end=base + timedelta(hours=i + 1),
            value=60,
            source="csv",
        )
        for i in range(12)
    )
    response = viewer_api.get(
        "/carbon/zones/FR/intensity?start=2026-01-01T00:00:00Z&end=2026-01-02T00:00:00Z"
    )
    assert_error(response, 400, "matches 12 readings, more than the cap of 10")


# --- POST /carbon/estimate ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "operator", "viewer"])
def test_it_estimates_with_the_contract_keys(clients, role):
    response = clients[role].post(
        "/carbon/estimate", {"zone": "DE", "data_size_gb": 500, "duration_hours": 2}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert_shape(body, ESTIMATE_KEYS)
    assert body["best_intensity_gco2_kwh"] <= body["current_intensity_gco2_kwh"]
    assert body["savings_kg_co2"] == pytest.approx(
        body["current_emissions_kg_co2"] - body["best_emissions_kg_co2"]
    )
    assert body["energy_kwh"] == pytest.approx((100 + 50 * 0.5) * 2 / 1000)
    for point in body["forecast"]:
        assert_shape(point, POINT_KEYS)


@pytest.mark.django_db
def test_it_defaults_the_duration_to_two_hours(viewer_api):
    assert (
        viewer_api.post("/carbon/estimate", {"zone": "DE", "data_size_gb": 1}, format="json").json()[
            "duration_hours"
        ]
        == 2
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload, fragment",
    [
        ({"zone": "DE", "data_size_gb": 0}, "data_size_gb: must be greater than 0"),
        ({"zone": "DE", "data_size_gb": -3}, "data_size_gb: must be greater than 0"),
        ({"zone": "DE", "data_size_gb": 10, "duration_hours": -1}, "duration_hours: must be at least 0.01"),
        ({"zone": "DE"}, "data_size_gb: This field is required"),
        ({"zone": "Atlantis", "data_size_gb": 10}, "zone: unknown zone"),
        ({"zone": "DE", "data_size_gb": 10, "duration_hours": 1000}, "duration_hours: must be at most 168"),
    ],
)
def test_it_refuses_a_bad_estimate(viewer_api, payload, fragment):
    assert_error(viewer_api.post("/carbon/estimate", payload, format="json"), 400, fragment)


# --- POST /carbon/report ---------------------------------------------------------------------------


@pytest.fixture
def de_history(db):
    """DE: 100 g from 00:00 to 01:00, 300 g from 01:00 to 02:00 on 2026-01-01 (stored, csv)."""
    zone = Zone.objects.get(code="DE")
    base = datetime(2026, 1, 1, tzinfo=UTC)
    CarbonReadingFactory(zone=zone, start=base, end=base + timedelta(hours=1), value=100, source="csv")
    CarbonReadingFactory(
        zone=zone, start=base + timedelta(hours=1), end=base + timedelta(hours=2), value=300, source="csv"
    )
    return zone


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "operator", "viewer"])
def test_it_reports_the_time_weighted_mean_of_stored_readings(clients, role, de_history):
    payload = {
        "job_id": "job-123",
        "start_time": "2026-01-01T00:30:00",  # naive = UTC, as the Python client sends
        "end_time": "2026-01-01T01:30:00Z",
        "data_size_gb": 1000,
        "zone": "DE",
    }
    response = clients[role].post("/carbon/report", payload, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_shape(body, REPORT_KEYS)
    assert body["operation_id"] == "job-123"
    assert body["carbon_intensity_gco2_kwh"] == pytest.approx(200.0)  # half an hour at 100, half at 300
    assert body["duration_hours"] == pytest.approx(1.0)
    assert body["energy_kwh"] == pytest.approx(0.15)  # (100 W + 50 W/TB * 1 TB) * 1 h
    assert body["carbon_emissions_kg_co2"] == pytest.approx(0.03)
    assert body["savings_vs_worst_kg_co2"] == pytest.approx(0.15 - 0.03)
    assert body["source"] == "csv" and body["simulated"] is False
    assert body["savings_vs_requested_kg_co2"] is None  # job-123 is not a hyperweb job
    assert body["start_time"] == "2026-01-01T00:30:00Z"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"end_time": "2026-01-01T00:00:00Z"}, "end_time: must be after start_time"),
        ({"end_time": "2026-03-01T00:00:00Z"}, "end_time: the operation spans"),
        ({"data_size_gb": 0}, "data_size_gb: must be greater than 0"),
        ({"start_time": "noon"}, "start_time:"),
        ({"zone": "XX"}, "zone: unknown zone"),
        (
            {"start_time": "2025-01-01T00:00:00Z", "end_time": "2025-01-01T01:00:00Z"},
            "start_time: no stored carbon",
        ),
    ],
)
def test_it_refuses_a_bad_report(viewer_api, de_history, change, fragment):
    payload = {
        "job_id": "j",
        "start_time": "2026-01-01T00:30:00Z",
        "end_time": "2026-01-01T01:30:00Z",
        "data_size_gb": 10,
        "zone": "DE",
        **change,
    }
    assert_error(viewer_api.post("/carbon/report", payload, format="json"), 400, fragment)


# --- who may not -----------------------------------------------------------------------------------

CARBON_CALLS = [
    ("post", "/carbon/status", {"zone": "DE"}),
    ("get", "/carbon/zones", None),
    ("get", "/carbon/zones/DE", None),
    ("get", "/carbon/zones/DE/intensity", None),
    ("post", "/carbon/estimate", {"zone": "DE", "data_size_gb": 1}),
    (
        "post",
        "/carbon/report",
        {"start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T01:00:00Z", "data_size_gb": 1},
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("method, url, payload", CARBON_CALLS)
def test_it_refuses_anonymous_callers_with_401(anon_api, method, url, payload):
    response = getattr(anon_api, method)(url, payload, format="json")
    assert_error(response, 401, "authentication required")
    assert "WWW-Authenticate" in response


@pytest.mark.django_db
@pytest.mark.parametrize("method, url, payload", CARBON_CALLS)
def test_it_refuses_users_without_a_role_with_403(outsider_api, method, url, payload):
    assert_error(getattr(outsider_api, method)(url, payload, format="json"), 403, "viewer role")


@pytest.mark.django_db
@pytest.mark.parametrize("method, url, payload", CARBON_CALLS[:5])
def test_it_opens_the_read_only_carbon_endpoints_when_public_read_is_on(
    anon_api, settings, method, url, payload
):
    settings.CARBON_PUBLIC_READ = True
    assert getattr(anon_api, method)(url, payload, format="json").status_code == 200


@pytest.mark.django_db
def test_it_opens_the_report_with_public_read_but_not_a_jobs_details(anon_api, viewer_api, settings, de_history):
    # The report stores nothing, so public read opens it (HyperSDK's CLI sends no credentials);
    # a known job's request time and honest saving are only for callers with the viewer role.
    from tests.scheduler.factories import BackupJobFactory

    base = datetime(2026, 1, 1, tzinfo=UTC)
    job = BackupJobFactory(requested_at=base, earliest_start=base, latest_start=base + timedelta(hours=2))
    payload = {
        "job_id": job.id,
        "start_time": "2026-01-01T01:00:00Z",
        "end_time": "2026-01-01T02:00:00Z",
        "data_size_gb": 1000,
        "zone": "DE",
    }
    settings.CARBON_PUBLIC_READ = False
    assert_error(anon_api.post("/carbon/report", payload, format="json"), 401)

    settings.CARBON_PUBLIC_READ = True
    anonymous = anon_api.post("/carbon/report", payload, format="json")
    assert anonymous.status_code == 200, anonymous.content
    body = anonymous.json()
    assert_shape(body, REPORT_KEYS)
    assert body["operation_id"] == job.id
    assert body["requested_at"] is None and body["savings_vs_requested_kg_co2"] is None
    viewer = viewer_api.post("/carbon/report", payload, format="json").json()
    assert viewer["requested_at"] == "2026-01-01T00:00:00Z"
    assert viewer["savings_vs_requested_kg_co2"] == pytest.approx(-0.03)  # ran at 300 g, not 100 g at 00:00


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, payload",
    [
        ("/carbon/status", {"zone": "XX"}),
        ("/carbon/status", {"zone": "DE", "threshold": "high"}),
        ("/carbon/estimate", {"zone": "DE", "data_size_gb": 0}),
        ("/carbon/estimate", {"zone": "XX", "data_size_gb": 5}),
        (
            "/carbon/report",
            {"zone": "DE", "start_time": "2026-01-02T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"},
        ),
    ],
)
def test_it_stores_nothing_for_a_rejected_request(viewer_api, url, payload):
    from carbon.models import FetchAttempt

    before = (CarbonReading.objects.count(), FetchAttempt.objects.count())
    assert viewer_api.post(url, payload, format="json").status_code == 400
    assert (CarbonReading.objects.count(), FetchAttempt.objects.count()) == before


@pytest.mark.django_db
def test_it_measures_a_known_jobs_saving_from_its_earliest_allowed_start(viewer_api, de_history):
    # Requested at 00:00 but told not to start before 01:00 (not_before): it ran 01:00-02:00 at
    # 300 g. Against 00:00 it would seem to have lost 0.03 kg; the wait was the caller's, so the
    # counterfactual starts at 01:00 too and nothing is credited or charged.
    from tests.scheduler.factories import BackupJobFactory

    base = datetime(2026, 1, 1, tzinfo=UTC)
    job = BackupJobFactory(
        requested_at=base, earliest_start=base + timedelta(hours=1), latest_start=base + timedelta(hours=2)
    )
    payload = {
        "job_id": job.id,
        "start_time": "2026-01-01T01:00:00Z",
        "end_time": "2026-01-01T02:00:00Z",
        "data_size_gb": 1000,
        "zone": "DE",
    }
    body = viewer_api.post("/carbon/report", payload, format="json").json()
    assert body["carbon_emissions_kg_co2"] == pytest.approx(0.045)  # 0.15 kWh at 300 g
    assert body["savings_vs_requested_kg_co2"] == pytest.approx(0.0)
