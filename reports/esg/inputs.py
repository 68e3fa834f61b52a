"""The inputs of the ESG report value: per-backup rows, zone sources, settings and scope (pure).

A `BackupRow` carries the figures the scheduler's accounting stored when the backup completed
(scheduler/accounting.py); nothing downstream recomputes them. Also here: the site kinds (own or
hosted, and the GHG scope each falls under) and the signals (average or marginal) rows are split by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

# The leaf of reports.esg: it imports no other reports.esg module (method, outputs, aggregate and
# value import it), so every import in the package can sit at the top of its file.
from scheduler.signals import DEADLINE_GRACE as DEADLINE_GRACE

# DEADLINE_GRACE: a worker starts a backup a few seconds after its planned start; that is not a
# missed deadline. One constant for reports and alerts (scheduler.signals).

# A backup counts as "shifted" when its plan moved the start later than this after the request.
SHIFT_THRESHOLD = timedelta(minutes=1)

OWN = "own"
HOSTED = "hosted"
GHG_SCOPE = {
    OWN: "Scope 2 (location-based): electricity bought for a site we operate",
    HOSTED: "Scope 3 (category 1, purchased services): electricity of a hosted site",
}
NO_ZONE = "(no zone)"
AVERAGE = "average"
MARGINAL = "marginal"
SIGNALS = (AVERAGE, MARGINAL)


def signal_of(raw: str | None) -> str:
    """A backup's signal from its accounting's `signal` key.

    Missing (None or empty) reads as average: the key was recorded only from late 2026 on, and
    every provider but WattTime (whose default signal, co2_moer, is marginal) gives average
    intensities, so older accountings are averages.
    """
    if not raw:
        return AVERAGE
    if raw not in SIGNALS:
        raise ValueError(f"unknown signal {raw!r}: expected average or marginal")
    return raw


def parse_site_scope(raw: str) -> dict[str, str]:
    """`DE=own,FR=hosted` -> {"DE": "own", "FR": "hosted"} (zones not named are own sites)."""
    scopes: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        zone, sep, kind = item.partition("=")
        kind = kind.strip().lower()
        if not sep or not zone.strip() or kind not in (OWN, HOSTED):
            raise ValueError(f"{item!r} is not ZONE=own or ZONE=hosted")
        scopes[zone.strip().upper()] = kind
    return scopes


# --- Inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BackupRow:
    """One accounted backup, as stored by the scheduler (figures are never recomputed here)."""

    id: str
    name: str
    zone: str | None
    policy_id: str | None
    policy: str | None
    requested_at: datetime
    earliest_start: datetime
    latest_start: datetime
    planned_start: datetime | None
    started_at: datetime
    completed_at: datetime
    data_gb: float  # what the energy model was given: bytes read by the run, else the declared size
    bytes_written: int | None
    energy_kwh: float
    intensity_experienced: float | None
    emissions_kg: float | None
    counterfactual_intensity: float | None
    counterfactual_kg: float | None
    avoided_kg: float | None
    coverage: float | None = None
    simulated: bool = False
    stale: bool = False
    forecast_only: bool = False
    flags: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    signal: str = AVERAGE  # of intensity_experienced and the kg figures: average or marginal

    @property
    def duration_hours(self) -> float:
        return (self.completed_at - self.started_at).total_seconds() / 3600.0

    @property
    def delay_minutes(self) -> float:
        """From the request to the actual start (planned waiting plus queueing)."""
        return max(0.0, (self.started_at - self.requested_at).total_seconds() / 60.0)

    @property
    def shifted(self) -> bool:
        return (self.planned_start or self.started_at) - self.requested_at > SHIFT_THRESHOLD

    @property
    def deadline_missed(self) -> bool:
        return self.started_at > self.latest_start + DEADLINE_GRACE

    def market_kg(self, supplier_factor: float | None) -> float | None:
        return None if supplier_factor is None else self.energy_kwh * supplier_factor / 1000.0


@dataclass(frozen=True)
class ZoneSource:
    """What the stored readings of one zone look like in the period (one row per source/signal/kind)."""

    zone: str
    source: str
    signal: str
    kind: str
    readings: int
    step_min_seconds: float | None
    step_max_seconds: float | None


@dataclass(frozen=True)
class ReportConfig:
    """The settings a report prints and uses (plain values; loaded from django settings elsewhere)."""

    organisation: str
    base_watts: float
    watts_per_tb: float
    pue: float
    site_scope: dict[str, str] = field(default_factory=dict)
    supplier_factor: float | None = None
    embodied_kg_per_tb: float | None = None

    def scope_of(self, zone: str | None) -> str:
        return self.site_scope.get((zone or "").upper(), OWN)


@dataclass(frozen=True)
class Scope:
    """Which backups: all, one zone's or one policy's."""

    kind: str = "all"  # all | zone | policy
    zone: str | None = None
    policy_id: str | None = None
    policy_name: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "zone":
            return f"zone {self.zone}"
        if self.kind == "policy":
            return f"policy {self.policy_name or ''} ({self.policy_id})".replace(" ()", "")
        return "all zones"
