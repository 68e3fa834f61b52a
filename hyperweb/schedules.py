"""Every django-q2 schedule the workers run: one registry that the apps fill, registered in one place.

An app with periodic work lists it in its own `schedules.py` (carbon/schedules.py,
scheduler/schedules.py, alerts/schedules.py): a function decorated with `@contributes` that returns
the app's `Periodic` entries from the current settings. `register_all()` (called by
`manage.py bootstrap`, so by every `make run`) imports each installed app's `schedules` module,
collects the entries and creates or updates each django-q2 Schedule by name: running it again
changes nothing, and an entry an app returns as off (`enabled=False`) is deleted. Two entries with
one name are refused. This module imports no app, so every app may import it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.module_loading import autodiscover_modules
from django_q.models import Schedule

# django-q2's Schedule.schedule_type codes, for the apps' schedules modules.
MINUTES = Schedule.MINUTES
DAILY = Schedule.DAILY
CRON = Schedule.CRON


@dataclass(frozen=True)
class Periodic:
    """One schedule: `func` (a dotted path) run every `minutes`, daily, or on `cron` (UTC)."""

    name: str
    func: str
    schedule_type: str
    minutes: int | None = None
    cron: str | None = None
    # When a new schedule first runs; set only when it is created, so registering again does not move it.
    first_run: datetime | None = None
    enabled: bool = True


Contribution = Callable[[datetime], list[Periodic]]
_CONTRIBUTIONS: dict[str, Contribution] = {}


def contributes(func: Contribution) -> Contribution:
    """Add an app's schedules to the registry (by the function's dotted name: importing twice is harmless)."""
    _CONTRIBUTIONS[f"{func.__module__}.{func.__qualname__}"] = func
    return func


def expected(now: datetime | None = None) -> list[Periodic]:
    """Every app's entries under the current settings, in app order; a name used twice is an error."""
    autodiscover_modules("schedules")
    now = now or datetime.now(UTC)
    entries: list[Periodic] = []
    for contribution in _CONTRIBUTIONS.values():
        entries.extend(contribution(now))
    names = [entry.name for entry in entries]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"schedules registered twice: {', '.join(repeated)}")
    return entries


def register_all(now: datetime | None = None) -> list[str]:
    """Create or update every enabled schedule by name and delete the disabled ones (idempotent).

    Returns the names of the schedules that are on."""
    registered = []
    for entry in expected(now):
        if not entry.enabled:
            Schedule.objects.filter(name=entry.name).delete()
            continue
        fields: dict[str, object] = {"func": entry.func, "schedule_type": entry.schedule_type, "repeats": -1}
        if entry.minutes is not None:
            fields["minutes"] = entry.minutes
        if entry.cron is not None:
            fields["cron"] = entry.cron
        create = {**fields, "next_run": entry.first_run} if entry.first_run is not None else None
        Schedule.objects.update_or_create(name=entry.name, defaults=fields, create_defaults=create)
        registered.append(entry.name)
    return registered
