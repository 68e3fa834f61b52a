"""The report built from the database against the hand-computed fixture (see conftest.py)."""

from __future__ import annotations

import math

import pytest

from reports.esg import loader
from reports.esg.periods import quarter_period
from reports.esg.value import Scope
from tests.reports.conftest import NOW

Q3 = quarter_period(2026, 3)
EXACT = 1e-12  # kg: a picogram, far below "to the gram"


def build(scope: Scope | None = None, **kw):
    return loader.build(Q3, scope or Scope(), keep_rows=None, now=NOW, **kw)


def test_it_gives_the_hand_computed_totals(esg_fixture) -> None:
    report = build()
    t = report.totals
    assert t.backups == 3
    assert t.data_gb == pytest.approx(3000.0, abs=EXACT)
    assert t.energy_kwh == pytest.approx(1.0, abs=EXACT)
    assert t.emissions_kg == pytest.approx(0.095, abs=EXACT)
    assert t.counterfactual_kg == pytest.approx(0.11, abs=EXACT)
    assert t.avoided_kg == pytest.approx(0.015, abs=EXACT)
    assert t.shifted == 1  # A was planned an hour after its request
    assert t.deadline_misses == 1  # C
    assert t.mean_delay_minutes == pytest.approx(20.0)  # A 60, B 0, C 0
    assert t.max_delay_minutes == pytest.approx(60.0)
    assert t.mean_intensity == pytest.approx(95.0)  # 0.095 kg / 1.0 kWh
    assert t.without_readings == 0
    assert (t.simulated, t.stale, t.forecast_only, t.flagged) == (0, 0, 0, 0)
    assert report.unaccounted_runs == 1  # E failed
    assert report.sci.g_per_backup == pytest.approx(95.0 / 3)
    assert report.sci.g_per_tb == pytest.approx(95.0 / 3.0)


def test_it_gives_each_backup_its_stored_figures(esg_fixture) -> None:
    rows = {row.name: row for row in build().rows}
    assert sorted(rows) == ["vm-a", "vm-b", "vm-c"]  # D completed at the excluded end
    a = rows["vm-a"]
    assert (a.energy_kwh, a.intensity_experienced) == (pytest.approx(0.3), pytest.approx(150.0))
    assert (a.emissions_kg, a.counterfactual_kg, a.avoided_kg) == (
        pytest.approx(0.045),
        pytest.approx(0.06),
        pytest.approx(0.015),
    )
    assert rows["vm-b"].emissions_kg == pytest.approx(0.02)
    assert rows["vm-c"].emissions_kg == pytest.approx(0.03)
    assert rows["vm-c"].deadline_missed and not rows["vm-a"].deadline_missed
    assert rows["vm-a"].sources == ("csv",)


def test_it_reconciles_rows_zones_and_months_to_the_totals(esg_fixture) -> None:
    report = build()
    for attr in ("energy_kwh", "emissions_kg", "counterfactual_kg", "avoided_kg", "data_gb"):
        total = getattr(report.totals, attr)
        assert math.fsum(getattr(r, attr) for r in report.rows) == pytest.approx(total, abs=EXACT)
        assert math.fsum(getattr(f, attr) for _, f in report.by_zone) == pytest.approx(total, abs=EXACT)
        assert math.fsum(getattr(f, attr) for _, f in report.by_month) == pytest.approx(total, abs=EXACT)
    zones = dict(report.by_zone)
    assert zones["DE"].emissions_kg == pytest.approx(0.065)
    assert zones["FR"].emissions_kg == pytest.approx(0.03)
    assert [key for key, _ in report.by_month] == ["2026-07"]


def test_it_scopes_to_a_zone_or_a_policy(esg_fixture) -> None:
    de = build(loader.resolve_scope(zone="de"))
    assert de.header.scope.zone == "DE"
    assert de.totals.backups == 2
    assert de.totals.emissions_kg == pytest.approx(0.065)
    nightly = build(loader.resolve_scope(policy="nightly"))
    assert [r.name for r in nightly.rows] == ["vm-b"]
    assert nightly.header.scope.policy_id == esg_fixture.policy_id


def test_it_describes_zones_providers_signal_granularity_and_scope(esg_fixture, settings) -> None:
    settings.REPORT_SITE_SCOPE = "FR=hosted"
    settings.REPORT_ORGANISATION = "Acme Backup GmbH"
    report = build()
    zones = {z.code: z for z in report.header.zones}
    assert zones["DE"].providers == ("csv",)
    assert zones["DE"].signals == ("average",)
    assert zones["DE"].granularity == "60 min steps"
    assert zones["DE"].ghg_scope.startswith("Scope 2")
    assert zones["FR"].ghg_scope.startswith("Scope 3")
    assert report.header.organisation == "Acme Backup GmbH"
    titles = [title for title, _ in report.header.methodology]
    assert "Energy model" in titles and "Intensity over a run" in titles


def test_it_adds_market_based_and_embodied_figures_when_configured(esg_fixture, settings) -> None:
    settings.REPORT_SUPPLIER_FACTOR = 200.0
    settings.REPORT_EMBODIED_KG_PER_TB = 10.0
    report = build()
    assert report.totals.market_kg == pytest.approx(1.0 * 200 / 1000)
    # nothing reported bytes_written in the fixture: no TB written, no embodied kg
    assert report.sci.embodied_kg == 0.0
    assert "Market-based emissions" in [t for t, _ in report.header.methodology]


def test_it_gives_a_valid_empty_report_for_an_empty_period(db) -> None:
    report = build()
    assert report.empty
    assert report.totals.backups == 0 and report.totals.emissions_kg == 0.0
    assert report.totals.mean_delay_minutes is None
    assert report.sci.g_per_backup is None
    assert report.by_zone == () and report.rows == ()


def test_it_streams_rows_in_completion_order_in_one_query_per_chunk(
    esg_fixture, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(2):
        rows = list(loader.iter_rows(Q3, Scope(), chunk_size=2))
    assert [r.name for r in rows][0] == "vm-b"  # A and C both completed at 03:00 (then by id)
    assert [r.completed_at for r in rows] == sorted(r.completed_at for r in rows)
    assert {r.name for r in rows} == {"vm-a", "vm-b", "vm-c"}
