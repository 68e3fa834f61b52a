"""The 12 default zones, with the ids HyperSDK's clients use (loaded by a data migration, then editable in the admin)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from carbon.models import Zone

DEFAULT_ZONES: list[dict] = [
    {
        "code": "US-CAL-CISO",
        "name": "California (CAISO)",
        "region": "North America",
        "typical_intensity": 220,
        "timezone": "America/Los_Angeles",
        "provider_codes": {"watttime": "CAISO_NORTH"},
    },
    {
        "code": "US-NEISO",
        "name": "New England (ISO-NE)",
        "region": "North America",
        "typical_intensity": 250,
        "timezone": "America/New_York",
        "provider_codes": {"electricitymaps": "US-NE-ISNE", "watttime": "ISONE_WCMA"},
    },
    {
        "code": "US-PJM",
        "name": "Mid-Atlantic (PJM)",
        "region": "North America",
        "typical_intensity": 380,
        "timezone": "America/New_York",
        "provider_codes": {"electricitymaps": "US-MIDA-PJM", "watttime": "PJM_DC"},
    },
    {
        "code": "US-MISO",
        "name": "Midwest (MISO)",
        "region": "North America",
        "typical_intensity": 450,
        "timezone": "America/Chicago",
        "provider_codes": {"electricitymaps": "US-MIDW-MISO", "watttime": "MISO_INDIANAPOLIS"},
    },
    {
        "code": "SE",
        "name": "Sweden",
        "region": "Europe",
        "typical_intensity": 50,
        "timezone": "Europe/Stockholm",
        "provider_codes": {},
    },
    {
        "code": "DE",
        "name": "Germany",
        "region": "Europe",
        "typical_intensity": 380,
        "timezone": "Europe/Berlin",
        "provider_codes": {},
    },
    {
        "code": "GB",
        "name": "Great Britain",
        "region": "Europe",
        "typical_intensity": 250,
        "timezone": "Europe/London",
        "provider_codes": {},
    },
    {
        "code": "FR",
        "name": "France",
        "region": "Europe",
        "typical_intensity": 60,
        "timezone": "Europe/Paris",
        "provider_codes": {},
    },
    {
        "code": "JP",
        "name": "Japan",
        "region": "Asia-Pacific",
        "typical_intensity": 480,
        "timezone": "Asia/Tokyo",
        "provider_codes": {"electricitymaps": "JP-TK"},
    },
    {
        "code": "AU",
        "name": "Australia",
        "region": "Asia-Pacific",
        "typical_intensity": 670,
        "timezone": "Australia/Sydney",
        "provider_codes": {"electricitymaps": "AU-NSW"},
    },
    {
        "code": "SG",
        "name": "Singapore",
        "region": "Asia-Pacific",
        "typical_intensity": 420,
        "timezone": "Asia/Singapore",
        "provider_codes": {},
    },
    {
        "code": "IN",
        "name": "India",
        "region": "Asia-Pacific",
        "typical_intensity": 710,
        "timezone": "Asia/Kolkata",
        "provider_codes": {"electricitymaps": "IN-NO"},
    },
]


def load_default_zones(zone_model: type[Zone]) -> None:
    """Create the default zones that are missing (existing rows, maybe edited, are kept).

    Takes the model class so the data migration can pass its historical model.
    """
    for zone in DEFAULT_ZONES:
        fields = dict(zone)
        code = fields.pop("code")
        fields["description"] = f"{fields['name']} grid, {fields['region']}"
        zone_model.objects.get_or_create(code=code, defaults=fields)
