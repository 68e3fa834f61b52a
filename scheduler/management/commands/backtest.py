"""`manage.py backtest`: replay a historical intensity file and compare scheduling policies.

    manage.py backtest --csv PATH --duration 2h --max-delay 4h [--every 30m]
        [--start 2020-01-01 --end 2020-12-31] [--forecast perfect|model|noisy:PCT] [--seed N]
        [--no-replan] [--replan-every 15m] [--risk cautious|balanced|greedy] [--json]

hyperweb's jobs are re-planned on every newer forecast while they wait, as the product does
(scheduler.backtest); --no-replan decides once at submission, for comparison.

The replay itself is scheduler.backtest (pure); this command parses, loads the file and prints.
Bad input (a missing file, a bad duration or date) is one line on stderr and exit status 2.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from carbon.intensity import StepSeries
from carbon.providers.csvfile import parse_csv
from hyperweb.lib import durations
from hyperweb.lib.timefmt import parse_instant
from scheduler.backtest import BacktestConfig, format_table, parse_duration, parse_forecast, run_backtest
from scheduler.uncertainty import risk_rule

BAD_INPUT = 2


def _date(text: str, name: str) -> datetime:
    try:
        return parse_instant(text)  # hyperweb.lib.timefmt: a date alone is its midnight UTC
    except ValueError:
        raise CommandError(f"{name}: {text!r} is not a date (YYYY-MM-DD)", returncode=BAD_INPUT) from None


class Command(BaseCommand):
    # An offline computation on a file: no database, so no reason to run (or wait on) system checks.
    requires_system_checks: list[str] = []
    help = (
        "Replay a historical carbon-intensity CSV: emissions of run-now, HyperSDK, hyperweb and the optimum."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--csv", required=True, help="intensity file (Time,Carbon Intensity or time,value)"
        )
        parser.add_argument("--zone", default=None, help="zone to replay when the file holds several")
        parser.add_argument("--duration", default="2h", help=f"job length (default 2h): {durations.HELP}")
        parser.add_argument(
            "--max-delay",
            default="4h",
            help=f"latest start after submission (default 4h; 0: at once): {durations.HELP}",
        )
        parser.add_argument(
            "--every", default="30m", help=f"a job is submitted every ... (default 30m): {durations.HELP}"
        )
        parser.add_argument(
            "--start",
            default=None,
            help="first submission date (default: data start + 15 days, the model's history)",
        )
        parser.add_argument("--end", default=None, help="last submission date, inclusive (default: data end)")
        parser.add_argument(
            "--forecast", default="perfect", help="perfect | model | noisy:PCT (default perfect)"
        )
        parser.add_argument("--seed", type=int, default=0, help="seed of the noisy forecast")
        parser.add_argument(
            "--data-gb", type=float, default=100.0, help="data size of every job (default 100)"
        )
        parser.add_argument(
            "--no-replan",
            action="store_true",
            help="hyperweb decides once at submission (default: re-planned on every newer forecast)",
        )
        parser.add_argument(
            "--replan-every",
            default=None,
            help=(
                "re-plan waiting jobs every ... (default: CARBON_REFRESH_MINUTES, as the product): "
                + durations.HELP
            ),
        )
        parser.add_argument(
            "--risk",
            default=None,
            help="forecast risk hyperweb takes: cautious | balanced | greedy (default: BACKUP_RISK)",
        )
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, **opts) -> None:
        try:
            duration = parse_duration(opts["duration"])
            max_delay = durations.parse_duration(opts["max_delay"])  # 0: start on submission
            every = parse_duration(opts["every"])
            replan_every = (
                parse_duration(opts["replan_every"])
                if opts["replan_every"]
                else timedelta(minutes=settings.CARBON_REFRESH_MINUTES)
            )
            parse_forecast(opts["forecast"])
            risk = opts["risk"] or settings.BACKUP_RISK
            risk_rule(risk)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from None
        start = _date(opts["start"], "--start") if opts["start"] else None
        # --end is a date: the whole day is included.
        end = _date(opts["end"], "--end") + timedelta(days=1) if opts["end"] else None
        if opts["data_gb"] <= 0:
            raise CommandError("--data-gb must be positive", returncode=BAD_INPUT)

        series = self._load(opts["csv"], opts["zone"])
        config = BacktestConfig(
            duration=duration,
            max_delay=max_delay,
            every=every,
            start=start,
            end=end,
            forecast=opts["forecast"],
            seed=opts["seed"],
            data_gb=opts["data_gb"],
            replan=not opts["no_replan"],
            replan_every=replan_every,
            risk=risk,
        )
        try:
            result = run_backtest(series, config, progress=self._progress)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from None
        if opts["json"]:
            self.stdout.write(json.dumps(result.to_dict(), indent=2))
        else:
            self.stdout.write(format_table(result))

    def _load(self, path: str, zone: str | None) -> StepSeries:
        steps = []
        zones = set()
        try:
            for row_zone, reading in parse_csv(path, zone=zone):
                zones.add(row_zone)
                if zone is None or row_zone is None or row_zone.upper() == zone.upper():
                    steps.append((row_zone, reading))
        except FileNotFoundError:
            raise CommandError(f"--csv: no such file: {path}", returncode=BAD_INPUT) from None
        except (OSError, ValueError) as exc:
            raise CommandError(f"--csv {path}: {exc}", returncode=BAD_INPUT) from None
        if zone is None and len(zones) > 1:
            names = ", ".join(sorted(z or "?" for z in zones))
            raise CommandError(
                f"--csv holds several zones ({names}): pick one with --zone", returncode=BAD_INPUT
            )
        if not steps:
            raise CommandError(f"--csv {path}: no readings", returncode=BAD_INPUT)
        try:
            return StepSeries.from_steps((r.start, r.end, r.value) for _, r in steps)
        except ValueError as exc:
            raise CommandError(f"--csv {path}: {exc}", returncode=BAD_INPUT) from None

    def _progress(self, done: int, total: int) -> None:
        # stderr, so --json on stdout stays clean; only worth showing for long runs.
        if total >= 2000:
            sys.stderr.write(f"\rbacktest: {done}/{total} jobs")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()
