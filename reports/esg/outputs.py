"""The outputs of the ESG report value: `ESGReport` and its parts (figures, SCI, header), pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from reports.esg.inputs import BackupRow, ReportConfig, Scope
from reports.esg.periods import Period

# --- Outputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Sums and counts over a set of backups (the whole report, one zone, one month or one day)."""

    backups: int = 0
    data_gb: float = 0.0
    written_gb: float = 0.0
    energy_kwh: float = 0.0
    emissions_kg: float = 0.0  # location-based, over backups with readings
    market_kg: float | None = None
    counterfactual_kg: float = 0.0
    avoided_kg: float = 0.0
    # Not accounted yet: energy known, no intensity data (measured or forecast) for the run, so no
    # kg counted for them; accounted again when readings arrive. `accounted` have kg.
    without_readings: int = 0
    without_counterfactual: int = 0  # no avoided figure counted for them
    # Backups that ran dirtier than their counterfactual (avoided_kg < 0), and the kg they lost
    # in total (the sum of those negative avoided figures, as a positive number).
    made_worse: int = 0
    lost_kg: float = 0.0
    shifted: int = 0
    mean_delay_minutes: float | None = None
    max_delay_minutes: float | None = None
    deadline_misses: int = 0
    simulated: int = 0
    stale: int = 0
    forecast_only: int = 0
    flagged: int = 0  # resting on simulated, stale or forecast-only data (any of the three)
    simulated_kg: float = 0.0
    # Backups whose readings the provider had only estimated (not yet measured) when accounted,
    # and their energy: how much of the report rests on estimates until the measurements arrive
    # (a backup is accounted again when they do).
    estimated: int = 0
    estimated_kwh: float = 0.0
    mean_intensity: float | None = None  # energy-weighted mean experienced, gCO2e/kWh
    mean_counterfactual_intensity: float | None = None
    min_intensity: float | None = None
    max_intensity: float | None = None
    # Data read by the backups that have kg (the denominator of g per TB, like their kg above it).
    accounted_data_gb: float = 0.0

    @property
    def accounted(self) -> int:
        """Backups with kg (the rest are `without_readings`: not accounted yet)."""
        return self.backups - self.without_readings

    @property
    def shifted_share(self) -> float | None:
        return None if not self.backups else self.shifted / self.backups

    @property
    def estimated_energy_percent(self) -> float | None:
        """The share of the energy accounted on provider estimates, in %."""
        return None if self.energy_kwh <= 0 else 100.0 * self.estimated_kwh / self.energy_kwh

    @property
    def avoided_percent(self) -> float | None:
        return None if self.counterfactual_kg <= 0 else 100.0 * self.avoided_kg / self.counterfactual_kg


@dataclass(frozen=True)
class Sci:
    """Green Software Foundation SCI in spirit: (E x I + M) per functional unit (a backup, a TB)."""

    g_per_backup: float | None
    g_per_tb: float | None
    embodied_kg: float | None
    total_g_per_backup: float | None
    total_g_per_tb: float | None
    # The operational ratios are over the backups that have kg (`backups` of them, `data_gb` read):
    # the same set above and below the line; `unaccounted` backups (no intensity data yet) are
    # left out of both. Embodied is over every backup's archives (its own figure, all data read).
    backups: int = 0
    data_gb: float = 0.0
    unaccounted: int = 0


@dataclass(frozen=True)
class ZoneHeader:
    code: str
    name: str
    site: str  # own | hosted
    ghg_scope: str
    providers: tuple[str, ...]
    signals: tuple[str, ...]
    granularity: str


@dataclass(frozen=True)
class Header:
    organisation: str
    boundary: str
    period: Period
    scope: Scope
    zones: tuple[ZoneHeader, ...]
    config: ReportConfig
    generated_at: datetime
    methodology: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SignalFigures:
    """The figures of the backups whose intensities are one signal: its totals and breakdowns."""

    signal: str
    totals: Figures
    by_zone: tuple[tuple[str, Figures], ...]
    by_month: tuple[tuple[str, Figures], ...]
    by_day: tuple[tuple[date, Figures], ...]


@dataclass(frozen=True)
class LifecycleRuns:
    """Restores and verifications accounted in the period: runs of the same machinery as backups,
    but not backups, so in no total, breakdown, row or SCI figure; their electricity is given here,
    labelled as theirs. `emissions_kg` is location-based (average-signal runs only)."""

    restores: int = 0
    verifications: int = 0
    energy_kwh: float = 0.0
    emissions_kg: float = 0.0

    @property
    def runs(self) -> int:
        return self.restores + self.verifications


@dataclass(frozen=True)
class ESGReport:
    """`average` is the inventory (the report's totals); `marginal` is reported apart, never added."""

    header: Header
    average: SignalFigures
    marginal: SignalFigures
    sci: Sci  # of the average-signal backups (an inventory intensity)
    rows: tuple[BackupRow, ...]
    unaccounted_runs: int = 0  # failed or not accounted in the period: counted, not summed
    lifecycle: LifecycleRuns = LifecycleRuns()  # restores and verifications, apart from the backups
    # The inventory's cumulative curve: (time, emitted kg, counterfactual kg), a step at each
    # average-signal backup's finish (reports.queries.cumulative_steps, as on the savings page).
    cumulative: tuple[tuple[datetime, float, float], ...] = ()

    # The inventory's figures under their usual names: average-signal backups only.
    @property
    def totals(self) -> Figures:
        return self.average.totals

    @property
    def by_zone(self) -> tuple[tuple[str, Figures], ...]:
        return self.average.by_zone

    @property
    def by_month(self) -> tuple[tuple[str, Figures], ...]:
        return self.average.by_month

    @property
    def by_day(self) -> tuple[tuple[date, Figures], ...]:
        return self.average.by_day

    @property
    def has_marginal(self) -> bool:
        return self.marginal.totals.backups > 0

    @property
    def backups(self) -> int:
        """Every accounted backup in the report, whatever its signal (a count, not a sum of kg)."""
        return self.average.totals.backups + self.marginal.totals.backups

    @property
    def empty(self) -> bool:
        return self.backups == 0

    @property
    def rows_truncated(self) -> bool:
        return len(self.rows) < self.backups
