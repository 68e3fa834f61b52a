"""The ESG report as a typed value, built by a pure aggregation (no ORM, no settings, no rendering).

Input: plain per-backup rows (`BackupRow`), each carrying the figures the scheduler's accounting
stored when the backup completed (scheduler/accounting.py). Nothing here recomputes a backup's
energy, intensity or emissions: totals and breakdowns are sums of those per-backup figures, taken
with exact (compensated) summation, so the CSV's rows reconcile to the totals to the gram.

Output: `ESGReport` (header, totals, SCI-style intensity, breakdowns by zone, month and day, and
the first `keep_rows` rows). A marginal signal is not an average one (docs/REPORTS.md): every row
carries the signal its intensities are, and the figures are kept per signal. The inventory
(`totals`, `by_zone`, `by_month`, `by_day`, `sci`) sums AVERAGE-signal backups only, as GHG
Protocol Scope 2 location-based needs average emission factors; MARGINAL-signal backups (WattTime
MOER) are summed apart in `marginal`, a decision signal that is never added to the inventory. HTML, PDF and CSV are thin renderers of it (reports/esg/*.py).
The aggregation makes one pass and keeps O(zones + days) state, so a year of 100,000 backups
streams through it in flat memory.

The value is three modules, re-exported here (callers import from reports.esg.value):
inputs.py (`BackupRow`, `ZoneSource`, `ReportConfig`, `Scope`, site kinds and signals),
outputs.py (`ESGReport` and its parts) and aggregate.py (`build_report`, `ExactSum`).
"""

from __future__ import annotations

from reports.esg.aggregate import ExactSum, build_report
from reports.esg.inputs import (
    AVERAGE,
    GHG_SCOPE,
    HOSTED,
    MARGINAL,
    NO_ZONE,
    OWN,
    SIGNALS,
    BackupRow,
    ReportConfig,
    Scope,
    ZoneSource,
    parse_site_scope,
    signal_of,
)
from reports.esg.outputs import ESGReport, Figures, Header, LifecycleRuns, Sci, SignalFigures, ZoneHeader

__all__ = [
    "AVERAGE",
    "GHG_SCOPE",
    "HOSTED",
    "MARGINAL",
    "NO_ZONE",
    "OWN",
    "SIGNALS",
    "BackupRow",
    "ESGReport",
    "ExactSum",
    "Figures",
    "Header",
    "LifecycleRuns",
    "ReportConfig",
    "Sci",
    "Scope",
    "SignalFigures",
    "ZoneHeader",
    "ZoneSource",
    "build_report",
    "parse_site_scope",
    "signal_of",
]
