"""The pure aggregation and period rules (no database)."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from reports.esg.params import period_from_inputs
from reports.esg.periods import (
    Period,
    ReportInputError,
    check_period,
    month_period,
    parse_period,
    previous_period,
    quarter_period,
    year_period,
)
from reports.esg.value import BackupRow, ExactSum, ReportConfig, Scope, build_report, parse_site_scope

CONFIG = ReportConfig(organisation="Acme", base_watts=100, watts_per_tb=50, pue=1.0)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def row(i: int, *, kg: float | None = 0.01, zone: str = "DE", hours: float = 0.0, **kw) -> BackupRow:
    start = T0 + timedelta(hours=hours)
    fields = dict(
        id=f"job-{i}",
        name=f"vm-{i}",
        zone=zone,
        policy_id=None,
        policy=None,
        requested_at=start,
        earliest_start=start,
        latest_start=start + timedelta(hours=4),
        planned_start=start,
        started_at=start,
        completed_at=start + timedelta(hours=1),
        data_gb=100.0,
        bytes_written=40_000_000_000,
        energy_kwh=0.105,
        intensity_experienced=None if kg is None else kg * 1000 / 0.105,
        emissions_kg=kg,
        counterfactual_intensity=None if kg is None else 300.0,
        counterfactual_kg=None if kg is None else 0.0315,
        avoided_kg=None if kg is None else 0.0315 - kg,
    )
    fields.update(kw)
    return BackupRow(**fields)


def report(rows, **kw):
    return build_report(
        rows, period=year_period(2026), scope=Scope(), config=kw.pop("config", CONFIG), generated_at=T0, **kw
    )


def test_it_sums_exactly_where_naive_addition_drifts() -> None:
    values = [0.1] * 10 + [1e16, 1.0, -1e16]
    total = ExactSum()
    for v in values:
        total.add(v)
    assert total.value() == math.fsum(values) == 2.0
    assert sum(values) != 2.0


def test_it_reconciles_random_rows_to_the_totals_exactly() -> None:
    rng = random.Random(7)
    rows = [
        row(
            i,
            kg=rng.uniform(0, 0.2),
            zone=rng.choice(["DE", "FR", "GB"]),
            hours=rng.uniform(0, 8000),
            energy_kwh=rng.uniform(0.01, 3),
        )
        for i in range(2000)
    ]
    result = report(iter(rows), keep_rows=10)
    assert result.totals.backups == 2000 and len(result.rows) == 10 and result.rows_truncated
    for attr in ("energy_kwh", "emissions_kg", "avoided_kg", "counterfactual_kg"):
        exact = math.fsum(getattr(r, attr) for r in rows)
        assert getattr(result.totals, attr) == exact  # the correctly rounded sum, bit for bit
        assert math.fsum(getattr(f, attr) for _, f in result.by_zone) == pytest.approx(exact, abs=1e-9)
        assert math.fsum(getattr(f, attr) for _, f in result.by_month) == pytest.approx(exact, abs=1e-9)
        assert math.fsum(getattr(f, attr) for _, f in result.by_day) == pytest.approx(exact, abs=1e-9)
    assert sum(f.backups for _, f in result.by_month) == 2000


def test_it_counts_flagged_backups_and_leaves_out_kg_it_does_not_have() -> None:
    rows = [
        row(1, simulated=True),
        row(2, simulated=True, stale=True),
        row(3, forecast_only=True),
        row(4, kg=None),
        row(5),
    ]
    t = report(rows).totals
    assert (t.simulated, t.stale, t.forecast_only, t.flagged) == (2, 1, 1, 3)
    assert t.simulated_kg == pytest.approx(0.02)
    assert t.without_readings == 1 and t.without_counterfactual == 1
    assert t.emissions_kg == pytest.approx(0.04)
    assert t.energy_kwh == pytest.approx(0.525)  # energy is known for all five


def test_it_counts_shifts_delays_and_deadline_misses() -> None:
    late = row(
        1,
        planned_start=T0 + timedelta(hours=2),
        started_at=T0 + timedelta(hours=5),
        completed_at=T0 + timedelta(hours=6),
    )
    on_time = row(2, started_at=T0 + timedelta(seconds=30), completed_at=T0 + timedelta(hours=1))
    t = report([late, on_time]).totals
    assert t.shifted == 1 and t.deadline_misses == 1
    assert t.max_delay_minutes == 300.0
    assert t.mean_delay_minutes == pytest.approx((300 + 0.5) / 2)
    assert t.shifted_share == 0.5


def test_it_computes_sci_with_and_without_embodied_emissions() -> None:
    rows = [row(1, kg=0.05), row(2, kg=0.15)]  # 200 GB read, 80 GB written
    plain = report(rows).sci
    assert plain.g_per_backup == pytest.approx(100.0)
    assert plain.g_per_tb == pytest.approx(200.0 / 0.2)
    assert plain.embodied_kg is None and plain.total_g_per_backup == plain.g_per_backup
    config = ReportConfig(
        organisation="Acme", base_watts=100, watts_per_tb=50, pue=1.0, embodied_kg_per_tb=5.0
    )
    sci = report(rows, config=config).sci
    assert sci.embodied_kg == pytest.approx(0.4)  # 0.08 TB x 5 kg
    assert sci.total_g_per_backup == pytest.approx((200 + 400) / 2)


def test_it_names_months_quarters_and_years() -> None:
    assert month_period(2026, 12) == Period(
        datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC), "month"
    )
    assert quarter_period(2026, 3).label == "2026-Q3"
    assert parse_period("2026-q4") == quarter_period(2026, 4)
    assert parse_period("2026-02").end == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_period("2026") == year_period(2026)
    assert previous_period("quarter", date(2026, 2, 10)) == quarter_period(2025, 4)
    assert previous_period("month", date(2026, 1, 5)) == month_period(2025, 12)
    for bad in ("2026-13", "2026-Q5", "26", "last year"):
        with pytest.raises(ReportInputError):
            parse_period(bad)


def test_it_takes_an_inclusive_end_date_and_labels_whole_quarters() -> None:
    period = period_from_inputs(start="2026-07-01", end="2026-09-30", max_days=366)
    assert period == quarter_period(2026, 3)
    custom = period_from_inputs(start="2026-07-01T06:00:00Z", end="2026-07-02T06:00:00+00:00", max_days=366)
    assert custom.kind == "custom" and custom.days == 1.0


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"start": "2026-07-02", "end": "2026-07-01"}, "end", "must be after start"),
        ({"start": "2025-01-01", "end": "2026-12-31"}, "end", "at most 366 days"),
        ({"start": "yesterday", "end": "2026-07-01"}, "start", "not a date"),
        ({"start": "2026-07-01"}, "end", "end is required"),
        ({"period": "2026-Q3", "start": "2026-07-01"}, "period", "not both"),
    ],
)
def test_it_refuses_bad_periods_with_a_clear_message(kwargs, field, words) -> None:
    with pytest.raises(ReportInputError) as caught:
        period_from_inputs(max_days=366, **kwargs)
    assert caught.value.field == field and words in str(caught.value)


def test_it_refuses_naive_periods_and_reads_site_scopes() -> None:
    with pytest.raises(ReportInputError):
        check_period(Period(datetime(2026, 1, 1), datetime(2026, 2, 1)), max_days=366)
    assert parse_site_scope("de=own, FR=Hosted") == {"DE": "own", "FR": "hosted"}
    with pytest.raises(ValueError):
        parse_site_scope("DE=cloud")


def test_it_counts_backups_that_ran_dirtier_than_their_counterfactual() -> None:
    # Counterfactual 0.0315 kg each: 0.01 saved 0.0215; 0.04 and 0.05 lost 0.0085 and 0.0185.
    rows = [row(1, kg=0.01), row(2, kg=0.04), row(3, kg=0.05, zone="FR"), row(4, kg=None)]
    t = report(rows).totals
    assert t.made_worse == 2
    assert t.lost_kg == pytest.approx(0.0085 + 0.0185)
    assert t.avoided_kg == pytest.approx(0.0215 - 0.0085 - 0.0185)  # the loss is in the net figure
    assert report(rows[:1]).totals.made_worse == 0
