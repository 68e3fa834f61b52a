"""reports warms the what-if answers after carbon's scheduled refresh, through carbon's signal
(carbon may not import reports)."""

from __future__ import annotations

import pytest

from carbon import tasks
from reports import whatif

pytestmark = pytest.mark.django_db


@pytest.fixture
def warm_calls(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(whatif, "warm", lambda: calls.append(1) or 0)
    return calls


def test_the_scheduled_refresh_warms_the_what_if_answers(settings, warm_calls) -> None:
    settings.WHATIF_PRECOMPUTE = True
    summary = tasks.refresh_all_zones()
    assert summary["zones"] == 12 and warm_calls == [1]


def test_it_does_not_when_the_precompute_is_off(settings, warm_calls) -> None:
    settings.WHATIF_PRECOMPUTE = False
    tasks.refresh_all_zones()
    assert warm_calls == []
