"""UK NESO Carbon Intensity API against a local server serving the documented shapes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from carbon.providers import ukgrid
from carbon.providers.base import ProviderError, ZoneRef
from carbon.providers.ukgrid import UkGridProvider, parse_periods, renewable_percent
from tests.carbon.fakeserver import FakeServer, Reply

NOW = datetime(2026, 3, 2, 12, 10, tzinfo=UTC)
GB = ZoneRef("GB", "GB", 250.0, "Europe/London")
DE = ZoneRef("DE", "DE", 380.0, "Europe/Berlin")

MIX = [
    {"fuel": "biomass", "perc": 5.1},
    {"fuel": "coal", "perc": 0},
    {"fuel": "imports", "perc": 10.0},
    {"fuel": "gas", "perc": 25.4},
    {"fuel": "nuclear", "perc": 14.0},
    {"fuel": "other", "perc": 0.5},
    {"fuel": "hydro", "perc": 1.5},
    {"fuel": "solar", "perc": 8.0},
    {"fuel": "wind", "perc": 35.5},
]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


def make(server: FakeServer, **kwargs: object) -> UkGridProvider:
    options: dict = {"timeout": 2.0, "retries": 2, "backoff": 0.001, "max_delay": 0.01, "now": lambda: NOW}
    options.update(kwargs)
    return UkGridProvider(server.url, **options)


def period(start: datetime, forecast: float | None, actual: float | None = None, **extra: object) -> dict:
    end = start + timedelta(minutes=30)
    intensity = {"forecast": forecast, "actual": actual, "index": "moderate"}
    return {
        "from": start.strftime("%Y-%m-%dT%H:%MZ"),
        "to": end.strftime("%Y-%m-%dT%H:%MZ"),
        "intensity": intensity,
    } | extra


def half_hours(start: datetime, count: int) -> list[datetime]:
    return [start + timedelta(minutes=30 * i) for i in range(count)]


def test_it_reads_the_current_half_hour_with_the_generation_mix(server: FakeServer) -> None:
    server.route("/intensity", Reply(json={"data": [period(datetime(2026, 3, 2, 12, tzinfo=UTC), 190, 184)]}))
    server.route(
        "/generation",
        Reply(json={"data": {"from": "2026-03-02T12:00Z", "to": "2026-03-02T12:30Z", "generationmix": MIX}}),
    )

    reading = make(server).current(GB)

    assert reading.value == 184.0  # the actual beats the forecast
    assert reading.estimated is False
    assert (reading.start, reading.end) == (
        datetime(2026, 3, 2, 12, tzinfo=UTC),
        datetime(2026, 3, 2, 12, 30, tzinfo=UTC),
    )
    assert reading.renewable_percent == 50.1  # wind 35.5 + solar 8 + hydro 1.5 + biomass 5.1
    assert reading.kind == "actual" and reading.signal == "average"


def test_it_falls_back_to_the_forecast_value_flagged_estimated(server: FakeServer) -> None:
    server.route(
        "/intensity", Reply(json={"data": [period(datetime(2026, 3, 2, 12, tzinfo=UTC), 190, None)]})
    )
    server.route("/generation", Reply(500, json={"error": "down"}))

    reading = make(server).current(GB)

    assert reading.value == 190.0
    assert reading.estimated is True
    assert reading.renewable_percent is None  # the mix failed; the reading still stands


def test_it_raises_when_the_current_period_has_no_value(server: FakeServer) -> None:
    server.route(
        "/intensity", Reply(json={"data": [period(datetime(2026, 3, 2, 12, tzinfo=UTC), None, None)]})
    )

    with pytest.raises(ProviderError, match="no value"):
        make(server, fetch_mix=False).current(GB)


def test_it_covers_gb_only(server: FakeServer) -> None:
    provider = make(server)

    for call in (
        provider.current,
        provider.forecast,
        lambda z: provider.history(z, NOW - timedelta(hours=1), NOW),
    ):
        with pytest.raises(ProviderError, match="ukgrid covers GB only"):
            call(DE)
    assert server.count(".*") == 0
    assert provider.zones() == ["GB"]


def test_it_reads_a_48_hour_forecast(server: FakeServer) -> None:
    starts = half_hours(datetime(2026, 3, 2, 12, tzinfo=UTC), 98)
    periods = [period(s, 150 + i) for i, s in enumerate(starts)]
    periods[3]["intensity"]["forecast"] = None
    server.route(r"/intensity/[^/]+/fw48h", Reply(json={"data": periods}))

    points = make(server).forecast(GB, hours=72)

    assert server.requests_to(r"/intensity/[^/]+/fw48h")[0].path == "/intensity/2026-03-02T12:10Z/fw48h"
    assert len(points) == 96  # 98 periods, one null, and the one starting after NOW + 48 h dropped
    assert points[0].start == datetime(2026, 3, 2, 12, tzinfo=UTC)  # covers now, so it is kept
    assert points[-1].start < NOW + timedelta(hours=48)
    assert all(p.kind == "forecast" and p.issued_at == NOW for p in points)
    assert all(p.end - p.start == timedelta(minutes=30) for p in points)


def test_it_cuts_the_forecast_at_the_requested_horizon(server: FakeServer) -> None:
    starts = half_hours(datetime(2026, 3, 2, 12, tzinfo=UTC), 96)
    server.route(r"/intensity/[^/]+/fw48h", Reply(json={"data": [period(s, 200) for s in starts]}))

    points = make(server).forecast(GB, hours=2)

    assert [p.start.strftime("%H:%M") for p in points] == ["12:00", "12:30", "13:00", "13:30", "14:00"]


def test_it_returns_no_points_for_an_empty_forecast(server: FakeServer) -> None:
    server.route(r"/intensity/[^/]+/fw48h", Reply(json={"data": []}))

    assert make(server).forecast(GB) == []


def test_it_raises_when_data_is_missing(server: FakeServer) -> None:
    server.route(r"/intensity/[^/]+/fw48h", Reply(json={"error": {"code": "400", "message": "bad"}}))

    with pytest.raises(ProviderError, match="no 'data'"):
        make(server).forecast(GB)


def test_it_reads_the_regional_object_shape(server: FakeServer) -> None:
    starts = half_hours(datetime(2026, 3, 2, 12, tzinfo=UTC), 4)
    regional = {
        "data": {
            "regionid": 13,
            "dnoregion": "UKPN London",
            "shortname": "London",
            "data": [
                {
                    "from": s.strftime("%Y-%m-%dT%H:%MZ"),
                    "to": (s + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%MZ"),
                    "intensity": {"forecast": 120 + i, "index": "low"},
                    "generationmix": MIX,
                }
                for i, s in enumerate(starts)
            ],
        }
    }
    server.route(r"/intensity/[^/]+/fw48h", Reply(json=regional))

    points = make(server).forecast(GB, hours=24)

    assert [p.value for p in points] == [120.0, 121.0, 122.0, 123.0]
    assert points[0].renewable_percent == 50.1


def test_it_parses_both_data_shapes_alike() -> None:
    start = datetime(2026, 3, 2, 12, tzinfo=UTC)
    items = [period(start, 100, 90), period(start + timedelta(minutes=30), 110)]

    as_array = parse_periods({"data": items})
    as_object = parse_periods({"data": {"regionid": 1, "shortname": "North Scotland", "data": items}})
    as_region_array = parse_periods({"data": [{"regionid": 1, "shortname": "North Scotland", "data": items}]})

    assert as_array == as_object == as_region_array == items
    with pytest.raises(ProviderError):
        parse_periods({"data": "nope"})


def test_it_counts_wind_solar_hydro_and_biomass_as_renewable() -> None:
    assert renewable_percent(MIX) == 50.1
    assert renewable_percent([{"fuel": "nuclear", "perc": 60}, {"fuel": "gas", "perc": 40}]) == 0.0
    assert renewable_percent([]) is None
    assert renewable_percent(None) is None


def test_it_reads_history_with_actuals_and_estimated_gaps(server: FakeServer) -> None:
    start = datetime(2026, 3, 1, 0, tzinfo=UTC)
    starts = half_hours(start, 6)
    periods = [period(s, 200 + i, 190 + i) for i, s in enumerate(starts)]
    periods[2]["intensity"]["actual"] = None  # never published: the forecast stands in
    periods[4]["intensity"] = {"forecast": None, "actual": None, "index": None}  # a gap
    server.route(r"/intensity/[^/]+/[^/]+", Reply(json={"data": periods}))

    readings = make(server).history(GB, start, start + timedelta(hours=3))

    assert (
        server.requests_to(r"/intensity/[^/]+/[^/]+")[0].path
        == "/intensity/2026-03-01T00:00Z/2026-03-01T03:00Z"
    )
    assert [(r.value, r.estimated) for r in readings] == [
        (190.0, False),
        (191.0, False),
        (202.0, True),
        (193.0, False),
        (195.0, False),
    ]
    assert all(r.kind == "actual" for r in readings)


def test_it_splits_long_history_ranges(server: FakeServer) -> None:
    server.route(r"/intensity/[^/]+/[^/]+", Reply(json={"data": []}))

    make(server).history(GB, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))

    paths = [r.path for r in server.requests_to(r"/intensity/[^/]+/[^/]+")]
    assert paths == [
        "/intensity/2026-01-01T00:00Z/2026-01-15T00:00Z",
        "/intensity/2026-01-15T00:00Z/2026-01-29T00:00Z",
        "/intensity/2026-01-29T00:00Z/2026-02-01T00:00Z",
    ]


def test_it_retries_after_a_429(server: FakeServer) -> None:
    server.route(
        "/intensity",
        Reply(429, json={"error": "slow down"}),
        Reply(json={"data": [period(datetime(2026, 3, 2, 12, tzinfo=UTC), 190, 180)]}),
    )

    assert make(server, fetch_mix=False).current(GB).value == 180.0
    assert server.count("/intensity") == 2


def test_it_gives_up_after_repeated_500s(server: FakeServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="carbon.providers")
    server.route(r"/intensity/[^/]+/fw48h", Reply(500, json={"error": "Internal Server Error"}))

    with pytest.raises(ProviderError, match="gave up after 3 attempts"):
        make(server, retries=2).forecast(GB)
    assert server.count(r"/intensity/[^/]+/fw48h") == 3
    assert "retrying" in caplog.text and "gave up" in caplog.text


def test_it_times_out_on_a_slow_server(server: FakeServer) -> None:
    server.route("/intensity", Reply(json={"data": []}, delay=2.0))

    with pytest.raises(ProviderError, match="timed out"):
        make(server, timeout=0.1, retries=0).current(GB)


def test_it_is_built_from_settings(settings: object) -> None:
    settings.UKGRID_BASE_URL = "http://127.0.0.1:9/"  # type: ignore[attr-defined]
    settings.CARBON_HTTP_RETRIES = 0  # type: ignore[attr-defined]

    provider = ukgrid.build()

    assert provider.name == "ukgrid" and provider.simulated is False
    assert provider.base_url == "http://127.0.0.1:9"
    assert provider.http.retries == 0


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
PERIODISH = st.fixed_dictionaries(
    {
        "from": st.sampled_from(["2026-03-02T12:00Z", "yesterday", None, 5]),
        "to": st.sampled_from(["2026-03-02T12:30Z", "2026-03-02T11:30Z", None]),
        "intensity": JSON | st.fixed_dictionaries({"forecast": JSON, "actual": JSON}),
        "generationmix": JSON,
    }
)


@hypothesis_settings(max_examples=150, deadline=None)
@given(st.fixed_dictionaries({"data": JSON | st.lists(PERIODISH, max_size=3)}) | JSON)
def test_it_turns_any_malformed_payload_into_a_provider_error(payload: object) -> None:
    # Whatever the server sends, the chain sees readings or a ProviderError, never a crash.
    try:
        for item in parse_periods(payload):
            ukgrid._actual_reading(item)
    except ProviderError:
        pass
