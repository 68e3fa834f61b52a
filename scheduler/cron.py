"""Cron expressions of recurring backups: the one check every entry point uses (pure).

croniter accepts expressions that never fire (`0 0 31 2 *`, the 31st of February) and raises
when asked for their next time; such a schedule is refused when it is entered, not when it runs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import CroniterBadDateError, croniter


def next_fire(expression: str, after: datetime) -> datetime | None:
    """The first time after `after` the expression fires; None if it never does (or is invalid)."""
    try:
        return croniter(expression, after.astimezone(UTC)).get_next(datetime)
    except (CroniterBadDateError, ValueError, KeyError, OverflowError):
        return None


def cron_problem(expression: object, *, max_length: int, now: datetime) -> str | None:
    """Why `expression` cannot be a schedule, or None when it can."""
    if not isinstance(expression, str) or not expression.strip():
        return "must be a cron expression like '0 22 * * *'"
    if len(expression) > max_length:
        return f"must be at most {max_length} characters, got {len(expression)}"
    if not croniter.is_valid(expression):
        return f"must be a cron expression like '0 22 * * *', got {expression!r}"
    if next_fire(expression, now) is None:
        return f"{expression!r} never fires (no such date, e.g. the 31st of February)"
    return None
