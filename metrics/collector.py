"""A Prometheus collector that reads the database at scrape time.

Every gunicorn worker answers /metrics with the same numbers, because none are kept in process
memory: each scrape runs a fixed handful of aggregate queries (independent of the number of jobs,
zones or providers). Totals are sums of what the scheduler and the accounting stored (the
emissions and avoided emissions are the per-job figures of scheduler/accounting.py, summed per
zone and signal over the same accounted-backups query as reports.queries); nothing is recomputed here.

Counters are derived from stored rows, so deleting rows (an admin pruning old jobs or fetch
attempts) lowers them; Prometheus reads a drop as a counter reset.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db.models import (
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from alerts.models import Delivery
from carbon.models import CarbonReading, FetchAttempt, Zone
from scheduler.models import SIGNAL, BackupJob, JobDecision

NO_ZONE = "none"  # label of jobs without a zone
DELAY_WINDOW = timedelta(hours=24)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) / 1e6  # a backend handing durations back as microseconds


class HyperwebCollector:
    """One scrape: `collect()` reads everything it reports from the database."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or timezone.now()

    def describe(self) -> list[Metric]:
        return []  # no names to check at registration; collect() runs only at scrape time

    def collect(self) -> Iterator[Metric]:
        # Rows are grouped by zone id (no join per row: a third cheaper at 100,000 jobs) and named
        # from this small map.
        self.zones = dict(Zone.objects.values_list("pk", "code"))
        yield from self._jobs()
        yield from self._emissions()
        yield from self._queue()
        yield from self._planning()
        yield from self._fetches()
        yield from self._data_age()
        yield from self._alerts()

    def _zone(self, zone_id: int | None) -> str:
        return self.zones.get(zone_id, NO_ZONE) if zone_id is not None else NO_ZONE

    # --- Jobs: states, runs, failures, bytes ------------------------------------------------------

    def _jobs(self) -> Iterator[Metric]:
        rows = (
            BackupJob.objects.values("status", "zone_id", "operation", "integrity")
            .order_by()
            .annotate(
                n=Count("pk"), runs=Coalesce(Sum("attempts"), 0), written=Coalesce(Sum("bytes_written"), 0)
            )
        )
        # operation: backup, or a restore / verification run of a backup (scheduler.services.lifecycle)
        jobs = GaugeMetricFamily(
            "hyperweb_jobs", "Jobs by state, zone and operation", labels=["state", "zone", "operation"]
        )
        runs = CounterMetricFamily(
            "hyperweb_backup_runs",
            "Runs started (attempts, retries included), by zone and operation",
            labels=["zone", "operation"],
        )
        finished = CounterMetricFamily(
            "hyperweb_backups_finished",
            "Jobs that ended, by zone, operation and outcome (failed = failed after its last attempt)",
            labels=["zone", "operation", "outcome"],
        )
        written = CounterMetricFamily(
            "hyperweb_backup_written_bytes",
            "Bytes written by completed runs (archives; restored files for restores), by zone and operation",
            labels=["zone", "operation"],
        )
        integrity = GaugeMetricFamily(
            "hyperweb_backups_integrity",
            "Completed backups by what their last verification found (unverified, verified, damaged)",
            labels=["zone", "integrity"],
        )
        sums: dict[str, dict[tuple, int]] = {
            "jobs": {},
            "runs": {},
            "finished": {},
            "written": {},
            "integrity": {},
        }

        def add(name: str, key: tuple, value: int) -> None:
            sums[name][key] = sums[name].get(key, 0) + value

        for row in rows:
            zone, operation = self._zone(row["zone_id"]), row["operation"] or "backup"
            add("jobs", (row["status"], zone, operation), row["n"])
            add("runs", (zone, operation), row["runs"])
            add("written", (zone, operation), row["written"])
            if row["status"] in BackupJob.FINISHED:
                add("finished", (zone, operation, row["status"]), row["n"])
            if operation == "backup" and row["status"] == BackupJob.Status.COMPLETED:
                add("integrity", (zone, row["integrity"] or "unverified"), row["n"])
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {
            "jobs": jobs,
            "runs": runs,
            "finished": finished,
            "written": written,
            "integrity": integrity,
        }
        for name, family in families.items():
            for key, value in sorted(sums[name].items()):
                family.add_metric(list(key), value)
        yield from families.values()

    # --- Emissions and avoided emissions (the stored accounting) ---------------------------------

    def _emissions(self) -> Iterator[Metric]:
        rows = (
            BackupJob.objects.accounted_backups()
            .annotate(signal=SIGNAL)
            .values("zone_id", "signal")
            .order_by()
            .annotate(
                energy=Coalesce(Sum("energy_kwh"), 0.0),
                emitted=Coalesce(Sum("emissions_kg"), 0.0),
                counterfactual=Coalesce(Sum("counterfactual_kg"), 0.0),
                avoided=Coalesce(Sum("saving_kg"), 0.0),
                n=Count("pk"),
            )
        )
        labels = ["zone", "signal"]
        families = {
            "energy": CounterMetricFamily(
                "hyperweb_backup_energy_kwh", "Energy of accounted backups (kWh)", labels=labels
            ),
            "emitted": CounterMetricFamily(
                "hyperweb_backup_emissions_kg", "Emissions of accounted backups (kg CO2e)", labels=labels
            ),
            "counterfactual": CounterMetricFamily(
                "hyperweb_backup_counterfactual_kg",
                "Emissions had each backup started when requested (kg CO2e)",
                labels=labels,
            ),
            "avoided": CounterMetricFamily(
                "hyperweb_backup_avoided_emissions_kg",
                "Avoided emissions against each backup's counterfactual (kg CO2e; negative when waiting made it worse)",
                labels=labels,
            ),
            "n": CounterMetricFamily("hyperweb_backups_accounted", "Accounted backups", labels=labels),
        }
        for row in rows:
            values = [self._zone(row["zone_id"]), row["signal"]]
            for key, family in families.items():
                family.add_metric(values, row[key])
        yield from families.values()

    # --- Queue delay ---------------------------------------------------------------------------------

    def _queue(self) -> Iterator[Metric]:
        due = BackupJob.objects.filter(status__in=BackupJob.WAITING, planned_start__lte=self.now).aggregate(
            n=Count("pk"), oldest=Min("planned_start")
        )
        waiting = GaugeMetricFamily(
            "hyperweb_queue_due_jobs", "Jobs due (planned start passed) and not started yet"
        )
        waiting.add_metric([], due["n"])
        oldest = GaugeMetricFamily(
            "hyperweb_queue_oldest_due_seconds", "How long the longest-due job not started yet has been due"
        )
        oldest.add_metric([], (self.now - due["oldest"]).total_seconds() if due["oldest"] else 0.0)
        delay = ExpressionWrapper(F("started_at") - F("planned_start"), output_field=DurationField())
        started = BackupJob.objects.filter(
            started_at__gte=self.now - DELAY_WINDOW, planned_start__isnull=False
        ).aggregate(n=Count("pk"), total=Sum(delay), longest=Max(delay))
        count = GaugeMetricFamily(
            "hyperweb_start_delay_jobs_24h", "Jobs (last attempt) started in the last 24 h"
        )
        count.add_metric([], started["n"])
        mean = GaugeMetricFamily(
            "hyperweb_start_delay_seconds_mean_24h",
            "Mean delay from planned start to a worker starting it, over jobs started in the last 24 h",
        )
        total = _seconds(started["total"])
        mean.add_metric([], total / started["n"] if started["n"] and total is not None else 0.0)
        longest = GaugeMetricFamily(
            "hyperweb_start_delay_seconds_max_24h", "Longest such delay in the last 24 h"
        )
        longest.add_metric([], _seconds(started["longest"]) or 0.0)
        yield from (waiting, oldest, count, mean, longest)

    # --- Planning -------------------------------------------------------------------------------

    def _planning(self) -> Iterator[Metric]:
        decisions = JobDecision.objects.values("strategy").order_by().annotate(n=Count("pk"))
        family = CounterMetricFamily(
            "hyperweb_plan_decisions", "Planning decisions taken, by strategy", labels=["strategy"]
        )
        for row in decisions:
            family.add_metric([row["strategy"] or "unknown"], row["n"])
        yield family
        # Recorded by scheduler.services.planning when a carbon-aware submission is planned
        # (data refresh, reads and the planner), in the decision's data; older decisions have none.
        seconds = Cast(KT("data__plan_seconds"), FloatField())
        recent = (
            JobDecision.objects.filter(
                job__requested_at__gte=self.now - DELAY_WINDOW, data__has_key="plan_seconds"
            )
            .annotate(seconds=seconds)
            .aggregate(n=Count("pk"), mean=Avg("seconds"), longest=Max("seconds"))
        )
        count = GaugeMetricFamily("hyperweb_plan_latency_jobs_24h", "Submissions planned in the last 24 h")
        count.add_metric([], recent["n"])
        mean = GaugeMetricFamily(
            "hyperweb_plan_latency_seconds_mean_24h",
            "Mean time to plan a carbon-aware submission (last 24 h)",
        )
        mean.add_metric([], recent["mean"] or 0.0)
        longest = GaugeMetricFamily(
            "hyperweb_plan_latency_seconds_max_24h",
            "Longest time to plan a carbon-aware submission (last 24 h)",
        )
        longest.add_metric([], recent["longest"] or 0.0)
        yield from (count, mean, longest)

    # --- Providers: fetches and data age ------------------------------------------------------

    def _fetches(self) -> Iterator[Metric]:
        rows = (
            FetchAttempt.objects.values("zone_id", "provider")
            .order_by()
            .annotate(
                n_ok=Count("pk", filter=Q(ok=True)),
                n_failed=Count("pk", filter=Q(ok=False)),
                last_ok=Max("at", filter=Q(ok=True)),
            )
        )
        fetches = CounterMetricFamily(
            "hyperweb_provider_fetches",
            "Carbon data fetches recorded (Fetch attempts), by zone, provider and outcome",
            labels=["zone", "provider", "outcome"],
        )
        last = GaugeMetricFamily(
            "hyperweb_provider_last_success_timestamp_seconds",
            "When a provider last answered for a zone (Unix time)",
            labels=["zone", "provider"],
        )
        for row in rows:
            zone = self._zone(row["zone_id"])
            fetches.add_metric([zone, row["provider"], "ok"], row["n_ok"])
            fetches.add_metric([zone, row["provider"], "failed"], row["n_failed"])
            if row["last_ok"] is not None:
                last.add_metric([zone, row["provider"]], row["last_ok"].timestamp())
        yield from (fetches, last)

    def _data_age(self) -> Iterator[Metric]:
        newest = (
            CarbonReading.objects.filter(
                zone=OuterRef("pk"), kind=CarbonReading.Kind.ACTUAL, start__lte=self.now
            )
            .order_by("-end")
            .values("end")[:1]
        )
        zones = (
            Zone.objects.filter(active=True).annotate(newest=Subquery(newest)).values_list("code", "newest")
        )
        age = GaugeMetricFamily(
            "hyperweb_carbon_data_age_seconds",
            "Age of the newest actual carbon-intensity reading per active zone (since its end; "
            "a zone with none is left out)",
            labels=["zone"],
        )
        for code, end in zones:
            if end is not None:
                age.add_metric([code], max(0.0, (self.now - end).total_seconds()))
        yield age

    # --- Alerts ----------------------------------------------------------------------------

    def _alerts(self) -> Iterator[Metric]:
        rows = Delivery.objects.values("channel", "status").order_by().annotate(n=Count("pk"))
        family = GaugeMetricFamily(
            "hyperweb_alert_deliveries",
            "Alert deliveries by channel and status",
            labels=["channel", "status"],
        )
        for row in rows:
            family.add_metric([row["channel"], row["status"]], row["n"])
        yield family


def render(now: datetime | None = None) -> tuple[bytes, str]:
    """The exposition text of one scrape, and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HyperwebCollector(now))
    return generate_latest(registry), CONTENT_TYPE_LATEST
