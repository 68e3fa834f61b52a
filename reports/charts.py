"""Savings and what-if charts, and the job totals they rest on (aggregated in the ORM).

Savings are always against each job's counterfactual (had it started when it was requested),
as scheduler accounting records them; nothing here recomputes a saving.

A marginal signal is not an average one (a marginal rate prices the next kWh, an average one the
mix: neither may be added to the other): every kg figure here is split by the
signal the job's accounting recorded (`accounting["signal"]`), and the figures shown as the
savings are average-signal ones; marginal-signal jobs (WattTime MOER) are summed apart and never
added in. A job accounted before the signal was recorded counts as average, since every provider
but WattTime's default MOER gives average intensities.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Case, CharField, Count, F, FloatField, Max, Min, Q, QuerySet, Sum, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, TruncDay, TruncMonth

from carbon.charts import ACTUAL_COLOUR, FORECAST_COLOUR, base_layout, note, render
from scheduler.models import BackupJob

EMITTED_COLOUR = "#a34a00"
COUNTERFACTUAL_COLOUR = "#55606e"
SAVED_COLOUR = "#1e6b34"


AVERAGE = "average"
MARGINAL = "marginal"
# Only a recorded "marginal" is marginal; a missing or null key is an older, average accounting.
_IS_MARGINAL = Q(accounting__signal=MARGINAL)
SIGNAL = Case(When(_IS_MARGINAL, then=Value(MARGINAL)), default=Value(AVERAGE), output_field=CharField())


@dataclass(frozen=True)
class MarginalTotals:
    """Marginal-signal jobs' figures: a decision signal, never added to the average kg."""

    runs: int
    emitted_kg: float
    counterfactual_kg: float
    avoided_kg: float

    @property
    def avoided_percent(self) -> float | None:
        if self.counterfactual_kg <= 0:
            return None
        return 100.0 * self.avoided_kg / self.counterfactual_kg


@dataclass(frozen=True)
class Totals:
    """`runs`, `data_gb` and the flag counts cover every accounted job (a count or a size has no
    signal); the kg figures are average-signal jobs only (`average_runs` of them), and the
    marginal-signal jobs' kg are in `marginal` (None when there are none)."""

    runs: int
    data_gb: float
    emitted_kg: float
    counterfactual_kg: float
    avoided_kg: float
    simulated_runs: int
    stale_runs: int
    average_runs: int = 0
    marginal: MarginalTotals | None = None
    # Average-signal backups that ran dirtier than their counterfactual (saving_kg < 0; the same
    # counterfactual as every saving, scheduler.accounting) and the kg they added in total.
    made_worse_runs: int = 0
    lost_kg: float = 0.0

    @property
    def simulated(self) -> bool:
        return self.simulated_runs > 0

    @property
    def avoided_percent(self) -> float | None:
        if self.counterfactual_kg <= 0:
            return None
        return 100.0 * self.avoided_kg / self.counterfactual_kg


def accounted_jobs() -> QuerySet[BackupJob]:
    """Completed backups whose emissions were accounted."""
    return BackupJob.objects.filter(status=BackupJob.Status.COMPLETED, emissions_kg__isnull=False)


# What a run read, as accounted (the energy model's input, the ESG report's data_gb), else the
# size declared at submission.
DATA_READ_GB = Coalesce(Cast(KT("accounting__data_gb"), FloatField()), F("data_size_gb"))


def _kg_sums(field: str, signal: Q) -> Coalesce:
    return Coalesce(Sum(field, filter=signal), 0.0)


