"""The backup page's "why this start" estimate uses the one energy model (carbon.services), as the
accounting does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from carbon.models import Zone
from scheduler.accounting import EnergyModel
from tests.dashboard.conftest import make_job


def test_it_estimates_the_decisions_energy_with_the_accounting_energy_model(
    viewer: Client, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A model no setting could produce: if the page built its own from settings, the figures differ.
    model = EnergyModel(base_watts=1000.0, watts_per_tb=0.0, pue=2.0)
    monkeypatch.setattr("carbon.services.energy_model", lambda: model)
    job = make_job(
        Zone.objects.get(code="DE"),
        now=now,
        data_size_gb=500.0,
        decision={"decided_at": now.isoformat(), "now_intensity": 400.0, "expected_intensity": 100.0},
    )
    why: Any = viewer.get(f"/backups/{job.pk}").context["why"]
    assert why["expected_kwh"] == pytest.approx(2.0)  # 1 kW x 1 h x PUE 2
    assert why["now_kg"] == pytest.approx(0.8) and why["chosen_kg"] == pytest.approx(0.2)
