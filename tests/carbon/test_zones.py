import pytest

from carbon.models import Zone

pytestmark = pytest.mark.django_db


def test_it_loads_the_twelve_default_zones():
    codes = set(Zone.objects.values_list("code", flat=True))
    assert codes == {
        "US-CAL-CISO",
        "US-NEISO",
        "US-PJM",
        "US-MISO",
        "SE",
        "DE",
        "GB",
        "FR",
        "JP",
        "AU",
        "SG",
        "IN",
    }


def test_it_maps_a_zone_to_the_providers_own_code():
    jp = Zone.objects.get(code="JP")
    assert jp.code_for("electricitymaps") == "JP-TK"
    assert jp.code_for("simulated") == "JP"
    assert jp.ref("electricitymaps").provider_code == "JP-TK"


def test_it_uses_the_default_chain_unless_the_zone_overrides_it(settings):
    de = Zone.objects.get(code="DE")
    settings.CARBON_PROVIDERS = ["simulated"]
    assert de.provider_chain() == ["simulated"]
    de.providers = "electricitymaps, simulated"
    assert de.provider_chain() == ["electricitymaps", "simulated"]
