"""The replay's figures are bit for bit those of the code before its speed-ups.

golden/replay.json holds every figure (every policy's emissions, savings, delays, shares and
regret, as exact floats) of the cases below, computed by the replay code of commit ce4d961 (before
the risk bookkeeping and the planner's replay path were made cheaper), with the risk settings'
parameters of b87f8f4 (the hedge rule: the same code, other figures). Any change of the
arithmetic, of a decision or of the risk rule's choices shows here as a difference.

Regenerate (only when a figure is MEANT to change, saying why in the commit):
    .venv/bin/python -m tests.scheduler.test_backtest_golden
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from carbon.intensity import StepSeries
from carbon.providers.csvfile import parse_csv
from scheduler.backtest import BacktestConfig, run_backtest

DATA = Path(__file__).resolve().parents[2] / "data" / "grid"
GOLDEN = Path(__file__).resolve().parent / "golden" / "replay.json"
H = timedelta(hours=1)


def _grid(name: str, *, start: datetime, days: int, step_minutes: int) -> StepSeries:
    """`days` of the 2020 curve from `start`, at `step_minutes` (a finer step repeats values)."""
    readings = [r for _, r in parse_csv(DATA / f"{name}_2020_ci.csv.gz")]
    first = next(i for i, r in enumerate(readings) if r.start >= start)
    step = timedelta(minutes=step_minutes)
    per = step_minutes / 15
    return StepSeries.from_steps(
        (start + i * step, start + (i + 1) * step, readings[first + int(i * per)].value)
        for i in range(days * 1440 // step_minutes)
    )


MARCH = datetime(2020, 3, 1, tzinfo=UTC)


def cases() -> dict[str, tuple[str, int, int, list[tuple[str, BacktestConfig]]]]:
    """name -> (zone, days of data, step minutes, [(label, config)]): the configs of one series
    share one forecast issue cache, as the what-if's workers share it."""
    start = MARCH + timedelta(days=16)
    two_four = {"duration": 2 * H, "max_delay": 4 * H, "forecast": "model", "start": start}
    return {
        "de_15min": (
            "de",
            30,
            15,
            [
                (risk, BacktestConfig(**two_four, risk=risk))  # type: ignore[arg-type]
                for risk in ("balanced", "cautious", "greedy")
            ]
            + [
                ("balanced_no_replan", BacktestConfig(**two_four, replan=False)),  # type: ignore[arg-type]
                ("balanced_1h_8h", BacktestConfig(**{**two_four, "duration": H, "max_delay": 8 * H})),  # type: ignore[arg-type]
            ],
        ),
        # The what-if's own path: 5-minute readings (the benchmark's), a 2 h job, a 4 h wait.
        "de_5min": ("de", 24, 5, [("balanced", BacktestConfig(**two_four))]),  # type: ignore[arg-type]
        "fr_15min": (
            "fr",
            20,
            15,
            [
                ("balanced_1h_24h", BacktestConfig(**{**two_four, "duration": H, "max_delay": 24 * H})),  # type: ignore[arg-type]
                ("noisy10_balanced", BacktestConfig(**{**two_four, "forecast": "noisy:10"})),  # type: ignore[arg-type]
            ],
        ),
    }


def figures() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (zone, days, step, configs) in cases().items():
        series = _grid(zone, start=MARCH, days=days, step_minutes=step)
        issues: dict[float, list[float | None]] = {}
        for label, config in configs:
            shared = issues if config.forecast == "model" else None
            result = run_backtest(series, config, issue_cache=shared)
            out[f"{name}:{label}"] = {
                "jobs": result.jobs,
                "no_data": result.no_data,
                "first_submit": result.first_submit.isoformat(),
                "last_submit": result.last_submit.isoformat(),
                "policies": {p: asdict(r) for p, r in result.policies.items()},
            }
    return out


def test_the_replay_figures_are_those_of_the_code_before_its_speed_ups():
    expected = json.loads(GOLDEN.read_text())
    got = json.loads(json.dumps(figures()))  # floats round-trip exactly through JSON
    assert set(got) == set(expected)
    for case in expected:
        assert got[case] == expected[case], case
    # The cases exercise what they are meant to: the risk rule sends jobs waiting, some worse.
    balanced = expected["de_15min:balanced"]["policies"]["hyperweb"]
    assert balanced["mean_delay_min"] > 0 and balanced["worse_share_pct"] > 0
    assert expected["de_15min:balanced"] != expected["de_15min:greedy"]


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hyperweb.settings")
    django.setup()
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(figures(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
