"""The one-pass aggregation of the ESG report value: `build_report` (rows in, `ESGReport` out).

Totals and breakdowns are sums of the rows' stored figures, taken with exact (compensated)
summation (`ExactSum`), so the CSV's rows reconcile to the totals to the gram. One pass, with
O(zones + days) state, so a year of 100,000 backups streams through in flat memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from reports.esg.inputs import (
    AVERAGE,
    GHG_SCOPE,
    MARGINAL,
    NO_ZONE,
    SIGNALS,
    BackupRow,
    ReportConfig,
    Scope,
    ZoneSource,
    signal_of,
)
from reports.esg.method import boundary_text, methodology
from reports.esg.outputs import ESGReport, Figures, Header, Sci, SignalFigures, ZoneHeader
from reports.esg.periods import Period

_K = TypeVar("_K", str, date)

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
            sums["accounted_data_gb"].add(row.data_gb)
            if row.simulated:
                sums["simulated_kg"].add(row.emissions_kg)
        if row.avoided_kg is None or row.counterfactual_kg is None:
            counts["without_counterfactual"] += 1
        else:
            sums["counterfactual_kg"].add(row.counterfactual_kg)
            sums["avoided_kg"].add(row.avoided_kg)
            if row.avoided_kg < 0:
                counts["made_worse"] += 1
                sums["lost_kg"].add(-row.avoided_kg)
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
        if "estimated" in row.flags:
            counts["estimated"] += 1
            sums["estimated_kwh"].add(row.energy_kwh)

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
        # Keyword arguments by Figures field name (the dataclass checks the names when called).
        s: dict[str, Any] = {name: total.value() for name, total in self.sums.items()}
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


def _pick(choose: Callable[[float, float], float], a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else choose(a, b)


_SUMS = (
    "data_gb",
    "written_gb",
    "energy_kwh",
    "emissions_kg",
    "market_kg",
    "counterfactual_kg",
    "avoided_kg",
    "lost_kg",
    "simulated_kg",
    "estimated_kwh",
    "kwh_with_intensity",
    "kwh_with_counterfactual",
    "delay_minutes",
    "accounted_data_gb",
)
_COUNTS = (
    "without_readings",
    "without_counterfactual",
    "shifted",
    "made_worse",
    "deadline_misses",
    "simulated",
    "stale",
    "forecast_only",
    "flagged",
    "estimated",
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


def _bucket(buckets: dict[_K, _Bucket], key: _K, market: bool) -> _Bucket:
    """The bucket for ``key``, created empty on first use."""
    bucket = buckets.get(key)
    if bucket is None:
        bucket = buckets[key] = _Bucket(market)
    return bucket


def _merge(signal: str, cells: dict[tuple[str, str, date], _Bucket], market: bool) -> SignalFigures:
    """One signal's total, zones, months and days, as exact merges of that signal's cells."""
    total = _Bucket(market)
    zones: dict[str, _Bucket] = {}
    months: dict[str, _Bucket] = {}
    days: dict[date, _Bucket] = {}
    for (cell_signal, zone_key, day), cell in sorted(cells.items()):
        if cell_signal != signal:
            continue
        _bucket(zones, zone_key, market).absorb(cell)
        _bucket(months, f"{day:%Y-%m}", market).absorb(cell)
        _bucket(days, day, market).absorb(cell)
        total.absorb(cell)
    return SignalFigures(
        signal=signal,
        totals=total.figures(),
        by_zone=tuple((key, zones[key].figures()) for key in sorted(zones)),
        by_month=tuple((key, months[key].figures()) for key in sorted(months)),
        by_day=tuple((key, days[key].figures()) for key in sorted(days)),
    )


def _sci(totals: Figures, config: ReportConfig) -> Sci:
    """Operational g per backup and per TB over the backups that have kg, numerator and
    denominator alike (a backup not accounted yet adds neither kg nor TB nor a backup); embodied
    over every backup's archives, per every backup and TB read."""
    accounted, accounted_tb = totals.accounted, totals.accounted_data_gb / 1000.0
    tb = totals.data_gb / 1000.0
    embodied = None
    if config.embodied_kg_per_tb is not None:
        embodied = config.embodied_kg_per_tb * totals.written_gb / 1000.0
    operational_g = totals.emissions_kg * 1000.0
    per_backup = operational_g / accounted if accounted else None
    per_tb = operational_g / accounted_tb if accounted_tb > 0 else None
    total_per_backup, total_per_tb = per_backup, per_tb
    if embodied is not None:
        total_per_backup = (
            per_backup + embodied * 1000.0 / totals.backups
            if per_backup is not None and totals.backups
            else None
        )
        total_per_tb = per_tb + embodied * 1000.0 / tb if per_tb is not None and tb > 0 else None
    return Sci(
        g_per_backup=per_backup,
        g_per_tb=per_tb,
        embodied_kg=embodied,
        total_g_per_backup=total_per_backup,
        total_g_per_tb=total_per_tb,
        backups=accounted,
        data_gb=totals.accounted_data_gb,
        unaccounted=totals.without_readings,
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
