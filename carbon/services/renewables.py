"""The renewable share of generation, as providers report it and as stored with each reading.

Electricity Maps (power breakdown) and NESO (generation mix) give a percentage with a reading;
`CarbonReading.renewable_percent` keeps it, None where the provider gave none. Readers here never
invent one: None means "not known", and the API says so with a flag rather than a made-up number.
"""

from __future__ import annotations

from datetime import datetime

from carbon.models import CarbonReading, Zone
from carbon.services.series import ACTUAL, _priority


def renewable_share(zone: Zone, start: datetime, end: datetime) -> float | None:
    """Time-weighted mean renewable share of the stored actual readings over [start, end).

    One source is used (never two sources' figures mixed for the same time): the one whose
    figures cover most of the range, ties broken by the zone's provider chain. Parts of the range
    without a figure do not count (the mean is over the covered time). None when nothing covers it.
    """
    if end <= start:
        return None
    rows = CarbonReading.objects.filter(
        zone=zone, kind=ACTUAL, start__lt=end, end__gt=start, renewable_percent__isnull=False
    ).values_list("source", "start", "end", "renewable_percent")
    totals: dict[str, list[float]] = {}  # source: [percent x seconds, seconds]
    for source, r_start, r_end, percent in rows:
        seconds = (min(r_end, end) - max(r_start, start)).total_seconds()
        if seconds > 0 and percent is not None:  # never None: filtered on renewable_percent__isnull
            acc = totals.setdefault(source, [0.0, 0.0])
            acc[0] += percent * seconds
            acc[1] += seconds
    if not totals:
        return None
    order = {name: i for i, name in enumerate(_priority(zone, set(totals)))}
    best = max(totals, key=lambda name: (totals[name][1], -order[name]))
    weighted, seconds = totals[best]
    return weighted / seconds