def totals(jobs: QuerySet[BackupJob]) -> Totals:
    """Runs, data, and per signal emissions, counterfactual and avoided kg (one query)."""
    row = jobs.annotate(signal=SIGNAL).aggregate(
        runs=Count("pk"),
        read_gb=Coalesce(Sum(DATA_READ_GB), 0.0),
        average_runs=Count("pk", filter=Q(signal=AVERAGE)),
        emitted=_kg_sums("emissions_kg", Q(signal=AVERAGE)),
        counterfactual=_kg_sums("counterfactual_kg", Q(signal=AVERAGE)),
        avoided=_kg_sums("saving_kg", Q(signal=AVERAGE)),
        marginal_runs=Count("pk", filter=Q(signal=MARGINAL)),
        marginal_emitted=_kg_sums("emissions_kg", Q(signal=MARGINAL)),
        marginal_counterfactual=_kg_sums("counterfactual_kg", Q(signal=MARGINAL)),
        marginal_avoided=_kg_sums("saving_kg", Q(signal=MARGINAL)),
        simulated=Count("pk", filter=Q(simulated=True)),
        stale=Count("pk", filter=Q(stale=True)),
        made_worse=Count("pk", filter=Q(signal=AVERAGE, saving_kg__lt=0)),
        lost=Coalesce(Sum("saving_kg", filter=Q(signal=AVERAGE, saving_kg__lt=0)), 0.0),
    )
    # Data backed up: what the runs really read (the ESG report's figure), not the archives' size.
    data_gb = row["read_gb"]
    marginal = None
    if row["marginal_runs"]:
        marginal = MarginalTotals(
            runs=row["marginal_runs"],
            emitted_kg=float(row["marginal_emitted"]),
            counterfactual_kg=float(row["marginal_counterfactual"]),
            avoided_kg=float(row["marginal_avoided"]),
        )
    return Totals(
        runs=row["runs"],
        data_gb=float(data_gb),
        emitted_kg=float(row["emitted"]),
        counterfactual_kg=float(row["counterfactual"]),
        avoided_kg=float(row["avoided"]),
        simulated_runs=row["simulated"],
        stale_runs=row["stale"],
        average_runs=row["average_runs"],
        marginal=marginal,
        made_worse_runs=row["made_worse"],
        lost_kg=-float(row["lost"]),
    )


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def by_period(jobs: QuerySet[BackupJob], period: str) -> list[dict[str, Any]]:
    """Emitted, counterfactual and avoided kg per day or month of completion and signal (one
    query); each row carries its `signal`, pick one with `of_signal` before drawing a curve."""
    trunc = TruncMonth("completed_at") if period == "month" else TruncDay("completed_at")
    return list(
        jobs.annotate(period=trunc, signal=SIGNAL)
        .values("period", "signal")
        .order_by("period", "signal")
        .annotate(
            runs=Count("pk"),
            emitted=Coalesce(Sum("emissions_kg"), 0.0),
            counterfactual=Coalesce(Sum("counterfactual_kg"), 0.0),
            avoided=Coalesce(Sum("saving_kg"), 0.0),
            simulated=Count("pk", filter=Q(simulated=True)),
        )
    )


def by_zone(jobs: QuerySet[BackupJob]) -> list[dict[str, Any]]:
    """The same sums per zone and signal (one query)."""
    return list(
        jobs.annotate(signal=SIGNAL)
        .values("zone__code", "signal")
        .order_by("zone__code", "signal")
        .annotate(
            runs=Count("pk"),
            emitted=Coalesce(Sum("emissions_kg"), 0.0),
            counterfactual=Coalesce(Sum("counterfactual_kg"), 0.0),
            avoided=Coalesce(Sum("saving_kg"), 0.0),
            simulated=Count("pk", filter=Q(simulated=True)),
        )
    )


def of_signal(rows: list[dict[str, Any]], signal: str) -> list[dict[str, Any]]:
    """The rows of one signal: a curve or a bar group never mixes average and marginal kg."""
    return [row for row in rows if row["signal"] == signal]


CUMULATIVE_MAX_STEPS = 600


