"""The savings figures, aggregated in the database: totals, per month or day, per zone, and the
cumulative curve's steps, over the one accounted-backups query (BackupJob.objects.accounted_backups,
the query the ESG report and the metrics read too).

Savings are always against each job's counterfactual (had it started as soon as it was allowed
to), as scheduler accounting records them; nothing here recomputes a saving.

A marginal signal is not an average one (a marginal rate prices the next kWh, an average one the
mix: neither may be added to the other): every kg figure here is split by the signal the job's
accounting recorded (`accounting["signal"]`), and the figures shown as the savings are
average-signal ones; marginal-signal jobs (WattTime MOER) are summed apart and never
added in. A job accounted before the signal was recorded counts as average, since every provider
but WattTime's default MOER gives average intensities.

Restores and verifications are accounted runs but not backups: they are in none of these figures
(the ESG report lists their energy on a line of its own, docs/REPORTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import CharField, Count, F, FloatField, Max, Min, Q, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Substr

from scheduler.models import AVERAGE_SIGNAL, MARGINAL_SIGNAL, SIGNAL, BackupJob

AVERAGE = AVERAGE_SIGNAL
MARGINAL = MARGINAL_SIGNAL
__all__ = ["AVERAGE", "MARGINAL", "SIGNAL"]  # re-exported: the signal vocabulary of these rows


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
    """`runs`, `data_gb` and the flag counts cover every accounted backup (a count or a size has
    no signal; a backup without readings is counted and adds no kg, as in the ESG report); the kg
    figures are average-signal backups only (`average_runs` of them), and the marginal-signal
    backups' kg are in `marginal` (None when there are none)."""

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
    # Backups not accounted yet: no intensity data (measured or forecast) for their run, so no kg;
    # counted in `runs`, in no kg figure (the ESG report's `without_readings`).
    without_readings: int = 0

    @property
    def simulated(self) -> bool:
        return self.simulated_runs > 0

    @property
    def avoided_percent(self) -> float | None:
        if self.counterfactual_kg <= 0:
            return None
        return 100.0 * self.avoided_kg / self.counterfactual_kg


def accounted_jobs() -> QuerySet[BackupJob]:
    """Accounted backups: the one query (scheduler.models.BackupJobQuerySet.accounted_backups)."""
    return BackupJob.objects.accounted_backups()


# What a run read, as accounted (the energy model's input, the ESG report's data_gb), else the
# size declared at submission.
DATA_READ_GB = Coalesce(Cast(KT("accounting__data_gb"), FloatField()), F("data_size_gb"))


# Backups not accounted yet (no kg): a group all of whose backups are is shown "not accounted",
# never 0 g (templates/dashboard/_kg_cells.html).
NOT_ACCOUNTED = Count("pk", filter=Q(emissions_kg__isnull=True))


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
        without_readings=NOT_ACCOUNTED,
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
        without_readings=row["without_readings"],
    )


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_totals(now: datetime) -> Totals:
    """This month's accounted backups (the overview's figures)."""
    return totals(accounted_jobs().filter(completed_at__gte=month_start(now)))


def by_period(jobs: QuerySet[BackupJob], period: str) -> list[dict[str, Any]]:
    """Emitted, counterfactual and avoided kg per day or month of completion and signal (one
    query); each row carries its `signal`, pick one with `of_signal` before drawing a curve.

    Days and months are UTC whatever the viewer's timezone (pages, PDF and CSV agree), `period`
    their first instant. They are grouped on the time's text ("2026-12" of "2026-12-01 02:00:00",
    as SQLite stores it and PostgreSQL writes it in the connection's UTC): Trunc* runs a Python
    function per row on SQLite (120 ms of the savings page's 300 for 10,000 backups)."""
    length = 7 if period == "month" else 10
    rows = list(
        jobs.annotate(period=Substr(Cast("completed_at", CharField()), 1, length), signal=SIGNAL)
        .values("period", "signal")
        .order_by("period", "signal")
        .annotate(
            runs=Count("pk"),
            emitted=Coalesce(Sum("emissions_kg"), 0.0),
            counterfactual=Coalesce(Sum("counterfactual_kg"), 0.0),
            avoided=Coalesce(Sum("saving_kg"), 0.0),
            simulated=Count("pk", filter=Q(simulated=True)),
            without_readings=NOT_ACCOUNTED,
        )
    )
    for row in rows:
        row["period"] = datetime.fromisoformat(row["period"] + ("-01" if length == 7 else "")).replace(tzinfo=UTC)
    return rows


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
            without_readings=NOT_ACCOUNTED,
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
    average = jobs.annotate(signal=SIGNAL).filter(signal=AVERAGE)
    first_last = average.aggregate(first=Min("completed_at"), last=Max("completed_at"), n=Count("pk"))
    if not first_last["n"]:
        return []
    first, last = first_last["first"], first_last["last"]
    slice_s = 0.0
    if first_last["n"] > CUMULATIVE_MAX_STEPS:
        slice_s = max((last - first).total_seconds() / CUMULATIVE_MAX_STEPS, 1.0)
    # The finish times are read as text and parsed here: Django's per-row datetime converter took
    # half of this function's time over 10,000 backups.
    rows = (
        average.order_by("completed_at", "pk")
        .annotate(finished=Cast("completed_at", CharField()))
        .values_list("finished", "emissions_kg", "counterfactual_kg")
    )
    steps: list[tuple[datetime, float, float]] = [(first, 0.0, 0.0)]
    emitted = counterfactual = 0.0
    bucket = previous = -1
    for text, e, c in rows.iterator(chunk_size=2000):
        completed = _utc(text)
        # None adds nothing, as in the totals (Sum) beside the chart.
        emitted += e or 0.0
        counterfactual += c or 0.0
        if slice_s:
            previous, bucket = bucket, int((completed - first).total_seconds() // slice_s)
        if slice_s and len(steps) > 1 and bucket == previous:
            steps[-1] = (completed, emitted, counterfactual)
        else:
            steps.append((completed, emitted, counterfactual))
    steps.append((max(until, last), emitted, counterfactual))
    return steps


def _utc(text: str) -> datetime:
    """A time column read as text: SQLite's naive UTC, or PostgreSQL's with its +00 offset."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
