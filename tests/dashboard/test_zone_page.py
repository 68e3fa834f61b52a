"""The zone page: backups drawn so they can be seen and told from the quality bands; the forecast
accuracy said in the page's unit, and only over enough points to be an average."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from django.test import Client

from carbon.charts import QUALITY_BANDS
from carbon.models import CarbonReading, Zone
from carbon.services.accuracy import MIN_POINTS
from tests.dashboard.conftest import completed_job


def _figure(body: str) -> dict[str, Any]:
    block = re.search(r'<script type="application/json" id="chart-[0-9a-f]+-figure">(.*?)</script>', body, re.S)
    assert block
    return json.loads(block.group(1))["figure"]


def _rgb(colour: str) -> tuple[int, ...]:
    if colour.startswith("#"):
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    found = re.match(r"rgba?\((\d+),\s*(\d+),\s*(\d+)", colour)
    assert found, colour
    return tuple(int(v) for v in found.groups())


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_a_short_finished_backup_is_visible_and_not_the_colour_of_a_band(
    viewer: Client, demo_data: None, now: Any
) -> None:
    de = Zone.objects.get(code="DE")
    job = completed_job(de, when=now - timedelta(hours=3), emitted=1.0, counterfactual=1.2)
    job.started_at = job.completed_at - timedelta(minutes=2)  # a two-minute demo backup
    job.save()
    figure = _figure(viewer.get("/zones/DE?days=7").content.decode())
    legend = [t for t in figure["data"] if t.get("name") == "finished backups"]
    assert len(legend) == 1
    swatch = legend[0]["marker"]
    bands = {_rgb(colour) for _, colour in QUALITY_BANDS}
    assert _rgb(swatch["color"]) not in bands
    assert _rgb(swatch["line"]["color"]) == _rgb(swatch["color"])  # outlined: seen on white
    drawn = [
        s
        for s in figure["layout"]["shapes"]
        if s.get("xref") == "x" and _rgb(s.get("fillcolor") or s["line"]["color"]) == _rgb(swatch["color"])
    ]
    assert len(drawn) == 1
    span = drawn[0]
    xs = [_epoch(x) for trace in figure["data"] for x in trace.get("x") or [] if x]
    chart_seconds = max(xs) - min(xs)
    width = _epoch(span["x1"]) - _epoch(span["x0"])
    # A plot about 1,000 px wide: a span narrower than a few pixels is drawn as a line of 2 px.
    assert width >= chart_seconds / 300 or (span["type"] == "line" and span["line"]["width"] >= 2)


def _forecast_points(zone: Zone, now: datetime, hours: int) -> None:
    start = (now - timedelta(hours=hours + 1)).replace(minute=0, second=0, microsecond=0)
    for i in range(hours):
        t = start + timedelta(hours=i)
        common = {"zone": zone, "start": t, "end": t + timedelta(hours=1), "source": "simulated"}
        CarbonReading.objects.create(value=100.0, kind="actual", **common)
        CarbonReading.objects.create(value=103.0, kind="forecast", issued_at=t - timedelta(hours=2), **common)


def test_accuracy_over_too_few_points_says_so(viewer: Client, now: Any) -> None:
    zone = Zone.objects.get(code="FR")
    _forecast_points(zone, now, 1)
    body = viewer.get("/zones/FR").content.decode()
    assert "over 1 forecast points" not in body and "were off by" not in body
    assert f"Only 1 forecast point of the last 7 days can be compared with what was measured yet: too few for an average (it takes {MIN_POINTS})." in body


def test_accuracy_is_written_in_gco2_per_kwh(viewer: Client, now: Any) -> None:
    zone = Zone.objects.get(code="FR")
    _forecast_points(zone, now, MIN_POINTS)
    body = viewer.get("/zones/FR").content.decode()
    assert f"off by <strong>3 gCO2/kWh</strong> on average (3.0 %), over {MIN_POINTS} forecast points." in body
    card = body.split("Forecast accuracy", 1)[1].split("</section>", 1)[0]
    assert "<dt>up to 6 h ahead</dt><dd>3 gCO2/kWh</dd>" in card
    assert " g/kWh" not in card
    assert "<dt>6–24 h ahead</dt><dd>—</dd>" in card
