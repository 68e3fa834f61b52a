"""Report periods: [start, end) in UTC, named months, quarters and years, and their checks (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hyperweb.lib.timefmt import format_utc_short


class ReportInputError(ValueError):
    """A bad period or scope; the message is written for the person who asked."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# --- Periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC. `kind` is custom, month, quarter, year, month-, quarter- or
    year-to-date or last-12-months (for the label only)."""

    start: datetime
    end: datetime
    kind: str = "custom"

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400.0

    @property
    def label(self) -> str:
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        last = self.end - timedelta(microseconds=1)
        if self.kind.endswith("-to-date"):
            named = {"month": f"{self.start:%Y-%m}", "year": f"{self.start.year}"}.get(
                self.kind.removesuffix("-to-date"), f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
            )
            return f"{named} to date ({self.start:%Y-%m-%d} to {last:%Y-%m-%d})"
        if self.kind == "last-12-months":
            return f"last 12 months ({self.start:%Y-%m-%d} to {last:%Y-%m-%d})"
        if _midnight(self.start) and _midnight(self.end):
            return f"{self.start:%Y-%m-%d} to {last:%Y-%m-%d}"
        return f"{format_utc_short(self.start)} to {format_utc_short(self.end)} (end excluded)"

    @property
    def spelled(self) -> str:
        """The exact bounds, for the header: nothing left to interpretation."""
        return f"{format_utc_short(self.start)} (included) to {format_utc_short(self.end)} (excluded)"


def _midnight(moment: datetime) -> bool:
    return (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)


def _utc(year: int, month: int, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def month_period(year: int, month: int) -> Period:
    end = _utc(year + 1, 1) if month == 12 else _utc(year, month + 1)
    return Period(_utc(year, month), end, "month")


def quarter_period(year: int, quarter: int) -> Period:
    if quarter not in (1, 2, 3, 4):
        raise ReportInputError(f"quarter must be 1 to 4, not {quarter}", field="period")
    first = 3 * (quarter - 1) + 1
    end = _utc(year + 1, 1) if quarter == 4 else _utc(year, first + 3)
    return Period(_utc(year, first), end, "quarter")


def year_period(year: int) -> Period:
    return Period(_utc(year, 1), _utc(year + 1, 1), "year")


def previous_period(kind: str, today: date) -> Period:
    """The last complete month, quarter or year before `today` (the pickers' presets)."""
    if kind == "month":
        return (
            month_period(today.year - 1, 12)
            if today.month == 1
            else month_period(today.year, today.month - 1)
        )
    if kind == "quarter":
        quarter = (today.month - 1) // 3 + 1
        return quarter_period(today.year - 1, 4) if quarter == 1 else quarter_period(today.year, quarter - 1)
    if kind == "year":
        return year_period(today.year - 1)
    raise ReportInputError(f"unknown preset {kind!r} (month, quarter, year)", field="period")


# The reports page's presets, most recent first; "custom" takes the From and To dates.
PRESETS: tuple[tuple[str, str], ...] = (
    ("month-to-date", "Month to date"),
    ("last-month", "Last month"),
    ("quarter-to-date", "Quarter to date"),
    ("last-quarter", "Last quarter"),
    ("year-to-date", "Year to date"),
    ("last-12-months", "Last 12 months"),
    ("last-year", "Last year"),
)


def preset_period(preset: str, today: date) -> Period:
    """The period a preset names on `today` (UTC). "To date" periods and the last 12 months end at
    the end of today: today is included."""
    tomorrow = _utc(today.year, today.month, today.day) + timedelta(days=1)
    if preset == "month-to-date":
        return Period(_utc(today.year, today.month), tomorrow, "month-to-date")
    if preset == "quarter-to-date":
        return Period(_utc(today.year, 3 * ((today.month - 1) // 3) + 1), tomorrow, "quarter-to-date")
    if preset == "year-to-date":
        return Period(_utc(today.year, 1), tomorrow, "year-to-date")
    if preset == "last-12-months":
        # From the same day a year ago, excluded (29 February falls back to the 28th): 365 or 366 days.
        day = min(today.day, 28) if today.month == 2 else today.day
        year_ago = _utc(today.year - 1, today.month, day) + timedelta(days=1)
        return Period(year_ago, tomorrow, "last-12-months")
    if preset.startswith("last-") and preset != "last-12-months":
        return previous_period(preset.removeprefix("last-"), today)
    names = ", ".join(name for name, _ in PRESETS)
    raise ReportInputError(f"unknown preset {preset!r} ({names} or custom)", field="preset")


def latest_preset_with(moment: datetime | None, today: date) -> str:
    """The most recent preset whose period holds `moment` (the latest completed backup): the
    reports page opens on data, not on an empty quarter. Month to date when there is none."""
    if moment is not None:
        for preset, _ in PRESETS:
            period = preset_period(preset, today)
            if period.start <= moment < period.end:
                return preset
    return "month-to-date"


def parse_period(text: str) -> Period:
    """`2026` (a year), `2026-Q3` (a quarter) or `2026-09` (a month)."""
    value = text.strip().upper()
    try:
        if len(value) == 4 and value.isdigit():
            return year_period(int(value))
        if len(value) == 7 and value[4:6] == "-Q":
            return quarter_period(int(value[:4]), int(value[6]))
        if len(value) == 7 and value[4] == "-":
            month = int(value[5:])
            if 1 <= month <= 12:
                return month_period(int(value[:4]), month)
    except ValueError:
        pass
    raise ReportInputError(
        f"period {text!r} is not a year (2026), a quarter (2026-Q3) or a month (2026-09)", field="period"
    )


def check_period(period: Period, *, max_days: int) -> Period:
    """Refuse an empty or backwards period, and one longer than `max_days`."""
    if period.start.tzinfo is None or period.end.tzinfo is None:
        raise ReportInputError("start and end must carry a timezone (use Z for UTC)", field="start")
    if period.end <= period.start:
        raise ReportInputError(
            f"end ({format_utc_short(period.end)}) must be after start ({format_utc_short(period.start)})",
            field="end",
        )
    if period.days > max_days:
        raise ReportInputError(
            f"the period is {period.days:.0f} days; a report covers at most {max_days} days "
            "(REPORT_MAX_DAYS): split it",
            field="end",
        )
    return period
