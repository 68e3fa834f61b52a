"""POST /carbon/status costs a fixed number of queries, each on a small index range, however much
history a zone has stored (a year of it once made one query walk the whole history)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from carbon.models import CarbonReading, Zone
from carbon.providers import register, unregister
from tests.carbon.factories import ZoneFactory
from tests.carbon.fakes import FakeProvider

pytestmark = pytest.mark.django_db

# 2 to authenticate (key with user, role groups), the zone, 2 freshness checks (current and
# forecast), the recent actuals, the newest forecast issue per source (one ForecastIssue lookup),
# that issue's rows. This is
# the uncached cost: these tests run inside a transaction, where the status cache is bypassed
# (test_carbon_cache.py asserts the cached counts).
STATUS_QUERIES = 8


@pytest.fixture
def steady() -> Iterator[FakeProvider]:
    provider = FakeProvider("steady", 300.0, forecast=[320.0, 310.0, 190.0, 150.0] * 72)
    register("steady", lambda: provider)
    yield provider
    unregister("steady")


def zone_with_history(code: str, days: int, *, forecast_issues: int = 0) -> Zone:
    """Hourly actuals for `days` days up to the last hour, and older hourly forecast issues."""
    zone = ZoneFactory(code=code, providers="steady")
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    hour = timedelta(hours=1)
    rows = [
        CarbonReading(zone=zone, start=now - i * hour, end=now - (i - 1) * hour, value=250.0, source="steady")
        for i in range(1, days * 24 + 1)
    ]
    for issue in range(1, forecast_issues + 1):
        issued = now - issue * hour
        rows += [
            CarbonReading(
                zone=zone,
                kind="forecast",
                issued_at=issued,
                start=issued + i * hour,
                end=issued + (i + 1) * hour,
                value=280.0,
                source="steady",
            )
            for i in range(72)
        ]
    CarbonReading.objects.bulk_create(rows)
    return zone


def status_queries(api, code: str) -> list[str]:
    payload = {"zone": code, "threshold": 200}
    assert api.post("/carbon/status", payload, format="json").status_code == 200  # fetches once
    with CaptureQueriesContext(connection) as ctx:
        response = api.post("/carbon/status", payload, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["next_optimal_time"]  # the 190 step of the fake forecast
    return [query["sql"] for query in ctx.captured_queries]


def test_it_answers_the_status_with_as_many_queries_for_60_days_of_history_as_for_1(viewer_api, steady):
    short = status_queries(viewer_api, zone_with_history("H1", 1).code)
    long = status_queries(viewer_api, zone_with_history("H60", 60, forecast_issues=48).code)
    assert len(short) == len(long) <= STATUS_QUERIES, "\n".join(long)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's EXPLAIN QUERY PLAN wording")
def test_it_reads_readings_for_the_status_on_bounded_index_ranges(viewer_api, steady):
    queries = status_queries(viewer_api, zone_with_history("H60", 60, forecast_issues=48).code)
    plans = []
    with connection.cursor() as cursor:
        for sql in queries:
            if "carbon_carbonreading" in sql:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
                plans += [row[-1] for row in cursor.fetchall() if "carbon_carbonreading" in row[-1]]
    assert len(plans) == 2, plans
    for plan in plans:
        # Bounded: the steps ending after a recent instant (end>?), or one forecast issue by
        # equality; never "start<?" (everything before now) nor a SCAN of the table.
        assert plan.startswith("SEARCH") and ("end>?" in plan or "issued_at=?" in plan), plan
