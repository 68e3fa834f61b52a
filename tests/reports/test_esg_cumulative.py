"""The ESG report's cumulative chart steps at each backup's finish time and stays flat between,
from the very steps the savings page draws (reports.queries.cumulative_steps)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from reports import charts as savings_charts
from reports import queries
from reports.esg import charts, loader
from reports.esg.periods import Period
from reports.esg.value import Scope
from tests.reports.conftest import NOW, T0

# Two days: the fixture's backups finish on the first (01:00, 01:30, 03:00 UTC).
TWO_DAYS = Period(T0, T0 + timedelta(days=2))


def _polyline(svg: str, name: str) -> list[tuple[float, float]]:
    points = re.search(rf'<polyline class="{name}" points="([^"]+)"', svg)
    assert points, name
    return [tuple(map(float, p.split(","))) for p in points.group(1).split()]  # type: ignore[misc]


def test_it_feeds_the_esg_chart_with_the_savings_page_steps(esg_fixture) -> None:
    report = loader.build(TWO_DAYS, Scope(), now=NOW)
    jobs = loader.accounted_jobs(TWO_DAYS, Scope())
    assert list(report.cumulative) == queries.cumulative_steps(jobs, until=TWO_DAYS.end)
    # the curve ends on the report's (and the CSV's) totals
    assert report.cumulative[-1][1] == pytest.approx(report.totals.emissions_kg, abs=1e-12)
    assert report.cumulative[-1][2] == pytest.approx(report.totals.counterfactual_kg, abs=1e-12)


def test_it_steps_the_esg_curve_at_each_finish_time_and_stays_flat_between(esg_fixture) -> None:
    report = loader.build(TWO_DAYS, Scope(), now=NOW)
    svg = charts.emissions_over_time(report)
    left, plot_w = 64, 720 - 64 - 16

    def x_of(when: datetime) -> float:
        return round(left + plot_w * (when - TWO_DAYS.start).total_seconds() / (2 * 86400), 1)

    for name in ("emitted", "counterfactual"):
        points = _polyline(svg, name)
        # every segment is flat (same y) or a rise at one instant (same x): never a slope
        assert all(a[0] == b[0] or a[1] == b[1] for a, b in zip(points, points[1:], strict=False))
        rises = {a[0] for a, b in zip(points, points[1:], strict=False) if a[0] == b[0] and a[1] != b[1]}
        finishes = {x_of(when) for when, *_ in report.cumulative[1:-1]}
        assert rises and rises <= finishes
        assert (
            points[0][0] == left and points[-1][0] == left + plot_w
        )  # from the period's start, flat to its end
    assert x_of(datetime(2026, 7, 1, 1, 30, tzinfo=UTC)) in {p[0] for p in _polyline(svg, "emitted")}
    # masses in the unit hyperweb.lib.units picks (the fixture emits grams)
    assert ">g CO2e</text>" in svg and "emitted (95.0 g)" in svg


def test_it_draws_the_savings_bars_in_the_unit_the_tables_use() -> None:
    month = datetime(2026, 7, 1, tzinfo=UTC)
    grams = savings_charts.monthly_chart(
        [{"period": month, "counterfactual": 0.5, "emitted": 0.2, "avoided": 0.3}]
    )
    assert '"g CO2"' in grams and "500" in grams and "kg CO2" not in grams
    tonnes = savings_charts.zone_bars_chart(
        [{"zone__code": "DE", "counterfactual": 2500.0, "emitted": 2000.0, "avoided": 500.0}]
    )
    assert '"t CO2"' in tonnes and "2.5" in tonnes


def test_it_skips_the_curve_where_nothing_is_drawn(esg_fixture) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as with_curve:
        drawn = loader.build(TWO_DAYS, Scope(), keep_rows=0, now=NOW)
    with CaptureQueriesContext(connection) as without:
        summary = loader.build(TWO_DAYS, Scope(), keep_rows=0, now=NOW, curve=False)
    assert drawn.cumulative and not summary.cumulative
    assert len(without) < len(with_curve) and summary.totals == drawn.totals
