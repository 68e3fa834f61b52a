"""carbon.charts.planned_timeline: the overview's bars of planned backups, one row per zone."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from carbon.charts import planned_timeline
from carbon.models import Zone

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@dataclass
class Run:
    """A planned backup as the timeline reads it (scheduler.models.BackupJob has these fields)."""

    zone: Zone | None
    name: str
    vm_path: str
    planned_start: datetime | None
    expected_duration: timedelta


def _figure(html: str) -> dict:
    payload = re.search(r'<script type="application/json" id="[^"]+">(.*)</script>', html, re.S)
    assert payload is not None, html
    return json.loads(payload.group(1))["figure"]


def test_it_draws_one_row_per_zone_from_each_runs_planned_start_for_its_duration() -> None:
    de, fr = Zone(code="DE", name="Germany"), Zone(code="FR", name="France")
    runs = [
        Run(de, "web-01", "/vms/web-01.qcow2", NOW + timedelta(hours=2), timedelta(hours=1)),
        Run(fr, "", "/vms/db-01.qcow2", NOW + timedelta(hours=5), timedelta(minutes=30)),
        Run(de, "web-02", "/vms/web-02.qcow2", NOW + timedelta(hours=3), timedelta(hours=2)),
        Run(None, "loose", "/vms/loose.qcow2", NOW + timedelta(hours=1), timedelta(hours=1)),
    ]

    bars = {trace["name"]: trace for trace in _figure(planned_timeline(runs, now=NOW, hours=48))["data"]}

    assert list(bars) == ["DE", "FR", "no zone"]
    assert bars["DE"]["base"] == ["2026-12-02T14:00:00Z", "2026-12-02T15:00:00Z"]
    assert bars["DE"]["x"] == [3_600_000, 7_200_000]
    assert bars["DE"]["text"] == ["web-01", "web-02"]
    assert bars["FR"]["text"] == ["db-01.qcow2"]  # no name: the VM's file name
    assert bars["no zone"]["y"] == ["no zone"]
