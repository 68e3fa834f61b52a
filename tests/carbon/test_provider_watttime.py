"""WattTime v3 against a local server: login, token refresh, units, signals, errors."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from carbon.providers import watttime
from carbon.providers.base import ProviderError, ZoneRef
from carbon.providers.watttime import LBS_PER_MWH_TO_G_PER_KWH, WattTimeProvider
from tests.carbon.fakeserver import FakeServer, Recorded, Reply

USER, PASSWORD = "hyperweb-test", "wt-pa55word-9c1e"
TOKENS = ["jwt-first-token-aaaa", "jwt-second-token-bbbb"]
NOW = datetime(2026, 3, 2, 12, 7, tzinfo=UTC)
CAISO = ZoneRef("US-CAL-CISO", "CAISO_NORTH", 220.0, "America/Los_Angeles")


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make(server: FakeServer, **kwargs: object) -> WattTimeProvider:
    options: dict = {"timeout": 2.0, "retries": 2, "backoff": 0.001, "max_delay": 0.01, "now": lambda: NOW}
    options.update(kwargs)
    return WattTimeProvider(USER, PASSWORD, server.url, **options)


def logins(server: FakeServer, *tokens: str) -> None:
    server.route("/login", *(Reply(json={"token": t}) for t in tokens))


def points(start: datetime, values: list[float | None], step: int = 300) -> list[dict]:
    return [
        {"point_time": (start + timedelta(seconds=step * i)).isoformat(), "value": v}
        for i, v in enumerate(values)
    ]


def meta(signal_type: str = "co2_moer", period: int = 300, **extra: object) -> dict:
    return {
        "region": "CAISO_NORTH",
        "signal_type": signal_type,
        "units": "lbs_co2_per_mwh",
        "data_point_period_seconds": period,
        "model": {"date": "2026-01-01", "type": "binned_regression"},
        "generated_at_period_seconds": 300,
        "generated_at": "2026-03-02T12:05:00+00:00",
    } | extra


def bearer(request: Recorded) -> str:
    return request.headers.get("authorization", "")


def test_it_logs_in_with_basic_auth_and_reads_a_forecast_in_grams(server: FakeServer) -> None:
    logins(server, TOKENS[0])
    start = datetime(2026, 3, 2, 12, 5, tzinfo=UTC)
    server.route(
        "/v3/forecast", Reply(json={"data": points(start, [1000.0, 800.0, None, 500.0]), "meta": meta()})
    )

    forecast = make(server).forecast(CAISO, hours=24)

    login = server.requests_to("/login")[0]
    assert (
        login.headers["authorization"] == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    )
    call = server.requests_to("/v3/forecast")[0]
    assert bearer(call) == f"Bearer {TOKENS[0]}"
    assert (call.param("region"), call.param("signal_type"), call.param("horizon_hours")) == (
        "CAISO_NORTH",
        "co2_moer",
        "24",
    )
    assert [round(p.value, 4) for p in forecast] == [453.5924, 362.8739, 226.7962]
    assert forecast[0].value == pytest.approx(1000 * 0.45359237)
    assert [p.start for p in forecast] == [start, start + timedelta(minutes=5), start + timedelta(minutes=15)]
    assert all(p.end - p.start == timedelta(minutes=5) for p in forecast)
    assert all(p.signal == "marginal" and p.kind == "forecast" for p in forecast)
    assert forecast[0].issued_at == datetime(2026, 3, 2, 12, 5, tzinfo=UTC)


def test_it_labels_the_average_signal_as_average(server: FakeServer) -> None:
    logins(server, TOKENS[0])
    start = datetime(2026, 3, 2, 12, tzinfo=UTC)
    server.route(
        "/v3/forecast",
        Reply(json={"data": points(start, [600.0], step=3600), "meta": meta("co2_aoer", 3600)}),
    )

    [point] = make(server, signal_type="co2_aoer").forecast(CAISO)

    assert point.signal == "average"
    assert point.end - point.start == timedelta(hours=1)
    assert server.requests_to("/v3/forecast")[0].param("signal_type") == "co2_aoer"


def test_it_refuses_an_unknown_signal_type() -> None:
    with pytest.raises(ProviderError, match="signal type"):
        WattTimeProvider(USER, PASSWORD, signal_type="health_damage")


def test_it_caches_the_token_between_calls(server: FakeServer) -> None:
    logins(server, *TOKENS)
    server.route("/v3/forecast", Reply(json={"data": [], "meta": meta()}))
    provider = make(server)

    provider.forecast(CAISO)
    provider.forecast(CAISO)

    assert server.count("/login") == 1
    assert server.count("/v3/forecast") == 2


def test_it_logs_in_again_when_the_token_expires(server: FakeServer) -> None:
    logins(server, *TOKENS)

    def forecast(request: Recorded) -> Reply:
        if bearer(request) != f"Bearer {TOKENS[1]}":
            return Reply(401, json={"error": "token expired"})
        return Reply(json={"data": points(NOW, [100.0]), "meta": meta()})

    server.route("/v3/forecast", forecast)

    result = make(server).forecast(CAISO)

    assert len(result) == 1
    assert server.count("/login") == 2
    assert [bearer(r) for r in server.requests_to("/v3/forecast")] == [f"Bearer {t}" for t in TOKENS]


def test_it_gives_up_when_a_fresh_token_is_refused_too(server: FakeServer) -> None:
    logins(server, *TOKENS)
    server.route("/v3/forecast", Reply(401, json={"error": "no"}))

    with pytest.raises(ProviderError, match="401"):
        make(server).forecast(CAISO)
    assert server.count("/login") == 2
    assert server.count("/v3/forecast") == 2


def test_it_renews_the_token_before_it_runs_out(server: FakeServer) -> None:
    logins(server, *TOKENS)
    server.route("/v3/forecast", Reply(json={"data": [], "meta": meta()}))
    clock = Clock(NOW)
    provider = make(server, now=clock)

    provider.forecast(CAISO)
    clock.now += timedelta(minutes=26)
    provider.forecast(CAISO)

    assert server.count("/login") == 2


def test_it_reports_refused_credentials_without_the_password(server: FakeServer) -> None:
    server.route("/login", Reply(401, json={"error": f"bad password {PASSWORD}"}))

    with pytest.raises(ProviderError, match="WATTTIME_USERNAME") as info:
        make(server).forecast(CAISO)
    assert PASSWORD not in str(info.value)
    assert server.count("/v3/forecast") == 0


def test_it_fails_clearly_without_credentials(server: FakeServer) -> None:
    with pytest.raises(ProviderError, match="no credentials"):
        WattTimeProvider("", "", server.url).forecast(CAISO)


def test_it_reads_history_in_30_day_chunks(server: FakeServer) -> None:
    logins(server, TOKENS[0])

    def historical(request: Recorded) -> Reply:
        start = datetime.fromisoformat(request.param("start").replace("Z", "+00:00"))  # type: ignore[union-attr]
        return Reply(json={"data": points(start, [200.0, None, 400.0]), "meta": meta()})

    server.route("/v3/historical", historical)
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)

    readings = make(server).history(CAISO, start, end)

    calls = [(r.param("start"), r.param("end")) for r in server.requests_to("/v3/historical")]
    assert calls == [
        ("2026-01-01T00:00:00Z", "2026-01-31T00:00:00Z"),
        ("2026-01-31T00:00:00Z", "2026-03-01T00:00:00Z"),
    ]
    assert len(readings) == 4  # two points per chunk; the nulls stay gaps
    assert readings[0].value == pytest.approx(200 * LBS_PER_MWH_TO_G_PER_KWH)
    assert all(r.kind == "actual" and r.signal == "marginal" and r.issued_at is None for r in readings)


def test_it_takes_the_current_value_from_the_latest_historical_point(server: FakeServer) -> None:
    logins(server, TOKENS[0])
    server.route(
        "/v3/historical",
        Reply(
            json={"data": points(datetime(2026, 3, 2, 11, 55, tzinfo=UTC), [900.0, 950.0]), "meta": meta()}
        ),
    )

    reading = make(server).current(CAISO)

    assert reading.start == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert reading.value == pytest.approx(950 * LBS_PER_MWH_TO_G_PER_KWH)
    assert reading.kind == "actual"
    assert server.count("/v3/forecast") == 0


def test_it_takes_the_first_forecast_point_without_historical_access(server: FakeServer) -> None:
    logins(server, TOKENS[0])
    server.route("/v3/historical", Reply(403, json={"error": "region not in your plan"}))
    server.route("/v3/forecast", Reply(json={"data": points(NOW, [700.0, 650.0]), "meta": meta()}))

    reading = make(server).current(CAISO)

    assert reading.kind == "forecast"
    assert reading.value == pytest.approx(700 * LBS_PER_MWH_TO_G_PER_KWH)


def test_it_returns_no_points_for_an_empty_or_missing_forecast(server: FakeServer) -> None:
    logins(server, TOKENS[0])
    server.route("/v3/forecast", Reply(json={"data": [], "meta": meta()}), Reply(json={"meta": meta()}))
    provider = make(server)

    assert provider.forecast(CAISO) == []
    assert provider.forecast(CAISO) == []


def test_it_refuses_unknown_units(server: FakeServer) -> None:
    logins(server, TOKENS[0])
    server.route("/v3/forecast", Reply(json={"data": points(NOW, [1.0]), "meta": meta(units="percentile")}))

    with pytest.raises(ProviderError, match="units"):
        make(server).forecast(CAISO)


def test_it_retries_after_a_429(server: FakeServer) -> None:
    logins(server, TOKENS[0])
    server.route(
        "/v3/forecast",
        Reply(429, json={"error": "rate limited"}, headers={"Retry-After": "120"}),
        Reply(json={"data": points(NOW, [100.0]), "meta": meta()}),
    )
    provider = make(server, max_delay=0.02)
    slept: list[float] = []
    provider.http.sleep = slept.append

    assert len(provider.forecast(CAISO)) == 1
    assert slept == [0.02]  # Retry-After is honoured but capped
    assert server.count("/v3/forecast") == 2


def test_it_gives_up_after_repeated_500s(server: FakeServer) -> None:
    logins(server, TOKENS[0])
    server.route("/v3/forecast", Reply(502, body="Bad Gateway"))

    with pytest.raises(ProviderError, match="gave up after 2 attempts: HTTP 502"):
        make(server, retries=1).forecast(CAISO)


def test_it_times_out_on_a_slow_server(server: FakeServer) -> None:
    logins(server, TOKENS[0])
    server.route("/v3/forecast", Reply(json={"data": [], "meta": meta()}, delay=2.0))

    with pytest.raises(ProviderError, match="timed out"):
        make(server, timeout=0.1, retries=1).forecast(CAISO)
    assert server.count("/v3/forecast") == 2


def test_it_never_reveals_the_password_or_tokens(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logins(server, *TOKENS)

    def echo(request: Recorded) -> Reply:
        # A careless server that quotes the credentials it was sent back in its error body.
        status = 401 if request.path == "/v3/forecast" else 500
        return Reply(status, body=f"{bearer(request)} rejected (password {PASSWORD})")

    server.route("/v3/forecast", echo)
    server.route("/v3/historical", echo)

    provider = make(server)
    messages = []
    for call in (
        lambda: provider.forecast(CAISO),  # 401, logs in again, 401 again
        lambda: provider.history(CAISO, NOW - timedelta(hours=2), NOW),
    ):
        with pytest.raises(ProviderError) as info:
            call()
        messages.append(str(info.value))

    for secret in (PASSWORD, *TOKENS):
        assert all(secret not in m for m in messages)
        assert secret not in caplog.text
    assert "watttime" in caplog.text


def test_it_is_built_from_settings(settings: object) -> None:
    settings.WATTTIME_USERNAME = "u"  # type: ignore[attr-defined]
    settings.WATTTIME_PASSWORD = "p"  # type: ignore[attr-defined]
    settings.WATTTIME_BASE_URL = "http://127.0.0.1:9"  # type: ignore[attr-defined]
    settings.WATTTIME_SIGNAL = "co2_aoer"  # type: ignore[attr-defined]

    provider = watttime.build()

    assert provider.name == "watttime" and provider.simulated is False
    assert (provider.signal_type, provider.signal) == ("co2_aoer", "average")
    assert provider.zones() == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
POINT = st.fixed_dictionaries(
    {
        "point_time": st.sampled_from(["2026-03-02T12:00:00+00:00", "2026-03-02T12:05:00Z", "soon", None, 1]),
        "value": st.none() | st.floats(allow_nan=False) | st.text(max_size=3) | st.booleans(),
    }
)
META = JSON | st.fixed_dictionaries(
    {
        "signal_type": st.sampled_from(["co2_moer", "co2_aoer", "health", None, 3]),
        "units": st.sampled_from(["lbs_co2_per_mwh", "g_co2_per_kwh", "percentile", None]),
        "data_point_period_seconds": st.sampled_from([300, 0, -5, "300", None, True, 1.5]),
        "generated_at": st.sampled_from(["2026-03-02T12:05:00+00:00", "", None, "later", 5]),
    }
)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        fake.route("/login", Reply(json={"token": TOKENS[0]}))
        yield fake


@hypothesis_settings(max_examples=100, deadline=None)
@given(payload=JSON | st.fixed_dictionaries({"data": JSON | st.lists(POINT, max_size=3), "meta": META}))
def test_it_turns_any_malformed_payload_into_a_provider_error(
    shared_server: FakeServer, payload: object
) -> None:
    # Whatever the server sends, the chain sees readings or a ProviderError, never a crash.
    shared_server.route("/v3/.*", Reply(json=payload))
    provider = make(shared_server, retries=0)
    for call in (
        lambda: provider.current(CAISO),
        lambda: provider.forecast(CAISO),
        lambda: provider.history(CAISO, NOW - timedelta(hours=3), NOW),
    ):
        try:
            call()
        except ProviderError:
            pass
