"""Backtest benchmark: the 12 combinations of the issue's targets, with HyperSDK beside.

    .venv/bin/python benchmarks/bench_backtest.py [--data data/grid] [--naive] [--oracle]
        [--workers 2] [--json]

(DE, FR) x (2 h job / 4 h delay, 2 h / 8 h, 1 h / 24 h) x (perfect, model forecast), jobs every
30 min from 2020-01-01 to 2020-12-31, run through scheduler.backtest.run_backtest (the code behind
`manage.py backtest`). Each forecast (but `perfect`, where re-planning cannot change anything) is
run twice: decided once at submission, and re-planned at every hourly forecast issue as the
product does. `--naive` adds a seasonal-naive forecast (same time yesterday) for comparison with
the model; `--oracle` adds FR replays on a cheating forecast (the exact next 1 h / 2 h, then the
model). Prints markdown tables for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from carbon.intensity import StepSeries  # noqa: E402
from carbon.providers.csvfile import parse_csv  # noqa: E402
from scheduler.backtest import BacktestConfig, run_backtest  # noqa: E402

COMBOS = ((2, 4), (2, 8), (1, 24))
REFERENCE = {  # data/grid/README.md, best possible saving
    ("DE", 2, 4): 6.5,
    ("DE", 2, 8): 11.2,
    ("DE", 1, 24): 22.3,
    ("FR", 2, 4): 5.0,
    ("FR", 2, 8): 8.2,
    ("FR", 1, 24): 16.3,
}
# Same time yesterday, nothing else: the seasonal-naive baseline the model must beat.
SEASONAL_NAIVE = {"days": 1, "week_weight": 0.0, "smooth_min": 0, "decay_per_h": 1e-9}


def oracle(series: StepSeries, config: BacktestConfig, hours: float) -> Callable[[datetime], StepSeries]:
    """A forecast that cheats: the ACTUAL next ``hours`` after each issue, then the model's own
    forecast shifted to join it. It measures how far knowing the near future exactly (the best
    any nowcast could do) takes the re-planned planner; not a product feature."""
    from scheduler.backtest import _Grid, _issue_forecast  # the replay's own model issue

    grid = _Grid(series)
    span = config.max_delay + config.duration + config.refresh + timedelta(seconds=grid.step)

    def issue_at(issue: datetime) -> StepSeries:
        steps = _issue_forecast("model", 0.0, grid, issue.timestamp(), span, config)
        out, offset = [], 0.0
        for s, e, v in steps:
            i = grid.index(s.timestamp())
            real = grid.values[i] if 0 <= i < len(grid.values) else None
            if (s - issue).total_seconds() < hours * 3600:
                if real is not None:
                    offset, v = real - v, real
            else:
                v = max(0.0, v + offset)
            out.append((s, e, v))
        return StepSeries.from_steps(out)

    return issue_at


def run_one(data: Path, zone: str, d: int, m: int, forecast: str, params: dict | None, replan: bool) -> dict:
    """One replay (in a worker process: the series is parsed there, not pickled)."""
    path = data / f"{zone.lower()}_2020_ci.csv.gz"
    series = StepSeries.from_steps((r.start, r.end, r.value) for _, r in parse_csv(path))
    config = BacktestConfig(
        duration=timedelta(hours=d),
        max_delay=timedelta(hours=m),
        start=datetime(2020, 1, 1, tzinfo=UTC),
        end=datetime(2021, 1, 1, tzinfo=UTC),
        forecast=forecast,
        forecast_params=params,
        replan=replan,
    )
    forecasts = None
    if forecast.startswith("oracle:"):
        config = replace(config, forecast="model")
        forecasts = oracle(series, config, float(forecast[7:]))
    t = time.perf_counter()
    result = run_backtest(series, config, forecasts=forecasts)
    secs = time.perf_counter() - t
    p = result.policies
    label = "seasonal naive" if params else forecast
    print(f"{zone} {d}h/{m}h {label} replan={replan}: done in {secs:.1f} s", file=sys.stderr)
    return {
        "zone": zone,
        "duration_h": d,
        "max_delay_h": m,
        "forecast": label,
        "replan": replan,
        "jobs": result.jobs,
        "optimum_pct": p["optimum"].saving_pct,
        "reference_pct": REFERENCE[(zone, d, m)],
        "hyperweb_pct": p["hyperweb"].saving_pct,
        "share_of_optimum": p["hyperweb"].share_of_optimum,
        "hypersdk_pct": p["hypersdk"].saving_pct,
        "hypersdk_share": p["hypersdk"].share_of_optimum,
        "run_now_kg": p["run_now"].emissions_kg,
        "hyperweb_kg": p["hyperweb"].emissions_kg,
        "seconds": secs,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parent.parent / "data" / "grid"
    )
    ap.add_argument("--naive", action="store_true", help="also run the seasonal-naive forecast")
    ap.add_argument(
        "--oracle", action="store_true", help="also FR re-planned with the exact next 1 h / 2 h (cheating)"
    )
    ap.add_argument("--workers", type=int, default=2, help="replays run in parallel (default 2)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    modes = [("perfect", None)]
    if args.naive:
        modes.append(("model", SEASONAL_NAIVE))
    modes.append(("model", None))
    runs = []
    for zone in ("DE", "FR"):
        for d, m in COMBOS:
            for forecast, params in modes:
                for replan in (False, True) if forecast != "perfect" else (False,):
                    runs.append((args.data, zone, d, m, forecast, params, replan))
            if args.oracle and zone == "FR":
                runs += [(args.data, zone, d, m, f"oracle:{h}", None, True) for h in (1, 2)]
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        rows = list(pool.map(run_one, *zip(*runs, strict=True)))

    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print_table(rows)
    oracles = [r for r in rows if r["forecast"].startswith("oracle:")]
    if oracles:
        print("\n| zone | job | may start up to | exact future known | share of optimum (re-planned) |")
        print("|---|---|---|---|---|")
        for r in oracles:
            print(
                f"| {r['zone']} | {r['duration_h']} h | {r['max_delay_h']} h later "
                f"| next {r['forecast'][7:]} h | {r['share_of_optimum']:.2f} |"
            )


def print_table(rows: list[dict]) -> None:
    """One line per zone and job: the shares side by side (decided once vs re-planned)."""
    print(
        "| zone | job | may start up to | optimum saving (reference) | perfect | model, decided once "
        "| **model, re-planned** | seasonal naive, once / re-planned | HyperSDK saving (share) "
        "| run-now kg | hyperweb kg (model, re-planned) | time: perfect / model once / re-planned |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    by = {(r["zone"], r["duration_h"], r["max_delay_h"], r["forecast"], r["replan"]): r for r in rows}
    for zone in ("DE", "FR"):
        for d, m in COMBOS:
            k = (zone, d, m)
            perfect, once, again = (
                by[(*k, "perfect", False)],
                by[(*k, "model", False)],
                by[(*k, "model", True)],
            )
            naive = ""
            if (*k, "seasonal naive", False) in by:
                n1, n2 = by[(*k, "seasonal naive", False)], by[(*k, "seasonal naive", True)]
                naive = f"{n1['share_of_optimum']:.2f} / {n2['share_of_optimum']:.2f}"

            def cell(r: dict) -> str:
                return f"{r['share_of_optimum']:.2f} ({r['hyperweb_pct']:.2f} %)"

            print(
                f"| {zone} | {d} h | {m} h later | {perfect['optimum_pct']:.2f} % ({perfect['reference_pct']} %) "
                f"| {perfect['share_of_optimum']:.2f} | {cell(once)} | **{cell(again)}** | {naive} "
                f"| {again['hypersdk_pct']:.2f} % ({again['hypersdk_share']:.2f}) "
                f"| {again['run_now_kg']:,.1f} | {again['hyperweb_kg']:,.1f} "
                f"| {perfect['seconds']:.0f} / {once['seconds']:.0f} / {again['seconds']:.0f} s |"
            )


if __name__ == "__main__":
    main()
