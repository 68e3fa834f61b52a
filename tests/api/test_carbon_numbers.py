"""Numbers stay numbers: `renewable_percent` is always a JSON number (with a `known` flag), and
`equivalent` is HyperSDK's sentence with the structured form beside it (issue 10, item 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon import services
from carbon.intensity import equivalent_text
from carbon.models import Zone
from tests.carbon.factories import CarbonReadingFactory

BASE = datetime(2026, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def report(api, start: str, end: str, zone: str = "DE") -> dict:
    payload = {"job_id": "j-1", "start_time": start, "end_time": end, "data_size_gb": 1000, "zone": zone}
    response = api.post("/carbon/report", payload, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def de(db) -> Zone:
    return Zone.objects.get(code="DE")


# --- /carbon/status ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_answers_a_number_and_a_false_flag_when_no_provider_gave_the_share(viewer_api):
    body = viewer_api.post("/carbon/status", {"zone": "DE"}, format="json").json()
    assert body["renewable_percent"] == 0.0 and type(body["renewable_percent"]) is float
    assert body["renewable_percent_known"] is False


@pytest.mark.django_db
def test_it_answers_the_stored_share_of_the_latest_reading_when_a_provider_gave_one(viewer_api, de):
    # The simulated provider (the chain's first) gives no share; an Electricity Maps reading
    # stored for the step in progress did: the status carries that reading's figure.
    now = datetime.now(UTC)
    CarbonReadingFactory(
        zone=de, start=now - timedelta(minutes=20), end=now + timedelta(minutes=40), value=250,
        source="electricitymaps", renewable_percent=20.0,
    )
    CarbonReadingFactory(
        zone=de, start=now - timedelta(minutes=5), end=now + timedelta(minutes=10), value=250,
        source="electricitymaps", renewable_percent=42.5,
    )
    body = viewer_api.post("/carbon/status", {"zone": "DE"}, format="json").json()
    assert body["renewable_percent"] == 42.5
    assert body["renewable_percent_known"] is True


# --- /carbon/report ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_reports_the_time_weighted_mean_of_the_stored_shares(viewer_api, de):
    CarbonReadingFactory(zone=de, start=BASE, end=BASE + H, value=100, source="csv", renewable_percent=40.0)
    CarbonReadingFactory(zone=de, start=BASE + H, end=BASE + 2 * H, value=300, source="csv", renewable_percent=70.0)

    half_and_half = report(viewer_api, "2026-01-01T00:30:00Z", "2026-01-01T01:30:00Z")
    assert half_and_half["renewable_percent"] == pytest.approx(55.0)
    assert half_and_half["renewable_percent_known"] is True

    uneven = report(viewer_api, "2026-01-01T00:00:00Z", "2026-01-01T01:45:00Z")
    assert uneven["renewable_percent"] == pytest.approx((40 * 60 + 70 * 45) / 105)


@pytest.mark.django_db
def test_it_takes_one_sources_shares_the_one_covering_most_of_the_run(viewer_api, de):
    CarbonReadingFactory(zone=de, start=BASE, end=BASE + 2 * H, value=200, source="csv", renewable_percent=60.0)
    CarbonReadingFactory(  # another provider's figure for a quarter of an hour: not mixed in
        zone=de, start=BASE, end=BASE + timedelta(minutes=15), value=200, source="ukgrid", renewable_percent=5.0
    )
    assert report(viewer_api, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")["renewable_percent"] == 60.0


@pytest.mark.django_db
def test_it_reports_zero_and_a_false_flag_when_no_stored_reading_has_a_share(viewer_api, de):
    CarbonReadingFactory(zone=de, start=BASE, end=BASE + 2 * H, value=200, source="csv")
    body = report(viewer_api, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")
    assert body["renewable_percent"] == 0.0 and type(body["renewable_percent"]) is float
    assert body["renewable_percent_known"] is False
    assert services.renewable_share(de, BASE, BASE + H) is None


@pytest.mark.django_db
def test_it_words_the_equivalent_as_hypersdk_and_keeps_the_numbers_under_a_new_key(viewer_api, de):
    # 2 TB for 10 h at 1000 g: (100 W + 50 W/TB x 2 TB) x 10 h = 2 kWh = 2 kg CO2 = ~8 km.
    CarbonReadingFactory(zone=de, start=BASE, end=BASE + 10 * H, value=1000, source="csv")
    payload = {
        "job_id": "j-2", "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T10:00:00Z",
        "data_size_gb": 2000, "zone": "DE",
    }
    body = viewer_api.post("/carbon/report", payload, format="json").json()
    assert body["carbon_emissions_kg_co2"] == pytest.approx(2.0)
    assert body["equivalent"] == "8.0 km of driving"
    detail = body["equivalent_detail"]
    assert detail["km_driving"] == pytest.approx(7.97, abs=0.01)
    assert detail["tree_years"] == pytest.approx(2.0 / 21.77, abs=0.001)
    assert {"car_g_co2_per_km", "tree_kg_co2_per_year", "note"} <= set(detail)


@pytest.mark.parametrize(
    "kg, text",
    [
        (0.0, "Less than 1 km of driving"),
        (0.2, "Less than 1 km of driving"),
        (2.0, "8.0 km of driving"),
        (10.0, "40 km of driving"),
        (24.9, "99 km of driving"),
        (100.0, "398 km of driving, or 4.6 tree-years to offset"),
        (1000.0, "3984 km of driving, or 46 tree-years to offset"),
    ],
)
def test_it_words_emissions_as_hypersdks_clients_print_them(kg, text):
    assert equivalent_text(kg) == text


# --- the schema says so too ----------------------------------------------------------------------


@pytest.mark.django_db
def test_it_documents_the_number_and_the_flag_in_the_schema(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("CarbonStatus", "Report"):
        props = schema[name]["properties"]
        assert props["renewable_percent"]["type"] == "number" and not props["renewable_percent"].get("nullable")
        assert props["renewable_percent_known"]["type"] == "boolean"
    assert schema["Report"]["properties"]["equivalent"]["type"] == "string"
    assert schema["Report"]["properties"]["equivalent_detail"]["type"] == "object"
