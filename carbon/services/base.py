"""Errors, zone lookup and the clock shared by the carbon services."""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from carbon.intensity import EnergyModel
from carbon.models import Zone


class UnknownZone(LookupError):
    """No zone has that code."""

    def __init__(self, code: str) -> None:
        message = f"unknown zone {code!r}"
        grid = NOT_TRACKED.get(code.upper())
        if grid:
            message += f" (HyperSDK's id for {grid}: not one of hyperweb's zones unless an admin adds it)"
        super().__init__(message)
        self.code = code


class NoData(LookupError):
    """Nothing is stored for what was asked and no provider could supply it: never guess."""


# HyperSDK's Go daemon names three of the default zones by their Electricity Maps sub-zone (its
# OpenAPI file uses the same ids as hyperweb). They are the same grid areas, so they are aliases:
# the zone found answers with its own code. Its other three ids (US-NW-PACW, CN-BJ, CN-SH) are
# grids hyperweb does not track by default; an admin may add zones with those codes.
ZONE_ALIASES = {"JP-TK": "JP", "AUS-NSW": "AU", "IN-NO": "IN"}
NOT_TRACKED = {
    "US-NW-PACW": "the US Pacific Northwest",
    "CN-BJ": "Beijing",
    "CN-SH": "Shanghai",
}


def get_zone(code: str) -> Zone:
    """The zone with that code, case-insensitively (``de`` finds ``DE``), or by a HyperSDK alias
    (``JP-TK`` finds ``JP``) when no zone has that code itself."""
    text = (code or "").strip()
    zone = Zone.objects.filter(code__iexact=text).first() if text else None
    if zone is None and text.upper() in ZONE_ALIASES:
        zone = Zone.objects.filter(code__iexact=ZONE_ALIASES[text.upper()]).first()
    if zone is None:
        raise UnknownZone(text)
    return zone


def resolve_now(now: datetime | None) -> datetime:
    """`now` as an aware UTC datetime (naive means UTC, as on the wire)."""
    if now is None:
        return timezone.now()
    if timezone.is_naive(now):
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def energy_model() -> EnergyModel:
    """The energy model from settings: the one every estimate, job accounting and report uses."""
    return EnergyModel(
        base_watts=settings.ENERGY_BASE_WATTS,
        watts_per_tb=settings.ENERGY_WATTS_PER_TB,
        pue=settings.ENERGY_PUE,
    )
