"""What a report says about its own method: boundary and methodology statements, and the
thresholds they name (pure; every rendering prints these, so an auditor can follow each total)."""

from __future__ import annotations

# The thresholds and the types the text names live in the leaf module inputs.py (which imports
# nothing from reports.esg), so this module imports them at the top without a cycle.
from reports.esg.inputs import DEADLINE_GRACE as DEADLINE_GRACE
from reports.esg.inputs import SHIFT_THRESHOLD as SHIFT_THRESHOLD
from reports.esg.inputs import ReportConfig, Scope

AVOIDED_LABEL = "avoided emissions, not an inventory reduction"
MARGINAL_LABEL = "marginal emissions (WattTime MOER): a decision signal, not an inventory figure"


def boundary_text(scope: Scope) -> str:
    return (
        f"Electricity used by backups that hyperweb ran and that completed in the period ({scope.label}): "
        "reading the source, compressing and writing the archive, as estimated by the energy model "
        "below. Storage at rest, networks beyond the backup host, and the rest of the IT estate are "
        "outside the boundary; embodied emissions are included only where stated."
    )


def methodology(config: ReportConfig) -> tuple[tuple[str, str], ...]:
    """Titled statements printed in every rendering, so an auditor can follow each total to its method."""
    items = [
        (
            "Inclusion",
            "A backup is included when it completed in the period (completion time in UTC) and was "
            "accounted by the scheduler. Failed and cancelled runs are counted separately; their "
            "energy is not measured, so they add no kWh or kg. Restores and verifications of "
            "archives are accounted the same way but are not backups: they are in no total, "
            "breakdown, row or SCI figure, and their count, kWh and location-based kg are given on "
            "a line of their own.",
        ),
        (
            "Energy model",
            f"Power = {config.base_watts:g} W + {config.watts_per_tb:g} W per TB of data; "
            f"energy (kWh) = power x run hours x PUE {config.pue:g} / 1000. Data is the bytes the run "
            "read from the source (the size declared at submission when the run did not report it); "
            "run hours = completion - start as recorded by the worker. "
            "Settings: ENERGY_BASE_WATTS, ENERGY_WATTS_PER_TB, ENERGY_PUE.",
        ),
        (
            "Intensity over a run",
            "The time-weighted mean of the stored grid carbon-intensity readings (gCO2e/kWh) over "
            "[start, completion]: each reading weighs by how long it overlaps the run; gaps are left "
            "out and the covered share is recorded per backup. Measured readings are used where "
            "stored, otherwise the latest stored forecast for that time (a run after the last "
            "measured reading, before the next refresh stores its measurement): the backup is "
            "flagged forecast-only (or partial_forecast when only part of its run was), and is "
            "accounted again from the measurements when they arrive.",
        ),
        (
            "Location-based emissions",
            "kg CO2e = kWh x mean intensity / 1000, per backup. A backup with neither a reading nor "
            "a forecast over its run is not accounted yet: it gets no kg rather than a guess, is "
            "counted as 'not accounted yet', and is accounted when readings arrive. A zone or "
            "month none of whose backups has kg shows 'not accounted', never 0 g.",
        ),
        (
            "Average and marginal signals",
            "GHG Protocol Scope 2 location-based accounting needs average emission factors. Each "
            "backup's accounting records which signal its intensities are: average (Electricity "
            "Maps, UK NESO, imported CSV, the simulated provider, WattTime co2_aoer) or marginal "
            "(WattTime co2_moer: the emissions of the generators that answer an extra load). Totals, breakdowns and the "
            "SCI figures sum average-signal backups only. Marginal-signal backups are reported in "
            f"their own section as {MARGINAL_LABEL}, with their own kWh, kg and avoided kg, and "
            "are never added to the average totals; their energy is therefore not in the "
            "location-based inventory. A backup accounted before the signal was recorded counts "
            "as average, since every provider but WattTime's default MOER gives average intensities.",
        ),
    ]
    if config.supplier_factor is not None:
        items.append(
            (
                "Market-based emissions",
                f"kg CO2e = kWh x the supplier's factor {config.supplier_factor:g} gCO2e/kWh / 1000 "
                "(REPORT_SUPPLIER_FACTOR).",
            )
        )
    items += [
        (
            "Counterfactual and avoided emissions",
            "The same run (same energy, same duration) had it started as soon as it was allowed to: "
            "at the request, or at its earliest allowed start when the caller set a later one "
            "(a not-before time, a recurring backup's window), priced at the mean intensity over "
            "[that start, that start + duration]; a wait the caller imposed is never counted as "
            "avoided. Avoided kg = counterfactual "
            "kg - emitted kg (negative when waiting made it worse). These are "
            f"{AVOIDED_LABEL}: they are reported beside the inventory, never subtracted from it.",
        ),
        (
            "Delay, shift and deadlines",
            f"Delay = actual start - request. A backup is shifted when its planned start was more than "
            f"{SHIFT_THRESHOLD.total_seconds() / 60:.0f} min after the request; a deadline is missed "
            f"when it started more than {DEADLINE_GRACE.total_seconds() / 60:.0f} min after its latest "
            "allowed start.",
        ),
        (
            "Data quality flags",
            "simulated: intensity from hyperweb's simulated provider, not a measurement; stale: the "
            "providers could not be reached and older stored data was used; forecast-only: no "
            "measured reading over the run, the stored forecast for it was used. Counts of flagged "
            "backups are in the totals.",
        ),
        (
            "SCI-style intensity",
            "In the spirit of the Green Software Foundation's SCI: (E x I + M) / R, with R = one "
            "backup and R = one TB backed up (data read), both over the backups that have kg "
            "(a backup not accounted yet is left out of the grams and of R alike). M (embodied) "
            + (
                f"= {config.embodied_kg_per_tb:g} kg CO2e per TB written (REPORT_EMBODIED_KG_PER_TB)."
                if config.embodied_kg_per_tb is not None
                else "is not included (REPORT_EMBODIED_KG_PER_TB is not set)."
            ),
        ),
        (
            "GHG Protocol scope",
            "Per site (REPORT_SITE_SCOPE): sites we operate report under Scope 2 (location-based); "
            "hosted sites under Scope 3.",
        ),
        (
            "Reconciliation",
            "Per-backup figures are those the scheduler stored when each backup completed "
            "(scheduler/accounting.py); every total is the exact sum of them, per signal: the "
            "per-backup CSV's average rows add up to the totals, its marginal rows to the marginal "
            "section.",
        ),
    ]
    return tuple(items)
