"""One way to write quantities, for pages, PDF and chart axes (pure).

- data: decimal SI bytes (1 MB = 10^6 B, 1 GB = 10^9 B), never binary units under SI names;
- CO2 mass: g, kg or t, chosen by size (a demo backup emits milligrams, a fleet tonnes);
- energy: Wh, kWh or MWh, chosen by size;
- below a hundredth of the smallest unit (0.01 g, 0.01 Wh) a value that is not zero is written
  "< 0.01 g" ("> -0.01 g" below zero): never rounded to 0, nor shown with more digits than the
  figures beside it carry. Exactly zero is "0 g".
"""

from __future__ import annotations

_DATA_UNITS = (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3))
_MASS_UNITS = (("t", 1000.0), ("kg", 1.0), ("g", 0.001))  # per kg
_ENERGY_UNITS = (("MWh", 1000.0), ("kWh", 1.0), ("Wh", 0.001))  # per kWh


SMALLEST = 0.01  # of the smallest unit (g, Wh): what is written at all


def _tiny(value: float, unit: str) -> str:
    return f"< {SMALLEST:g} {unit}" if value > 0 else f"> -{SMALLEST:g} {unit}"


def _digits(value: float) -> str:
    """Three significant digits at most, thousands separated: 0.123, 12.3, 123, 1,234."""
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if size >= 1 else f"{value:.3g}"


def data_bytes(count: float | None) -> str:
    """Bytes in decimal SI units: 315 MB, 1.20 GB."""
    if count is None:
        return "—"
    for unit, size in _DATA_UNITS:
        if abs(count) >= size:
            return f"{_digits(count / size)} {unit}"
    return f"{count:,.0f} B"


def data_gb(gb: float | None) -> str:
    """A data size given in GB (10^9 bytes), in decimal SI units."""
    return "—" if gb is None else data_bytes(gb * 1e9)


def mass_unit(kg: float) -> tuple[str, float]:
    """The unit for a CO2 mass of this size (or for an axis whose largest value it is), and kg per
    unit: (`g`, 0.001), (`kg`, 1.0) or (`t`, 1000.0)."""
    for unit, per in _MASS_UNITS:
        if abs(kg) >= per:
            return unit, per
    return "g", 0.001


def co2(kg: float | None) -> str:
    """A CO2 mass: < 0.01 g, 0.35 g, 78.2 g, 1.24 kg, 3.10 t."""
    if kg is None:
        return "—"
    if kg != 0 and abs(kg) < SMALLEST * 0.001:
        return _tiny(kg, "g")
    unit, per = mass_unit(kg)
    return f"{_digits(kg / per)} {unit}"


def energy_unit(kwh: float) -> tuple[str, float]:
    for unit, per in _ENERGY_UNITS:
        if abs(kwh) >= per:
            return unit, per
    return "Wh", 0.001


def energy(kwh: float | None) -> str:
    """Energy: 105 Wh, 1.25 kWh, 2.40 MWh."""
    if kwh is None:
        return "—"
    if kwh != 0 and abs(kwh) < SMALLEST * 0.001:
        return _tiny(kwh, "Wh")
    unit, per = energy_unit(kwh)
    return f"{_digits(kwh / per)} {unit}"
