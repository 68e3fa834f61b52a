"""Regret on the pages: backups that ran dirtier than had they started when requested."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client

from carbon.models import Zone
from tests.dashboard.conftest import completed_job


def test_the_savings_page_says_how_many_backups_ran_dirtier_and_by_how_much(
    viewer: Client, now: Any, django_assert_max_num_queries: Any
) -> None:
    de = Zone.objects.get(code="DE")
    completed_job(de, when=now - timedelta(days=3), emitted=2.0, counterfactual=3.0)
    completed_job(de, when=now - timedelta(days=2), emitted=1.5, counterfactual=1.25)  # 0.25 kg worse
    completed_job(de, when=now - timedelta(days=1), emitted=0.75, counterfactual=0.5)  # 0.25 kg worse
    completed_job(
        de, when=now - timedelta(days=1), emitted=7.0, counterfactual=5.0, accounting={"signal": "marginal"}
    )
    with django_assert_max_num_queries(8):
        body = viewer.get("/savings").content.decode().replace("\xa0", " ")  # quantities keep their unit on the line
    # Average-signal backups only, as every headline figure; the marginal one is not counted.
    assert "2 of 3 backups ran dirtier than had they started when requested: 500 g more in total" in body


def test_the_savings_page_says_when_no_backup_ran_dirtier(viewer: Client, now: Any) -> None:
    completed_job(Zone.objects.get(code="DE"), when=now - timedelta(days=1), emitted=2.0, counterfactual=3.0)
    assert (
        "No backup ran dirtier than had it started when requested." in viewer.get("/savings").content.decode()
    )


def test_the_what_if_replay_says_how_many_backups_waiting_made_dirtier(
    viewer: Client, now: Any, workers_inline: None
) -> None:
    # workers_inline: the replay the page hands to the workers runs at once (django-q2 sync mode).
    from carbon.services import load_demo_data

    load_demo_data(days=20, now=now)  # the model's 15 days of history, then 5 days replayed
    body = viewer.get("/what-if?zone=DE&duration_hours=1&flexibility_hours=6&days=30").content.decode()
    assert "Without foresight" in body
    sentence = body.split('id="made-worse">', 1)[1].split("</p>", 1)[0]
    assert sentence.startswith("Waiting does not always pay: ")
    assert "would have emitted more than starting at once" in sentence
    assert sentence.endswith("with the balanced risk setting.")


def test_the_backup_page_says_how_sure_the_plan_is(viewer: Client, now: Any) -> None:
    from tests.dashboard.conftest import make_job

    decision = {
        "start": "2026-01-01T03:00:00Z",
        "reason": "Best 1 h window 03:00-04:00 UTC averages 70 g/kWh vs 100 starting now.",
        "strategy": "best_window",
        "expected_intensity": 70.0,
        "now_intensity": 100.0,
        "expected_saving_pct": 30.0,
        "inputs": {
            "risk": "balanced",
            "sureness": {
                "forecast_saving_pct": 30.0,
                "likely_saving_pct": 12.4,
                "worst_saving_pct": -4.2,
                "worst_more_pct": 4.2,
                "error_issues": 112,
            },
        },
    }
    job = make_job(Zone.objects.get(code="DE"), now=now, carbon_aware=True, decision=decision)
    body = viewer.get(f"/backups/{job.pk}").content.decode()
    sentence = body.split('id="sureness">', 1)[1].split("</p>", 1)[0]
    assert "likely saving <strong>12 %</strong>" in sentence
    assert "at worst <strong>+4 %</strong> more CO2" in sentence
    assert "learned from 112 past forecasts; risk setting balanced" in sentence
