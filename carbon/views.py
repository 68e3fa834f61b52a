"""carbon's own page: a zone's stored readings as CSV (it reads carbon only).

The pages that combine carbon with backups and reports (the overview, the zone page) live in the
dashboard app; zone_or_404 and requested_days are shared with its zone page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.roles import VIEWER
from accounts.views import download_role_required
from carbon import services
from carbon.models import CarbonReading, Zone
from hyperweb.lib.csvstream import LineWriter
from hyperweb.lib.timefmt import format_utc

ZONE_DAYS = (1, 7, 30)  # history ranges offered on the zone page and its CSV download


def zone_or_404(code: str) -> Zone:
    try:
        return services.get_zone(code)
    except services.UnknownZone:
        raise Http404(f"no zone {code!r}") from None


def requested_days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", 7))
    except ValueError:
        days = 7
    return days if days in ZONE_DAYS else 7


@download_role_required(VIEWER)
@require_GET
def zone_readings_csv(request: HttpRequest, code: str) -> StreamingHttpResponse:
    """Every stored actual reading of the chosen range, unreduced, as CSV (streamed, UTC).

    The default format is the import format (`time,value,zone`), which `manage.py carbon import`
    and `manage.py backtest --csv` read back; `?format=detailed` adds each reading's end, source,
    signal and renewable share (`start,end,gco2_per_kwh,...`). Values are rounded to 3 decimals.
    Scripts may authenticate with X-API-Key or a Bearer token."""
    zone = zone_or_404(code)
    now = timezone.now()
    days = requested_days(request)
    detailed = request.GET.get("format") == "detailed"
    rows = services.readings_between(zone, now - timedelta(days=days), now, CarbonReading.Kind.ACTUAL)
    writer = LineWriter()

    def lines() -> Iterator[str]:
        if not detailed:
            yield writer.writerow(["time", "value", "zone"])
            for start, value in rows.values_list("start", "value").iterator(chunk_size=2000):
                yield writer.writerow([_utc_text(start), _reading_value(value), zone.code])
            return
        yield writer.writerow(["start", "end", "gco2_per_kwh", "source", "signal", "renewable_percent"])
        for start, end, value, source, signal, renewable in rows.values_list(
            "start", "end", "value", "source", "signal", "renewable_percent"
        ).iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    _utc_text(start),
                    _utc_text(end),
                    _reading_value(value),
                    source,
                    signal,
                    "" if renewable is None else _reading_value(renewable),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8; header=present")
    suffix = "-detailed" if detailed else ""
    response["Content-Disposition"] = f'attachment; filename="{zone.code}-{days}d{suffix}.csv"'
    return response


def _utc_text(moment: datetime) -> str:
    return format_utc(moment, "seconds")


def _reading_value(value: float) -> str:
    """Three decimals at most, no float noise, no exponent (312.5, not 312.50000000000006)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
