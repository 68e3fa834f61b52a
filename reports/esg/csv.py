"""CSV renderers of the ESG report: one row per backup (streamed), and a summary.

UTF-8 without a byte-order mark, comma-separated, a header row first, RFC 4180 quoting. Numbers
are rounded to 9 decimal places (DECIMALS) and written in their shortest form: float noise such
as -4.2e-22 kg or 0.30000000000000004 never shows, and per-backup column sums equal the report's
totals to within 1e-9 per row (the totals are exact sums, rounded alike); times are ISO 8601 UTC with a Z. Text cells a spreadsheet
would run as a formula (starting with = + - @, a tab or a carriage return) get a leading
apostrophe; numeric cells are written by us and never neutralised, so negative avoided kg stay
numbers. Columns are documented in docs/REPORTS.md (generated from CSV_COLUMNS below).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from hyperweb.lib.csvstream import LineWriter
from hyperweb.lib.timefmt import format_utc
from reports.esg.method import AVOIDED_LABEL, MARGINAL_LABEL
from reports.esg.value import BackupRow, ESGReport, Figures

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("backup_id", "the backup job's id (GET /jobs/query)"),
    ("name", "the job's name, else the VM path"),
    ("zone", "grid zone whose intensity was used"),
    (
        "signal",
        "average or marginal: the signal intensity_gco2e_kwh and the kg columns rest on. Average rows "
        "are the location-based inventory and sum to the totals; marginal rows (WattTime MOER) are a "
        "decision signal, not an inventory figure, and sum to the marginal section only. A backup "
        "accounted before the signal was recorded reads as average (every provider but WattTime's "
        "MOER gives averages)",
    ),
    ("site_scope", "GHG Protocol scope of the zone's site: scope2 (own site) or scope3 (hosted)"),
    ("policy_id", "the recurring policy that created it, empty for one-off backups"),
    ("policy", "that policy's name"),
    (
        "requested_at",
        "when the backup was requested, UTC (the counterfactual starts here, or at earliest_start if later)",
    ),
    ("earliest_start", "earliest allowed start, UTC"),
    ("latest_start", "latest allowed start (deadline), UTC"),
    ("planned_start", "start chosen by the planner, UTC"),
    ("started_at", "actual start, UTC"),
    ("completed_at", "actual completion, UTC (decides the period the backup falls in)"),
    ("duration_hours", "completed_at - started_at, hours"),
    ("delay_minutes", "started_at - requested_at, minutes (0 if it started early)"),
    ("shifted", "1 when the planned start was more than 1 min after the request"),
    ("deadline_missed", "1 when it started more than 1 min after latest_start"),
    ("data_gb", "data read from the source (the energy model's input), GB (10^9 bytes)"),
    ("bytes_written", "size of the archive written, bytes"),
    ("energy_kwh", "energy from the energy model, kWh"),
    ("intensity_gco2e_kwh", "time-weighted mean grid intensity over the run, gCO2e/kWh"),
    ("coverage", "share of the run covered by readings, measured or forecast, 0..1"),
    ("emissions_kg", "location-based emissions = energy_kwh x intensity / 1000, kg CO2e"),
    ("market_kg", "market-based emissions with the supplier factor, kg CO2e (empty if not configured)"),
    (
        "counterfactual_intensity_gco2e_kwh",
        "mean intensity had it started at its earliest allowed start, gCO2e/kWh",
    ),
    ("counterfactual_kg", "emissions had it started at its earliest allowed start, kg CO2e"),
    ("avoided_kg", f"counterfactual_kg - emissions_kg, kg CO2e ({AVOIDED_LABEL})"),
    ("simulated", "1 when the intensity came from the simulated provider"),
    ("stale", "1 when older stored data was used because providers were unreachable"),
    ("forecast_only", "1 when no measured reading covered the run and the stored forecast for it was used"),
    ("sources", "providers whose readings were used, ';'-separated"),
    (
        "flags",
        "the accounting's flags, ';'-separated (e.g. partial_coverage, partial_forecast: part of the run priced at the forecast, no_readings: not accounted yet, no kg, estimated: provider estimates not yet measured)",
    ),
)
HEADER = [name for name, _ in CSV_COLUMNS]


def neutralise(text: str) -> str:
    """Prefix a cell a spreadsheet would evaluate with an apostrophe (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


DECIMALS = 9


def _number(value: float | int | None) -> str:
    if value is None:
        return ""
    if not isinstance(value, float):
        return str(value)
    text = f"{value:.{DECIMALS}f}".rstrip("0").rstrip(".")  # plain digits, never an exponent
    return "0" if text in ("-0", "") else text


def _time(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_utc(value, "seconds")


def _flag(value: bool) -> str:
    return "1" if value else "0"


def row_cells(row: BackupRow, *, supplier_factor: float | None, site_scope: dict[str, str]) -> list[str]:
    scope = (
        "" if row.zone is None else ("scope3" if site_scope.get(row.zone.upper()) == "hosted" else "scope2")
    )
    return [
        neutralise(row.id),
        neutralise(row.name),
        neutralise(row.zone or ""),
        row.signal,
        scope,
        neutralise(row.policy_id or ""),
        neutralise(row.policy or ""),
        _time(row.requested_at),
        _time(row.earliest_start),
        _time(row.latest_start),
        _time(row.planned_start),
        _time(row.started_at),
        _time(row.completed_at),
        _number(row.duration_hours),
        _number(row.delay_minutes),
        _flag(row.shifted),
        _flag(row.deadline_missed),
        _number(row.data_gb),
        _number(row.bytes_written),
        _number(row.energy_kwh),
        _number(row.intensity_experienced),
        _number(row.coverage),
        _number(row.emissions_kg),
        _number(row.market_kg(supplier_factor)),
        _number(row.counterfactual_intensity),
        _number(row.counterfactual_kg),
        _number(row.avoided_kg),
        _flag(row.simulated),
        _flag(row.stale),
        _flag(row.forecast_only),
        neutralise(";".join(row.sources)),
        neutralise(";".join(row.flags)),
    ]


def rows_csv(
    rows: Iterable[BackupRow], *, supplier_factor: float | None, site_scope: dict[str, str]
) -> Iterator[str]:
    """The per-backup CSV, one line at a time (the header first), in constant memory."""
    writer = LineWriter()
    yield writer.writerow(HEADER)
    for row in rows:
        yield writer.writerow(row_cells(row, supplier_factor=supplier_factor, site_scope=site_scope))


SUMMARY_HEADER = ["section", "key", "metric", "value", "unit"]

NOT_ACCOUNTED = "backups not accounted yet (no intensity data for their run; no kg counted)"
# Figures that are unknown, not zero, when no backup of a set has them: written empty then.
_NEEDS_KG = ("emissions_kg", "mean_intensity")
_NEEDS_COUNTERFACTUAL = ("counterfactual_kg", "avoided_kg", "mean_counterfactual_intensity")

_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("backups", "backups", "count"),
    ("data_gb", "data backed up (read)", "GB"),
    ("written_gb", "archives written", "GB"),
    ("energy_kwh", "energy", "kWh"),
    ("emissions_kg", "emissions, location-based", "kg CO2e"),
    ("market_kg", "emissions, market-based", "kg CO2e"),
    ("counterfactual_kg", "counterfactual emissions (started at the earliest allowed start)", "kg CO2e"),
    ("avoided_kg", AVOIDED_LABEL, "kg CO2e"),
    ("avoided_percent", "avoided against counterfactual", "%"),
    ("made_worse", "backups that ran dirtier than their counterfactual", "count"),
    ("lost_kg", "emissions those backups added over their counterfactual", "kg CO2e"),
    ("mean_intensity", "mean intensity during runs (energy-weighted)", "gCO2e/kWh"),
    ("mean_counterfactual_intensity", "mean counterfactual intensity (energy-weighted)", "gCO2e/kWh"),
    ("shifted", "backups shifted", "count"),
    ("shifted_share", "share of backups shifted", "fraction"),
    ("mean_delay_minutes", "mean delay", "minutes"),
    ("max_delay_minutes", "longest delay", "minutes"),
    ("deadline_misses", "deadline misses", "count"),
    ("accounted", "backups with kg (accounted)", "count"),
    ("without_readings", NOT_ACCOUNTED, "count"),
    ("without_counterfactual", "backups without counterfactual (no avoided kg counted)", "count"),
    ("simulated", "backups on simulated data", "count"),
    ("stale", "backups on stale data", "count"),
    ("forecast_only", "backups on forecast-only data", "count"),
    ("flagged", "backups on simulated, stale or forecast-only data", "count"),
    ("simulated_kg", "kg CO2e resting on simulated data", "kg CO2e"),
    ("estimated", "backups on provider estimates (not yet measured)", "count"),
    ("estimated_kwh", "energy accounted on provider estimates", "kWh"),
    ("estimated_energy_percent", "share of energy accounted on provider estimates", "%"),
)


def _figures_lines(section: str, key: str, figures: Figures) -> Iterator[list[str]]:
    no_kg = figures.backups > 0 and figures.accounted == 0
    no_counterfactual = figures.backups > 0 and figures.without_counterfactual == figures.backups
    for attr, metric, unit in _FIGURES:
        value: float | int | None = getattr(figures, attr)
        if attr == "market_kg" and value is None:
            continue
        if (no_kg and attr in _NEEDS_KG) or (no_counterfactual and attr in _NEEDS_COUNTERFACTUAL):
            value = None  # not accounted: unknown, never 0
        yield [section, neutralise(key), metric, _number(value), unit]


def summary_csv(report: ESGReport) -> Iterator[str]:
    """Header facts, totals, SCI and the breakdowns as `section,key,metric,value,unit` lines.

    The inventory's sections (`totals`, `sci`, `zone_totals`, `month_totals`) are average-signal
    backups only; marginal-signal backups get sections of their own (`marginal_totals`,
    `marginal_zone_totals`, `marginal_month_totals`), written only when there are any, so no
    line adds the two signals together.
    """
    writer = LineWriter()
    header = report.header
    yield writer.writerow(SUMMARY_HEADER)
    facts = [
        ("organisation", header.organisation, ""),
        ("scope", header.scope.label, ""),
        ("period", header.period.label, ""),
        ("period_start", _time(header.period.start), "UTC, included"),
        ("period_end", _time(header.period.end), "UTC, excluded"),
        ("generated_at", _time(header.generated_at), "UTC"),
        ("energy_base_watts", _number(header.config.base_watts), "W"),
        ("energy_watts_per_tb", _number(header.config.watts_per_tb), "W per TB"),
        ("energy_pue", _number(header.config.pue), ""),
        ("supplier_factor", _number(header.config.supplier_factor), "gCO2e/kWh"),
        ("embodied_kg_per_tb", _number(header.config.embodied_kg_per_tb), "kg CO2e per TB written"),
        (
            "empty",
            "yes" if report.empty else "no",
            "no backups completed in the period" if report.empty else "",
        ),
        ("unaccounted_runs", str(report.unaccounted_runs), "failed/cancelled runs, no kWh or kg"),
        ("restore_runs", str(report.lifecycle.restores), "accounted restores: not backups, not in totals"),
        ("verify_runs", str(report.lifecycle.verifications), "accounted verifications: not backups, not in totals"),
        ("restore_verify_energy_kwh", _number(report.lifecycle.energy_kwh), "kWh, not in totals"),
        (
            "restore_verify_emissions_kg",
            _number(report.lifecycle.emissions_kg),
            "kg CO2e location-based (average signal), not in totals",
        ),
        (
            "marginal_backups",
            str(report.marginal.totals.backups),
            f"{MARGINAL_LABEL}: in the marginal_* sections, never in totals",
        ),
    ]
    for metric, value, unit in facts:
        yield writer.writerow(["header", "", metric, neutralise(value), unit])
    for zone in header.zones:
        code = neutralise(zone.code)
        yield writer.writerow(["zone", code, "name", neutralise(zone.name), ""])
        yield writer.writerow(["zone", code, "ghg_scope", zone.ghg_scope, ""])
        yield writer.writerow(["zone", code, "providers", neutralise(";".join(zone.providers)), ""])
        yield writer.writerow(["zone", code, "signal", ";".join(zone.signals), ""])
        yield writer.writerow(["zone", code, "granularity", zone.granularity, ""])
    for line in _figures_lines("totals", "", report.totals):
        yield writer.writerow(line)
    sci = report.sci
    # Kg and backups / TB of the same backups: those with kg (sci.backups); say so in the unit.
    over = f", over the {sci.backups} backups with emissions"
    if sci.unaccounted:
        over += f" ({sci.unaccounted} not accounted yet left out)"
    for metric, number, unit in (
        ("operational per backup", sci.g_per_backup, "gCO2e per backup" + over),
        ("operational per TB", sci.g_per_tb, "gCO2e per TB read" + over),
        ("embodied", sci.embodied_kg, "kg CO2e"),
        ("total per backup", sci.total_g_per_backup, "gCO2e per backup (operational" + over + "; embodied over all)"),
        ("total per TB", sci.total_g_per_tb, "gCO2e per TB read (operational" + over + "; embodied over all)"),
    ):
        yield writer.writerow(["sci", "", metric, _number(number), unit])
    for line in _breakdown_lines("", report.by_zone, report.by_month):
        yield writer.writerow(line)
    if not report.has_marginal:
        return
    marginal = report.marginal
    for line in _figures_lines("marginal_totals", "", marginal.totals):
        yield writer.writerow(line)
    for line in _breakdown_lines("marginal_", marginal.by_zone, marginal.by_month):
        yield writer.writerow(line)


def _breakdown_lines(
    prefix: str, by_zone: tuple[tuple[str, Figures], ...], by_month: tuple[tuple[str, Figures], ...]
) -> Iterator[list[str]]:
    """The per-zone then per-month figure lines of one signal (``prefix`` names the marginal)."""
    for section, rows in ((f"{prefix}zone_totals", by_zone), (f"{prefix}month_totals", by_month)):
        for key, figures in rows:
            yield from _figures_lines(section, key, figures)