def cumulative_steps(jobs: QuerySet[BackupJob], *, until: datetime) -> list[tuple[datetime, float, float]]:
    """(time, cumulative emitted kg, cumulative counterfactual kg) of average-signal backups, a step
    at each completion and flat in between up to `until` (one query, streamed). Starts at zero at
    the first completion; with more than CUMULATIVE_MAX_STEPS backups, those finishing within the
    same equal slice of time are one step at the latest one's finish time (the totals stay exact)."""
    rows = (
        jobs.annotate(signal=SIGNAL)
        .filter(signal=AVERAGE)
        .order_by("completed_at", "pk")
        .values_list("completed_at", "emissions_kg", "counterfactual_kg")
    )
    first_last = rows.aggregate(first=Min("completed_at"), last=Max("completed_at"), n=Count("pk"))
    if not first_last["n"]:
        return []
    first, last = first_last["first"], first_last["last"]
    slice_s = 0.0
    if first_last["n"] > CUMULATIVE_MAX_STEPS:
        slice_s = max((last - first).total_seconds() / CUMULATIVE_MAX_STEPS, 1.0)
    steps: list[tuple[datetime, float, float]] = [(first, 0.0, 0.0)]
    emitted = counterfactual = 0.0
    for completed, e, c in rows.iterator(chunk_size=2000):
        assert completed is not None  # accounted jobs have completed
        # None adds nothing, as in the totals (Sum) beside the chart.
        emitted += e or 0.0
        counterfactual += c or 0.0
        if slice_s and len(steps) > 1 and _same_bucket(steps[-1][0], completed, first, slice_s):
            steps[-1] = (completed, emitted, counterfactual)
        else:
            steps.append((completed, emitted, counterfactual))
    steps.append((max(until, last), emitted, counterfactual))
    return steps


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _same_bucket(a: datetime, b: datetime, origin: datetime, slice_s: float) -> bool:
    return int((a - origin).total_seconds() // slice_s) == int((b - origin).total_seconds() // slice_s)


def cumulative_chart(steps: list[tuple[datetime, float, float]]) -> str:
    """Cumulative emitted against cumulative counterfactual, stepping at each backup's finish and
    flat in between (line shape "hv"); the gap between them is the saving. The axis unit (g, kg
    or t) suits the largest value, as hyperweb.quantities writes masses everywhere."""
    from hyperweb.quantities import mass_unit

    unit, per = mass_unit(max((max(e, c) for _, e, c in steps), default=0.0))
    x = [_iso(when) for when, _, _ in steps]
    emitted = [round(e / per, 6) for _, e, _ in steps]
    counterfactual = [round(c / per, 6) for _, _, c in steps]
    data = [
        {
            "type": "scatter",
            "x": x,
            "y": counterfactual,
            "name": "had each started when requested",
            "mode": "lines",
            "line": {"color": COUNTERFACTUAL_COLOUR, "dash": "dash", "shape": "hv"},
        },
        {
            "type": "scatter",
            "x": x,
            "y": emitted,
            "name": "emitted (carbon-aware)",
            "mode": "lines",
            "line": {"color": EMITTED_COLOUR, "shape": "hv"},
            "fill": "tonexty",
            "fillcolor": "rgba(30,107,52,0.15)",
        },
    ]
    layout = base_layout(
        xaxis={"type": "date", "gridcolor": "#eef1f5", "title": {"text": "UTC"}},
        yaxis={"title": {"text": f"{unit} CO2, cumulative"}, "rangemode": "tozero", "gridcolor": "#eef1f5"},
    )
    return render({"data": data, "layout": layout})


def _grouped_bars(labels: list[str], rows: list[dict[str, Any]]) -> str:
    """Counterfactual, emitted and avoided per group, in the mass unit (g, kg or t) that
    hyperweb.quantities picks for the largest bar, as the tables beside them write it."""
    from hyperweb.quantities import mass_unit

    keys = ("counterfactual", "emitted", "avoided")
    unit, per = mass_unit(max((abs(r[key]) for r in rows for key in keys), default=0.0))
    data = [
        {
            "type": "bar",
            "x": labels,
            "y": [round(r[key] / per, 6) for r in rows],
            "name": name,
            "marker": {"color": colour},
        }
        for key, name, colour in (
            ("counterfactual", "counterfactual", COUNTERFACTUAL_COLOUR),
            ("emitted", "emitted", EMITTED_COLOUR),
            ("avoided", "avoided", SAVED_COLOUR),
        )
    ]
    layout = base_layout(
        barmode="group",
        height=320,
        xaxis={"type": "category"},
        yaxis={"title": {"text": f"{unit} CO2"}, "rangemode": "tozero", "gridcolor": "#eef1f5"},
    )
    return render({"data": data, "layout": layout})


def monthly_chart(months: list[dict[str, Any]]) -> str:
    return _grouped_bars([m["period"].strftime("%Y-%m") for m in months], months)


def zone_bars_chart(zones: list[dict[str, Any]]) -> str:
    return _grouped_bars([z["zone__code"] or "no zone" for z in zones], zones)


def whatif_histogram(percents: list[float], *, median: float | None) -> str:
    """How often carbon-aware scheduling would have saved how much: the distribution, not a best case."""
    data = [
        {
            "type": "histogram",
            "x": [round(p, 2) for p in percents],
            "xbins": {"size": 2.5},
            "marker": {"color": ACTUAL_COLOUR},
            "name": "request times",
            "hovertemplate": "%{x} %% saving: %{y} request times<extra></extra>",
        }
    ]
    shapes, annotations = [], []
    if median is not None:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": median,
                "x1": median,
                "y0": 0,
                "y1": 1,
                "line": {"color": FORECAST_COLOUR, "dash": "dash"},
            }
        )
        annotations.append(note(f"median {median:.1f} %", median, 1, xanchor="left", yanchor="top"))
    layout = base_layout(
        height=320,
        hovermode="closest",
        bargap=0.05,
        shapes=shapes,
        annotations=annotations,
        xaxis={
            "title": {"text": "saving against starting at once, %"},
            "type": "linear",
            "gridcolor": "#eef1f5",
        },
        yaxis={"title": {"text": "request times"}, "rangemode": "tozero", "gridcolor": "#eef1f5"},
    )
    return render({"data": data, "layout": layout})


