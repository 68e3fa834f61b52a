"""Every chart's y-axis title stands clear of its tick labels (the savings charts' "g CO2" titles
sat on "0.0025"-wide labels), on the savings page, a zone page and the what-if page. Headless
Debian chromium; screenshots go to var/test-artifacts/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from accounts.roles import ensure_roles
from tests.dashboard.conftest import PASSWORD, completed_job, sign_in
from tests.dashboard.test_e2e_actions import ARTIFACTS, _page, chromium  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser]

# For each drawn chart: the y title's box and the union of its y tick labels' boxes.
OVERLAPS = """() => Array.from(document.querySelectorAll("div.hw-chart")).flatMap(chart => {
  const title = chart.querySelector(".g-ytitle text");
  const ticks = Array.from(chart.querySelectorAll(".yaxislayer-above .ytick text, .yaxislayer-above text.ytick"));
  if (!title || !ticks.length) return [];
  const t = title.getBoundingClientRect();
  const right = Math.max(...ticks.map(x => x.getBoundingClientRect().right));
  const left = Math.min(...ticks.map(x => x.getBoundingClientRect().left));
  return [{title: title.textContent, titleLeft: t.left, titleRight: t.right, ticksLeft: left, ticksRight: right}];
})"""


@pytest.mark.django_db(transaction=True)
def test_no_y_axis_title_overlaps_its_tick_labels(live_server: Any, chromium: Any) -> None:  # noqa: F811
    from django.utils import timezone

    from carbon.models import Zone
    from carbon.services import load_demo_data

    ensure_roles()
    get_user_model().objects.create_superuser("admin", password=PASSWORD)
    now = timezone.now()
    load_demo_data(days=10, now=now)
    de = Zone.objects.get(code="DE")
    for minutes in range(3):  # milligram backups: tick labels like "0.0025"
        completed_job(de, when=now - timedelta(minutes=minutes + 1), emitted=8.5e-7, counterfactual=8.5e-7)
    errors: list[str] = []
    page = _page(chromium, errors)
    sign_in(page, live_server.url)
    checked = []
    for name, path, charts in (
        ("savings", "/savings", 3),
        ("zone", "/zones/DE", 1),
        ("whatif", "/what-if?zone=DE&duration_hours=2&flexibility_hours=4&days=30", 1),
    ):
        page.goto(live_server.url + path)
        page.wait_for_function(
            f"document.querySelectorAll('div.hw-chart .g-ytitle text').length >= {charts}", timeout=15_000
        )
        page.screenshot(path=str(ARTIFACTS / f"axis-titles-{name}.png"), full_page=True)
        boxes = page.evaluate(OVERLAPS)
        assert len(boxes) >= charts, (name, boxes)
        for box in boxes:
            # The title is rotated, left of the labels: its right edge must not reach them.
            assert box["titleRight"] <= box["ticksLeft"], (name, box)
        checked += boxes
    assert {b["title"] for b in checked} >= {"g CO2, cumulative", "g CO2", "gCO2/kWh", "request times"}
    assert not errors, errors
