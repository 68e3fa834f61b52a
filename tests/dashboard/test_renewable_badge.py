"""The dashboard shows an unknown renewable share as "unknown", never as a made-up 0 %."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from carbon.models import Zone
from tests.carbon.factories import CarbonReadingFactory


def test_it_shows_an_unknown_share_as_unknown_on_the_dashboard(viewer, db):
    de = Zone.objects.get(code="DE")
    now = datetime.now(UTC)
    CarbonReadingFactory(zone=de, start=now - timedelta(minutes=5), end=now + timedelta(minutes=10), value=250)
    page = viewer.get("/zones/DE").content.decode()
    assert "renewable: unknown" in page and "% renewable" not in page
    overview = viewer.get("/").content.decode()
    assert "renewable: unknown" in overview and "0 % renewable" not in overview

    CarbonReadingFactory(
        zone=de, start=now - timedelta(minutes=5), end=now + timedelta(minutes=10), value=250,
        source="electricitymaps", renewable_percent=42.0,
    )
    page = viewer.get("/zones/DE").content.decode()
    assert "42 % renewable" in page and "renewable: unknown" not in page