# --- what-if: the distribution of savings over stored history -----------------------------------


@dataclass(frozen=True)
class WhatIf:
    """Per request time, the saving the best start within the flexibility would have given."""

    percents: list[float]
    starts: int
    first: datetime | None
    last: datetime | None
    median: float | None
    p25: float | None
    p75: float | None
    p90: float | None
    share_above_5: float | None  # fraction of request times that would have saved more than 5 %


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    pos = (len(sorted_values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def whatif_distribution(
    series: Any, *, duration: timedelta, flexibility: timedelta, every: timedelta, max_starts: int = 5000
) -> WhatIf:
    """For request times every `every` over the series: saving of the best start (perfect
    foresight, StepSeries.best_window) against starting at once. Only request times whose whole
    possible run is covered by data count, so no saving rests on a gap."""
    empty = WhatIf([], 0, None, None, None, None, None, None, None)
    if series is None or not len(series):
        return empty
    first, last = series.first_start, series.last_end
    span = (last - first) - duration - flexibility
    if span <= timedelta(0):
        return empty
    step = max(every, span / max_starts)
    percents: list[float] = []
    used: list[datetime] = []
    t = first
    while t + flexibility + duration <= last:
        if series.coverage(t, t + flexibility + duration) >= 1 - 1e-9:
            now_mean = series.mean(t, t + duration)
            best = series.best_window(duration, t, t + flexibility)
            if now_mean and best is not None:
                percents.append(max(0.0, 100.0 * (now_mean - best.mean) / now_mean))
                used.append(t)
        t += step
    if not percents:
        return empty
    ordered = sorted(percents)
    return WhatIf(
        percents=percents,
        starts=len(percents),
        first=used[0],
        last=used[-1],
        median=_quantile(ordered, 0.5),
        p25=_quantile(ordered, 0.25),
        p75=_quantile(ordered, 0.75),
        p90=_quantile(ordered, 0.9),
        share_above_5=sum(1 for p in percents if p > 5.0) / len(percents),
    )
