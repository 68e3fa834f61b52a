"""Report periods: [start, end) in UTC, named months, quarters and years, and their checks (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


class ReportInputError(ValueError):
    """A bad period or scope; the message is written for the person who asked."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# --- Periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC. `kind` is custom, month, quarter or year (for the label only)."""

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
        if _midnight(self.start) and _midnight(self.end):
            return f"{self.start:%Y-%m-%d} to {last:%Y-%m-%d}"
        return f"{self.start:%Y-%m-%d %H:%M}Z to {self.end:%Y-%m-%d %H:%M}Z (end excluded)"

    @property
    def spelled(self) -> str:
        """The exact bounds, for the header: nothing left to interpretation."""
        return f"{self.start:%Y-%m-%d %H:%M}Z (included) to {self.end:%Y-%m-%d %H:%M}Z (excluded)"


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
            f"end ({period.end:%Y-%m-%d %H:%M}Z) must be after start ({period.start:%Y-%m-%d %H:%M}Z)",
            field="end",
        )
    if period.days > max_days:
        raise ReportInputError(
            f"the period is {period.days:.0f} days; a report covers at most {max_days} days "
            "(REPORT_MAX_DAYS): split it",
            field="end",
        )
    return period
