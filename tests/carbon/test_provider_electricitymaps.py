"""Electricity Maps v3 against a local server serving the shapes of its public API documentation."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from carbon.providers import electricitymaps
from carbon.providers.base import ProviderError, ZoneNotPermitted, ZoneRef
from carbon.providers.electricitymaps import ElectricityMapsProvider
from carbon.providers.http import retry_after_seconds
from tests.carbon.fakeserver import EM_401, EM_403, FakeServer, Reply

TOKEN = "em-secret-token-5f2a"
NOW = datetime(2026, 3, 2, 12, 30, tzinfo=UTC)
DE = ZoneRef("DE", "DE", 380.0, "Europe/Berlin")
JP = ZoneRef("JP", "JP-TK", 480.0, "Asia/Tokyo")


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


def make(server: FakeServer, **kwargs: object) -> ElectricityMapsProvider:
    options: dict = {"timeout": 2.0, "retries": 2, "backoff": 0.001, "max_delay": 0.01, "now": lambda: NOW}
    options.update(kwargs)
    return ElectricityMapsProvider(TOKEN, server.url + "/v3", **options)


def latest(value: float | None = 312.0, estimated: bool = False) -> dict:
    return {
        "zone": "DE",
        "carbonIntensity": value,
        "datetime": "2026-03-02T12:00:00.000Z",
        "updatedAt": "2026-03-02T12:05:13.123Z",
        "emissionFactorType": "lifecycle",
        "isEstimated": estimated,
        "estimationMethod": "TIME_SLICER_AVERAGE" if estimated else None,
    }


BREAKDOWN = {
    "zone": "DE",
    "datetime": "2026-03-02T12:00:00.000Z",
    "powerConsumptionBreakdown": {"nuclear": 0, "wind": 20000, "solar": 9000, "gas": 8000, "coal": 12000},
    "fossilFreePercentage": 61,
    "renewablePercentage": 58.5,
    "powerConsumptionTotal": 50000,
    "isEstimated": False,
}


def history_item(hour: int, value: float | None, day: int = 2) -> dict:
    stamp = f"2026-03-{day:02d}T{hour:02d}:00:00.000Z"
    return {
        "zone": "DE",
        "carbonIntensity": value,
        "datetime": stamp,
        "updatedAt": stamp,
        "createdAt": stamp,
        "emissionFactorType": "lifecycle",
        "isEstimated": hour % 2 == 0,
        "estimationMethod": None,
    }


def test_it_reads_the_current_intensity_with_the_renewable_share(server: FakeServer) -> None:
    server.route("/v3/carbon-intensity/latest", Reply(json=latest(312.0, estimated=True)))
    server.route("/v3/power-breakdown/latest", Reply(json=BREAKDOWN))

    reading = make(server).current(DE)

    assert reading.value == 312.0
    assert reading.start == datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert reading.end == datetime(2026, 3, 2, 13, tzinfo=UTC)
    assert reading.signal == "average"
    assert reading.kind == "actual"
    assert reading.estimated is True
    assert reading.renewable_percent == 58.5
    sent = server.requests_to("/v3/carbon-intensity/latest")[0]
    assert sent.headers["auth-token"] == TOKEN
    assert sent.param("zone") == "DE"


def test_it_asks_for_the_providers_own_zone_code(server: FakeServer) -> None:
    server.route("/v3/carbon-intensity/latest", Reply(json=latest(480.0) | {"zone": "JP-TK"}))
    server.route("/v3/power-breakdown/latest", Reply(json=BREAKDOWN | {"zone": "JP-TK"}))

    make(server).current(JP)

    assert server.requests_to("/v3/carbon-intensity/latest")[0].param("zone") == "JP-TK"
    assert server.requests_to("/v3/power-breakdown/latest")[0].param("zone") == "JP-TK"


def test_it_keeps_the_reading_when_the_power_breakdown_fails(server: FakeServer) -> None:
    server.route("/v3/carbon-intensity/latest", Reply(json=latest(300.0)))
    server.route("/v3/power-breakdown/latest", Reply(500, json={"error": "boom"}))

    reading = make(server).current(DE)

    assert reading.value == 300.0
    assert reading.renewable_percent is None


def test_it_leaves_the_renewable_share_empty_when_the_breakdown_has_none(server: FakeServer) -> None:
    server.route("/v3/carbon-intensity/latest", Reply(json=latest(300.0)))
    server.route("/v3/power-breakdown/latest", Reply(json=BREAKDOWN | {"renewablePercentage": None}))

    assert make(server).current(DE).renewable_percent is None


def test_it_raises_when_the_current_value_is_null(server: FakeServer) -> None:
    server.route("/v3/carbon-intensity/latest", Reply(json=latest(None)))

    with pytest.raises(ProviderError, match="no current value"):
        make(server).current(DE)


def test_it_reads_a_forecast_and_skips_null_points(server: FakeServer) -> None:
    server.route(
        "/v3/carbon-intensity/forecast",
        Reply(
            json={
                "zone": "DE",
                "forecast": [
                    {"carbonIntensity": 300, "datetime": "2026-03-02T13:00:00.000Z"},
                    {"carbonIntensity": None, "datetime": "2026-03-02T14:00:00.000Z"},
                    {"carbonIntensity": 280.5, "datetime": "2026-03-02T15:00:00.000Z"},
                ],
                "updatedAt": "2026-03-02T12:00:00.000Z",
            }
        ),
    )

    points = make(server).forecast(DE, hours=24)

    assert [(p.start.hour, p.value) for p in points] == [(13, 300.0), (15, 280.5)]
    assert all(p.kind == "forecast" and p.signal == "average" for p in points)
    assert all(p.end - p.start == timedelta(hours=1) for p in points)
    assert points[0].issued_at == datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert server.requests_to("/v3/carbon-intensity/forecast")[0].param("horizonHours") == "24"


def test_it_caps_the_forecast_horizon_at_72_hours(server: FakeServer) -> None:
    server.route("/v3/carbon-intensity/forecast", Reply(json={"zone": "DE", "forecast": []}))

    make(server).forecast(DE, hours=200)

    assert server.requests_to("/v3/carbon-intensity/forecast")[0].param("horizonHours") == "72"


@pytest.mark.parametrize("refusal", [EM_401, EM_403], ids=["401", "403"])
def test_it_reads_a_forecast_refusal_as_no_forecast_by_status_code_alone(server: FakeServer, refusal) -> None:
    server.route("/v3/carbon-intensity/forecast", refusal)
    provider = make(server)

    assert provider.forecast(DE) == []
    assert provider.forecast(JP) == []  # known now: not asked again
    assert server.count("/v3/carbon-intensity/forecast") == 1  # not retried, no storm


def test_it_raises_on_a_401_for_the_current_value(server: FakeServer) -> None:
    server.route("/v3/carbon-intensity/latest", EM_401)

    with pytest.raises(ProviderError, match="401") as raised:
        make(server).current(DE)
    assert not isinstance(raised.value, ZoneNotPermitted)  # a bad token, not a zone outside the plan


def test_it_reads_a_403_for_a_zone_as_not_permitted(server: FakeServer) -> None:
    server.route("/v3/carbon-intensity/latest", EM_403)
    server.route("/v3/carbon-intensity/history", EM_403)

    with pytest.raises(ZoneNotPermitted):
        make(server).current(JP)
    with pytest.raises(ZoneNotPermitted):
        make(server).history(JP, NOW - timedelta(hours=3), NOW)


def test_it_returns_no_points_for_an_empty_forecast(server: FakeServer) -> None:
    server.route(
        "/v3/carbon-intensity/forecast", Reply(json={"zone": "DE", "forecast": [], "updatedAt": None})
    )

    assert make(server).forecast(DE) == []


def test_it_returns_no_points_when_the_forecast_key_is_missing(server: FakeServer) -> None:
    server.route("/v3/carbon-intensity/forecast", Reply(json={"zone": "DE"}))

    assert make(server).forecast(DE) == []


def test_it_reads_the_last_24_hours_from_the_history_endpoint(server: FakeServer) -> None:
    items = [history_item(h, 300.0 + h) for h in range(0, 12)]
    items[5]["carbonIntensity"] = None
    server.route("/v3/carbon-intensity/history", Reply(json={"zone": "DE", "history": items}))

    readings = make(server).history(DE, NOW - timedelta(hours=10), NOW)

    hours = [r.start.hour for r in readings]
    assert hours == [2, 3, 4, 6, 7, 8, 9, 10, 11]  # 00-01 end before the range; 05 was null
    assert all(r.kind == "actual" for r in readings)
    assert readings[0].estimated is True and readings[1].estimated is False
    assert server.count("/v3/carbon-intensity/past-range") == 0


def test_it_reads_older_ranges_from_past_range_in_chunks(server: FakeServer) -> None:
    def reply(request: object) -> Reply:
        start = datetime.fromisoformat(request.param("start").replace("Z", "+00:00"))  # type: ignore[attr-defined]
        day = start.day
        return Reply(json={"zone": "DE", "data": [history_item(0, 100.0 + day, day=day)]})

    server.route("/v3/carbon-intensity/past-range", reply)
    provider = make(server, past_range_days=2, now=lambda: datetime(2026, 3, 20, tzinfo=UTC))

    readings = provider.history(DE, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 7, tzinfo=UTC))

    requests = server.requests_to("/v3/carbon-intensity/past-range")
    assert [(r.param("start"), r.param("end")) for r in requests] == [
        ("2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z"),
        ("2026-03-03T00:00:00Z", "2026-03-05T00:00:00Z"),
        ("2026-03-05T00:00:00Z", "2026-03-07T00:00:00Z"),
    ]
    assert [(r.start.day, r.value) for r in readings] == [(1, 101.0), (3, 103.0), (5, 105.0)]


def test_it_refuses_a_negative_intensity_as_a_broken_payload(server: FakeServer) -> None:
    server.route(
        "/v3/carbon-intensity/history", Reply(json={"zone": "DE", "history": [history_item(11, -4.0)]})
    )

    with pytest.raises(ProviderError, match="not a usable intensity"):
        make(server).history(DE, NOW - timedelta(hours=3), NOW)


def test_it_lists_zones(server: FakeServer) -> None:
    server.route("/v3/zones", Reply(json={"FR": {"zoneName": "France"}, "DE": {"zoneName": "Germany"}}))

    assert make(server).zones() == ["DE", "FR"]


def test_it_retries_after_a_429_and_honours_retry_after(server: FakeServer) -> None:
    server.route(
        "/v3/carbon-intensity/latest",
        Reply(429, json={"error": "Too many requests"}, headers={"Retry-After": "0.005"}),
        Reply(json=latest(250.0)),
    )
    server.route("/v3/power-breakdown/latest", Reply(json=BREAKDOWN))
    provider = make(server, backoff=0.0001, max_delay=0.05)
    slept: list[float] = []
    provider.http.sleep = slept.append

    assert provider.current(DE).value == 250.0
    assert server.count("/v3/carbon-intensity/latest") == 2
    assert slept == [0.005]  # the server's hint beat the tiny backoff


def test_it_gives_up_after_repeated_500s(server: FakeServer) -> None:
    server.route("/v3/carbon-intensity/latest", Reply(500, json={"error": "internal"}))

    with pytest.raises(ProviderError, match="gave up after 3 attempts: HTTP 500"):
        make(server, retries=2).current(DE)
    assert server.count("/v3/carbon-intensity/latest") == 3


def test_it_times_out_on_a_slow_server(server: FakeServer) -> None:
    server.route("/v3/carbon-intensity/latest", Reply(json=latest(), delay=2.0))

    with pytest.raises(ProviderError, match="timed out"):
        make(server, timeout=0.1, retries=1).current(DE)
    assert server.count("/v3/carbon-intensity/latest") == 2


def test_it_fails_clearly_without_a_token(server: FakeServer) -> None:
    provider = ElectricityMapsProvider("", server.url + "/v3")

    with pytest.raises(ProviderError, match="ELECTRICITYMAPS_TOKEN"):
        provider.current(DE)
    assert server.count(".*") == 0


def test_it_never_reveals_the_token(server: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": f"token {TOKEN} is not valid here"}
    server.route("/v3/carbon-intensity/latest", Reply(500, json=echo))
    server.route("/v3/carbon-intensity/forecast", Reply(400, json=echo))

    errors = []
    for call in (lambda p: p.current(DE), lambda p: p.forecast(DE)):
        with pytest.raises(ProviderError) as info:
            call(make(server))
        errors.append(str(info.value))

    assert all("***" in e and TOKEN not in e for e in errors)
    assert "carbon.providers" in caplog.text
    assert TOKEN not in caplog.text


def test_it_is_built_from_settings(settings: object) -> None:
    settings.ELECTRICITYMAPS_TOKEN = "abc"  # type: ignore[attr-defined]
    settings.ELECTRICITYMAPS_BASE_URL = "http://127.0.0.1:9/v3/"  # type: ignore[attr-defined]
    settings.CARBON_HTTP_TIMEOUT = 3.5  # type: ignore[attr-defined]
    settings.CARBON_HTTP_RETRIES = 1  # type: ignore[attr-defined]

    provider = electricitymaps.build()

    assert provider.name == "electricitymaps" and provider.simulated is False
    assert provider.base_url == "http://127.0.0.1:9/v3"
    assert (provider.http.timeout, provider.http.retries) == (3.5, 1)


# The shared HTTP helper's edges, exercised through this provider.


def test_it_retries_a_refused_connection_then_gives_up() -> None:
    with FakeServer() as gone:
        url = gone.url  # a port that nobody listens on once the server has stopped
    provider = ElectricityMapsProvider(TOKEN, url + "/v3", timeout=1.0, retries=1, backoff=0.001)

    with pytest.raises(ProviderError, match="gave up after 2 attempts: connection failed"):
        provider.zones()


def test_it_fails_at_once_on_an_unusable_url() -> None:
    provider = ElectricityMapsProvider(TOKEN, "nonsense://nowhere/v3", retries=3, backoff=10.0)

    with pytest.raises(ProviderError, match="InvalidSchema"):
        provider.zones()


def test_it_reads_retry_after_as_seconds_or_an_http_date() -> None:
    now = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

    assert retry_after_seconds("7", now=now) == 7.0
    assert retry_after_seconds("Mon, 02 Mar 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Mon, 02 Mar 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None) is None


def test_it_raises_on_a_body_that_is_not_json(server: FakeServer) -> None:
    server.route("/v3/zones", Reply(body="<html>maintenance</html>"))

    with pytest.raises(ProviderError, match="not JSON"):
        make(server).zones()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
POINT = st.fixed_dictionaries(
    {
        "carbonIntensity": st.none() | st.floats(allow_nan=False) | st.text(max_size=3) | st.booleans(),
        "datetime": st.sampled_from(["2026-03-02T12:00:00.000Z", "2026-03-02T13:00:00Z", "noon", None, 7]),
        "isEstimated": JSON,
    }
)
PAYLOAD = JSON | st.fixed_dictionaries(
    {
        "carbonIntensity": JSON,
        "datetime": JSON,
        "forecast": JSON | st.lists(POINT, max_size=3),
        "history": JSON | st.lists(POINT, max_size=3),
        "updatedAt": st.sampled_from(["2026-03-02T12:00:00Z", "", None, "x", 3]),
        "renewablePercentage": JSON,
    }
)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


@hypothesis_settings(max_examples=100, deadline=None)
@given(payload=PAYLOAD)
def test_it_turns_any_malformed_payload_into_a_provider_error(
    shared_server: FakeServer, payload: object
) -> None:
    # Whatever the server sends, the chain sees readings or a ProviderError, never a crash.
    shared_server.route(".*", Reply(json=payload))
    provider = make(shared_server, retries=0)
    for call in (
        lambda: provider.current(DE),
        lambda: provider.forecast(DE),
        lambda: provider.history(DE, NOW - timedelta(hours=3), NOW),
        provider.zones,
    ):
        try:
            call()
        except ProviderError:
            pass
