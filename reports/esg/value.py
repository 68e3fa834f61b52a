"""The ESG report as a typed value, built by a pure aggregation (no ORM, no settings, no rendering).

Input: plain per-backup rows (`BackupRow`), each carrying the figures the scheduler's accounting
stored when the backup completed (scheduler/accounting.py). Nothing here recomputes a backup's
energy, intensity or emissions: totals and breakdowns are sums of those per-backup figures, taken
with exact (compensated) summation, so the CSV's rows reconcile to the totals to the gram.

Output: `ESGReport` (header, totals, SCI-style intensity, breakdowns by zone, month and day, and
the first `keep_rows` rows). A marginal signal is not an average one (PROVIDERS.md): every row
carries the signal its intensities are, and the figures are kept per signal. The inventory
(`totals`, `by_zone`, `by_month`, `by_day`, `sci`) sums AVERAGE-signal backups only, as GHG
Protocol Scope 2 location-based needs average emission factors; MARGINAL-signal backups (WattTime
MOER) are summed apart in `marginal`, a decision signal that is never added to the inventory. HTML, PDF and CSV are thin renderers of it (reports/esg/*.py).
The aggregation makes one pass and keeps O(zones + days) state, so a year of 100,000 backups
streams through it in flat memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from reports.esg.method import DEADLINE_GRACE, SHIFT_THRESHOLD, boundary_text, methodology
from reports.esg.periods import Period

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
    without_readings: int = 0  # energy known, intensity not: no kg counted for them
    without_counterfactual: int = 0  # no avoided figure counted for them
    shifted: int = 0
    mean_delay_minutes: float | None = None
    max_delay_minutes: float | None = None
    deadline_misses: int = 0
    simulated: int = 0
    stale: int = 0
    forecast_only: int = 0
    flagged: int = 0  # resting on simulated, stale or forecast-only data (any of the three)
    simulated_kg: float = 0.0
    mean_intensity: float | None = None  # energy-weighted mean experienced, gCO2e/kWh
    mean_counterfactual_intensity: float | None = None
    min_intensity: float | None = None
    max_intensity: float | None = None

    @property
    def shifted_share(self) -> float | None:
        return None if not self.backups else self.shifted / self.backups

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
class ESGReport:
    """`average` is the inventory (the report's totals); `marginal` is reported apart, never added."""

    header: Header
    average: SignalFigures
    marginal: SignalFigures
    sci: Sci  # of the average-signal backups (an inventory intensity)
    rows: tuple[BackupRow, ...]
    unaccounted_runs: int = 0  # failed or not accounted in the period: counted, not summed

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


# --- Aggregation --------------------------------------------------------------------------------


class ExactSum:
    """A running float sum without rounding drift (Shewchuk's partials, as math.fsum keeps them).

    The report's totals must equal the sum of the CSV's per-backup figures; naive `+=` over
    100,000 floats drifts, this does not: `value()` is the correctly rounded sum of all `add`s.
    """

    __slots__ = ("_partials",)

    def __init__(self) -> None:
        self._partials: list[float] = []

    def add(self, x: float) -> None:
        kept = 0
        for y in self._partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                self._partials[kept] = low
                kept += 1
            x = high
        self._partials[kept:] = [x]

    def absorb(self, other: ExactSum) -> None:
        """Add another running sum exactly (its partials add up to its true sum)."""
        for partial in other._partials:
            self.add(partial)

    def value(self) -> float:
        return math.fsum(self._partials)


class _Bucket:
    """Accumulates one Figures in one pass."""

    def __init__(self, market: bool) -> None:
        self.backups = 0
        self.market = market
        self.sums = {name: ExactSum() for name in _SUMS}
        self.counts = dict.fromkeys(_COUNTS, 0)
        self.max_delay: float | None = None
        self.min_intensity: float | None = None
        self.max_intensity: float | None = None

    def add(self, row: BackupRow, supplier_factor: float | None) -> None:
        sums, counts = self.sums, self.counts
        self.backups += 1
        sums["data_gb"].add(row.data_gb)
        if row.bytes_written:
            sums["written_gb"].add(row.bytes_written / 1e9)
        sums["energy_kwh"].add(row.energy_kwh)
        market = row.market_kg(supplier_factor)
        if market is not None:
            sums["market_kg"].add(market)
        if row.emissions_kg is None:
            counts["without_readings"] += 1
        else:
            sums["emissions_kg"].add(row.emissions_kg)
            sums["kwh_with_intensity"].add(row.energy_kwh)
            if row.simulated:
                sums["simulated_kg"].add(row.emissions_kg)
        if row.avoided_kg is None or row.counterfactual_kg is None:
            counts["without_counterfactual"] += 1
        else:
            sums["counterfactual_kg"].add(row.counterfactual_kg)
            sums["avoided_kg"].add(row.avoided_kg)
            sums["kwh_with_counterfactual"].add(row.energy_kwh)
        delay = row.delay_minutes
        sums["delay_minutes"].add(delay)
        self.max_delay = delay if self.max_delay is None else max(self.max_delay, delay)
        if row.intensity_experienced is not None:
            value = row.intensity_experienced
            self.min_intensity = value if self.min_intensity is None else min(self.min_intensity, value)
            self.max_intensity = value if self.max_intensity is None else max(self.max_intensity, value)
        counts["shifted"] += row.shifted
        counts["deadline_misses"] += row.deadline_missed
        counts["simulated"] += row.simulated
        counts["stale"] += row.stale
        counts["forecast_only"] += row.forecast_only
        counts["flagged"] += row.simulated or row.stale or row.forecast_only

    def absorb(self, other: _Bucket) -> None:
        self.backups += other.backups
        for name, total in self.sums.items():
            total.absorb(other.sums[name])
        for name in self.counts:
            self.counts[name] += other.counts[name]
        self.max_delay = _pick(max, self.max_delay, other.max_delay)
        self.min_intensity = _pick(min, self.min_intensity, other.min_intensity)
        self.max_intensity = _pick(max, self.max_intensity, other.max_intensity)

    def figures(self) -> Figures:
        s = {name: total.value() for name, total in self.sums.items()}
        with_intensity, with_counter = s.pop("kwh_with_intensity"), s.pop("kwh_with_counterfactual")
        delay_total = s.pop("delay_minutes")
        market = s.pop("market_kg")
        return Figures(
            backups=self.backups,
            **s,
            **self.counts,
            market_kg=market if self.market else None,
            mean_delay_minutes=delay_total / self.backups if self.backups else None,
            max_delay_minutes=self.max_delay,
            # g/kWh = kg * 1000 / kWh, over the backups that have the figure: an energy-weighted
            # mean, which is what multiplies back into the kg total.
            mean_intensity=1000.0 * s["emissions_kg"] / with_intensity if with_intensity else None,
            mean_counterfactual_intensity=1000.0 * s["counterfactual_kg"] / with_counter
            if with_counter
            else None,
            min_intensity=self.min_intensity,
            max_intensity=self.max_intensity,
        )


def _pick(choose: Any, a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else choose(a, b)


_SUMS = (
    "data_gb",
    "written_gb",
    "energy_kwh",
    "emissions_kg",
    "market_kg",
    "counterfactual_kg",
    "avoided_kg",
    "simulated_kg",
    "kwh_with_intensity",
    "kwh_with_counterfactual",
    "delay_minutes",
)
_COUNTS = (
    "without_readings",
    "without_counterfactual",
    "shifted",
    "deadline_misses",
    "simulated",
    "stale",
    "forecast_only",
    "flagged",
)


def build_report(
    rows: Iterable[BackupRow],
    *,
    period: Period,
    scope: Scope,
    config: ReportConfig,
    generated_at: datetime,
    zone_names: dict[str, str] | None = None,
    zone_sources: Iterable[ZoneSource] = (),
    unaccounted_runs: int = 0,
    keep_rows: int | None = None,
) -> ESGReport:
    """Aggregate accounted backups (one pass) into the report.

    `rows` may be a generator over a whole year: only the first `keep_rows` rows are kept (None
    keeps all), the rest are folded into the sums. Rows outside `period` are a caller bug.
    """
    market = config.supplier_factor is not None
    factor = config.supplier_factor
    # Each row is added to one (signal, zone, day) cell only; per signal, zones, months, days and
    # the total are then exact merges of cells (O(zones x days) work), not four more additions per
    # row. The signal is part of every key, so no figure ever mixes average and marginal backups.
    cells: dict[tuple[str, str, date], _Bucket] = {}
    zone_row_sources: dict[str, set[str]] = {}
    zone_row_signals: dict[str, set[str]] = {}
    kept: list[BackupRow] = []
    for row in rows:
        if keep_rows is None or len(kept) < keep_rows:
            kept.append(row)
        zone_key = row.zone or NO_ZONE
        key = (signal_of(row.signal), zone_key, row.completed_at.astimezone(UTC).date())
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = _Bucket(market)
            zone_row_signals.setdefault(zone_key, set()).add(key[0])
        cell.add(row, factor)
        if row.sources:
            zone_row_sources.setdefault(zone_key, set()).update(row.sources)

    per_signal = {signal: _merge(signal, cells, market) for signal in SIGNALS}
    average = per_signal[AVERAGE]
    codes = sorted(code for code in zone_row_signals if code != NO_ZONE)
    if scope.kind == "zone" and scope.zone and scope.zone not in codes:
        codes.append(scope.zone)
    header = Header(
        organisation=config.organisation,
        boundary=boundary_text(scope),
        period=period,
        scope=scope,
        zones=tuple(
            _zone_header(
                code,
                (zone_names or {}).get(code, code),
                config,
                zone_row_sources.get(code, set()),
                zone_row_signals.get(code, set()),
                zone_sources,
            )
            for code in codes
        ),
        config=config,
        generated_at=generated_at,
        methodology=methodology(config),
    )
    return ESGReport(
        header=header,
        average=average,
        marginal=per_signal[MARGINAL],
        sci=_sci(average.totals, config),
        rows=tuple(kept),
        unaccounted_runs=unaccounted_runs,
    )


def _merge(signal: str, cells: dict[tuple[str, str, date], _Bucket], market: bool) -> SignalFigures:
    """One signal's total, zones, months and days, as exact merges of that signal's cells."""
    total = _Bucket(market)
    zones: dict[str, _Bucket] = {}
    months: dict[str, _Bucket] = {}
    days: dict[date, _Bucket] = {}
    for (cell_signal, zone_key, day), cell in sorted(cells.items()):
        if cell_signal != signal:
            continue
        for buckets, key in ((zones, zone_key), (months, f"{day:%Y-%m}"), (days, day)):
            bucket = buckets.get(key)  # type: ignore[attr-defined]
            if bucket is None:
                bucket = buckets[key] = _Bucket(market)  # type: ignore[index]
            bucket.absorb(cell)
        total.absorb(cell)
    return SignalFigures(
        signal=signal,
        totals=total.figures(),
        by_zone=tuple((key, zones[key].figures()) for key in sorted(zones)),
        by_month=tuple((key, months[key].figures()) for key in sorted(months)),
        by_day=tuple((key, days[key].figures()) for key in sorted(days)),
    )


def _sci(totals: Figures, config: ReportConfig) -> Sci:
    tb = totals.data_gb / 1000.0
    embodied = None
    if config.embodied_kg_per_tb is not None:
        embodied = config.embodied_kg_per_tb * totals.written_gb / 1000.0
    operational_g = totals.emissions_kg * 1000.0
    total_g = operational_g + (embodied or 0.0) * 1000.0
    per_backup = operational_g / totals.backups if totals.backups else None
    per_tb = operational_g / tb if tb > 0 else None
    return Sci(
        g_per_backup=per_backup,
        g_per_tb=per_tb,
        embodied_kg=embodied,
        total_g_per_backup=total_g / totals.backups
        if totals.backups and embodied is not None
        else per_backup,
        total_g_per_tb=(total_g / tb if tb > 0 else None) if embodied is not None else per_tb,
    )


def _zone_header(
    code: str,
    name: str,
    config: ReportConfig,
    used: set[str],
    used_signals: set[str],
    zone_sources: Iterable[ZoneSource],
) -> ZoneHeader:
    own = [z for z in zone_sources if z.zone == code]
    # The providers whose readings the accounting really used; else those stored in the period.
    providers = sorted(used) or sorted({z.source for z in own})
    relevant = [z for z in own if z.source in providers] or own
    # The signals the backups' figures rest on (what the totals were split by), else those stored.
    signals = sorted(used_signals) or sorted({z.signal for z in relevant})
    steps = [s for z in relevant for s in (z.step_min_seconds, z.step_max_seconds) if s]
    if not steps:
        granularity = "no readings stored in the period"
    elif min(steps) == max(steps):
        granularity = f"{_minutes(min(steps))} steps"
    else:
        granularity = f"{_minutes(min(steps))} to {_minutes(max(steps))} steps"
    site = config.scope_of(code)
    return ZoneHeader(
        code=code,
        name=name,
        site=site,
        ghg_scope=GHG_SCOPE[site],
        providers=tuple(providers),
        signals=tuple(signals),
        granularity=granularity,
    )


def _minutes(seconds: float) -> str:
    minutes = seconds / 60.0
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60.0:.0f} h"
