"""One formatter for quantities in the browser too: static/js/quantities.js writes every value
as hyperweb/lib/units.py does, and the new-backup estimate box writes its masses with it (no kg
format of its own). Headless Debian chromium; a screenshot goes to var/test-artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from accounts.roles import ensure_roles
from hyperweb.lib import units
from tests.dashboard.conftest import PASSWORD, sign_in
from tests.dashboard.test_e2e_actions import ARTIFACTS, _page, chromium  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser]

MASSES = [
    0,
    2e-7,
    -3e-7,
    8.5e-7,
    9.99e-6,
    1e-5,
    -9e-6,
    1e-6,
    0.00012345,
    0.000999,
    0.001,
    0.0123,
    0.0995,
    0.1234,
    0.999,
    1,
    1.005,
    1.2345,
    12.25,
    12.35,
    99.95,
    100,
    123.5,
    124.5,
    999.4,
    999.5,
    1000,
    1234.5,
    12345.678,
    1e6,
    -0.5,
    -12.3,
]
ENERGIES = [0, 5e-7, 2.34e-6, 1e-5, 0.000105, 0.105, 0.5, 1, 1.25, 10.05, 999, 1000, 2400, 123456]
BYTES = [0, 1, 999, 1000, 1500, 315e6, 314_572_800, 1.2e9, 2.5e6, 999_999, 1e12, 1.5e15, 1234.5]
GBS = [0.0025, 0.315, 1.2, 200, 1500, 0.0000005]


@pytest.mark.django_db(transaction=True)
def test_it_writes_quantities_in_the_browser_as_the_server_does(
    live_server: Any,
    chromium: Any,  # noqa: F811
    tmp_path: Path,
    settings: Any,
) -> None:
    from django.utils import timezone

    from carbon.services import load_demo_data

    ensure_roles()
    get_user_model().objects.create_superuser("admin", password=PASSWORD)
    load_demo_data(days=2, now=timezone.now())
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    vm = tmp_path / "db-01.raw"
    vm.write_bytes(b"\0" * 3_000_000)
    errors: list[str] = []
    page = _page(chromium, errors, locale="de-DE")  # the rule, not the browser's locale, decides
    sign_in(page, live_server.url)
    page.goto(live_server.url + "/backups/new")

    written = page.evaluate(
        """([m, e, b, g]) => {
          const q = window.hyperwebQuantities;
          return {co2: m.map(q.co2), energy: e.map(q.energy), bytes: b.map(q.dataBytes), gb: g.map(q.dataGb)};
        }""",
        [MASSES, ENERGIES, BYTES, GBS],
    )
    assert written["co2"] == [units.co2(v) for v in MASSES]
    assert written["energy"] == [units.energy(v) for v in ENERGIES]
    assert written["bytes"] == [units.data_bytes(v) for v in BYTES]
    assert written["gb"] == [units.data_gb(v) for v in GBS]

    # The estimate box: the masses the API answered, written by the server's rule.
    page.select_option("#id_zone", "DE")
    with page.expect_response(lambda r: r.url.endswith("/estimate") and r.request.method == "POST") as answer:
        page.fill("#id_vm_path", str(vm))
    page.wait_for_selector("#estimate :text('Start now')")
    body = answer.value.json()
    box = page.inner_text("#estimate")
    assert f"Start now: {units.co2(body['current_emissions_kg_co2'])} CO2" in box, box
    assert f"saves {units.co2(body['savings_kg_co2'])} CO2" in box or "Start now: no" in box, box
    assert "the VM measured 3.00 MB" in box
    page.screenshot(path=str(ARTIFACTS / "quantities-estimate.png"), full_page=True)
    assert not errors, errors
