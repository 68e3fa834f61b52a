"""How good the stored forecasts were: each forecast point whose hour has passed against the actual
reading of the same start, overall and by lead time (the zone page shows it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Avg, Count, F, FloatField, Func, OuterRef, Q, Subquery

from carbon.models import CarbonReading, Zone

# Fewer compared points than this are not an average worth showing (one point is not a
# statistic): the page says how many there are instead. Also per lead-time row.
MIN_POINTS = 12


class SecondsBetween(Func):
    """end - start in seconds, computed by the database itself.

    Django's portable datetime subtraction runs a Python function per row on SQLite, which made
    the accuracy query take half a second on a year of data; julianday() / EXTRACT are native.
    """

    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s)) * 86400.0)",
            arg_joiner=") - julianday(",
            **extra,
        )

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]  # Func's keywords pass through **extra
        extra.setdefault("template", "EXTRACT(EPOCH FROM (%(expressions)s))")
        extra.setdefault("arg_joiner", " - ")
        return super().as_sql(compiler, connection, **extra)


def forecast_accuracy(zone: Zone, *, now: datetime, days: int = 7) -> dict[str, Any]:
    """Mean absolute error of the stored forecasts against what was then measured (one query).

    Every forecast point of the last `days` whose hour has passed is compared with the actual
    reading of the same start; errors are also given by lead time, since a forecast for the
    next hours is far better than one for the day after tomorrow.
    """
    actual = CarbonReading.objects.filter(
        zone_id=zone.pk, kind=CarbonReading.Kind.ACTUAL, signal=OuterRef("signal"), start=OuterRef("start")
    ).values("value")[:1]
    hours = 3600.0
    rows = (
        CarbonReading.objects.filter(
            zone=zone, kind=CarbonReading.Kind.FORECAST, start__gte=now - timedelta(days=days), end__lte=now
        )
        .annotate(actual=Subquery(actual))
        .filter(actual__isnull=False)
        .annotate(
            error=Func(F("value") - F("actual"), function="ABS"),
            lead=SecondsBetween(F("start"), F("issued_at")),
        )
    )
    result = rows.aggregate(
        points=Count("pk"),
        mae=Avg("error"),
        mean_actual=Avg("actual"),
        mae_6h=Avg("error", filter=Q(lead__lte=6 * hours)),
        mae_24h=Avg("error", filter=Q(lead__gt=6 * hours, lead__lte=24 * hours)),
        mae_later=Avg("error", filter=Q(lead__gt=24 * hours)),
        points_6h=Count("pk", filter=Q(lead__lte=6 * hours)),
        points_24h=Count("pk", filter=Q(lead__gt=6 * hours, lead__lte=24 * hours)),
        points_later=Count("pk", filter=Q(lead__gt=24 * hours)),
    )
    # A mean over fewer than MIN_POINTS is not shown; "enough" says whether the overall one is.
    result["min_points"] = MIN_POINTS
    result["enough"] = result["points"] >= MIN_POINTS
    for lead in ("6h", "24h", "later"):
        if result[f"points_{lead}"] < MIN_POINTS:
            result[f"mae_{lead}"] = None
    result["days"] = days
    mean = result["mean_actual"]
    result["percent"] = 100.0 * result["mae"] / mean if result["mae"] is not None and mean else None
    return result
