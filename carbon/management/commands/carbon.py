"""`manage.py carbon`: zone status, zones, forecast, estimate, import, refresh and prune at a terminal.

Readable coloured tables for people (no colour when the output is not a terminal, or with
--no-color), `--json` for scripts. Times are ISO 8601 (naive means UTC) or relative: `now`,
`2h ago`, `in 30m`, `+1d`. An unknown zone, a bad number or a bad time prints one line on stderr
and exits with code 2. The argument grammar is in _carbon_args.py, the printed shapes (table rows,
JSON) in _carbon_output.py.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from carbon import services
from carbon.intensity import quality
from carbon.management.commands._carbon_args import parse_number, parse_when
from carbon.management.commands._carbon_output import (
    buckets,
    estimate_json,
    forecast_json,
    forecast_rows,
    iso,
    quality_style,
    relative,
    status_json,
    zone_json,
)
from carbon.models import CarbonReading, Zone
from hyperweb.lib import units
from hyperweb.lib.durations import HELP as DURATION_HELP
from hyperweb.lib.durations import parse_duration, parse_hours

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Carbon intensity at a terminal: status, zones, forecast, estimate, import, refresh, prune."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{status,zones,forecast,estimate,import,refresh,prune}"
        )

        def command(name: str, help_text: str, *, zone: str | None = "required") -> CommandParser:
            p = sub.add_parser(name, help=help_text, description=help_text)
            if zone == "required":
                p.add_argument("--zone", required=True, help="zone code, e.g. DE")
            elif zone == "optional":
                p.add_argument("--zone", help="zone code, e.g. DE (default: all active zones)")
            p.add_argument("--json", action="store_true", help="machine-readable output")
            # Also accepted after the subcommand; SUPPRESS keeps a value given before it.
            p.add_argument("--no-color", action="store_true", default=argparse.SUPPRESS, help="no colours")
            return p

        p = command("status", "The zone's intensity now, its quality and source, and the next hours.")
        p.add_argument("--at", default="now", help="as of this time (ISO or relative, default now)")
        p.add_argument("--hours", default="4", help="forecast hours to show (default 4)")
        command("zones", "The zones hyperweb tracks.", zone=None)
        p = command("forecast", "The zone's intensity from now on, averaged per --every.")
        p.add_argument("--hours", default="24", help="hours ahead (default 24)")
        p.add_argument("--at", default="now", help="from this time (ISO or relative, default now)")
        p.add_argument(
            "--every", default="1h", help=f"averaging step (default 1h; 0 = raw steps): {DURATION_HELP}"
        )
        p = command("estimate", "Emissions of a backup now versus its best window.")
        p.add_argument("--data", required=True, help="data size in GB")
        p.add_argument("--hours", default="2", help=f"backup duration (default 2 h): {DURATION_HELP}")
        p.add_argument(
            "--max-delay",
            default=None,
            help=f"latest start (default {settings.CARBON_ESTIMATE_HORIZON_HOURS:g}h): {DURATION_HELP}",
        )
        p.add_argument("--at", default="now", help="as of this time (ISO or relative, default now)")
        p = command(
            "import",
            "Import a CSV file of readings (stored once; re-importing changes nothing).",
            zone="optional",
        )
        p.add_argument("path", help="CSV file: 'Time,Carbon Intensity' or 'time,value[,zone]'")
        p.add_argument("--format", dest="fmt", choices=services.FORMATS, default="auto")
        p = command(
            "refresh", "Fetch from the providers now (only what is stale, unless --force).", zone="optional"
        )
        p.add_argument("--force", action="store_true", help="ask even within the providers' TTL")
        p.add_argument("--at", default="now", help=argparse.SUPPRESS)  # for tests and replays
        p = command(
            "prune",
            "Delete old forecast issues, keeping the first issue of each UTC day (actuals untouched).",
            zone=None,
        )
        p.add_argument(
            "--keep-days",
            default=None,
            help=f"keep every issue of the last N days (default {settings.CARBON_FORECAST_RETENTION_DAYS})",
        )
        p.add_argument("--at", default="now", help=argparse.SUPPRESS)  # for tests and replays

    def handle(self, *args: object, subcommand: str, **options: Any) -> None:
        self.color = bool(options.get("force_color")) or (
            not options.get("no_color") and self.stdout.isatty()
        )
        handler: Callable[..., None] = getattr(self, f"do_{subcommand}")
        # The fetch and retention logs are for the server's log; at a terminal the tables say it
        # (-v 2 shows them).
        quiet = [logging.getLogger(name) for name in ("carbon.fetch", "carbon.retention")]
        levels = [logger.level for logger in quiet]
        if int(options.get("verbosity", 1)) < 2:
            for logger in quiet:
                logger.setLevel(logging.WARNING)
        try:
            handler(**options)
        except (services.UnknownZone, ValueError) as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from None
        except services.NoData as exc:
            raise CommandError(str(exc), returncode=1) from None
        finally:
            for logger, level in zip(quiet, levels, strict=True):
                logger.setLevel(level)

    # -- output helpers ---------------------------------------------------------------------------

    def paint(self, text: str, style: str | None) -> str:
        if not self.color or not style:
            return text
        return getattr(self.style, style)(text)

    def emit_json(self, data: object) -> None:
        self.stdout.write(
            json.dumps(data, indent=2, default=lambda o: iso(o) if isinstance(o, datetime) else str(o))
        )

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[tuple[str, str | None]]]) -> None:
        widths = [len(h) for h in headers]
        for row in rows:
            for i, (text, _) in enumerate(row):
                widths[i] = max(widths[i], len(text))
        line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
        self.stdout.write(self.paint(line, "MIGRATE_HEADING"))
        for row in rows:
            cells = [self.paint(t.ljust(w), style) for (t, style), w in zip(row, widths, strict=True)]
            self.stdout.write("  ".join(cells).rstrip())

    def now(self, options: dict) -> datetime:
        return parse_when(str(options.get("at") or "now"), timezone.now())

    # -- subcommands ------------------------------------------------------------------------------

    def do_status(self, *, zone: str, json: bool, **options: object) -> None:
        now = self.now(options)
        hours = parse_number(str(options["hours"]), "--hours", positive=False)
        z = services.get_zone(zone)
        current = services.current_intensity(z, now=now)
        entries = (
            buckets(services.forecast_points(z, now=now, hours=hours), timedelta(hours=1)) if hours else []
        )
        if json:
            self.emit_json(status_json(z, current, now, entries))
            return
        badges = []
        if current.simulated:
            badges.append(self.paint("[simulated]", "NOTICE"))
        if current.stale:
            badges.append(self.paint("[stale]", "ERROR"))
        if current.estimated:
            badges.append(self.paint("[estimated]", "WARNING"))
        if current.kind == "forecast":
            badges.append(self.paint("[forecast]", "WARNING"))
        self.stdout.write(
            f"{self.paint(z.code, 'MIGRATE_HEADING')}  {z.name}: "
            f"{self.paint(f'{current.value:.0f} gCO2/kWh', quality_style(current.quality))} "
            f"{self.paint(current.quality, quality_style(current.quality))}  {' '.join(badges)}".rstrip()
        )
        self.stdout.write(
            f"  {current.start:%Y-%m-%d %H:%M}-{current.end:%H:%M} UTC ({relative(current.start, now)}), "
            f"{current.kind}, {current.signal} signal, source {current.source}"
            + (
                f", {current.renewable_percent:.0f} % renewable"
                if current.renewable_percent is not None
                else ""
            )
        )
        if entries:
            self.stdout.write("")
            self.table(["time (UTC)", "gCO2/kWh", "quality", "kind", "source"], forecast_rows(entries))

    def do_zones(self, *, json: bool, **options: object) -> None:
        zones = list(Zone.objects.order_by("code"))
        if json:
            self.emit_json({"zones": [zone_json(z) for z in zones], "total": len(zones)})
            return
        latest = {}
        for z in zones:
            latest[z.pk] = (
                CarbonReading.objects.filter(zone=z, kind="actual")
                .order_by("-start")
                .only("start", "value")
                .first()
            )
        now = timezone.now()
        rows = []
        for z in zones:
            reading = latest[z.pk]
            last = f"{reading.value:.0f} ({relative(reading.start, now)})" if reading else "no data"
            rows.append(
                [
                    (z.code, "MIGRATE_LABEL"),
                    (z.name, None),
                    (z.region, None),
                    (f"{z.typical_intensity:.0f}", None),
                    (z.timezone, None),
                    (_chain(z), None),
                    ("yes" if z.active else "no", None if z.active else "WARNING"),
                    (last, None if reading else "WARNING"),
                ]
            )
        self.table(["code", "name", "region", "typical", "timezone", "providers", "active", "latest"], rows)

    def do_forecast(self, *, zone: str, json: bool, **options: object) -> None:
        now = self.now(options)
        hours = parse_number(str(options["hours"]), "--hours")
        every = parse_duration(str(options["every"]))
        z = services.get_zone(zone)
        points = services.forecast_points(z, now=now, hours=hours)
        entries = buckets(points, every)
        if json:
            self.emit_json({"zone": z.code, "as_of": now, "hours": hours, "forecast": forecast_json(entries)})
            return
        if not entries:
            self.stdout.write(self.paint(f"{z.code}: no forecast stored for the next {hours:g} h", "WARNING"))
            return
        simulated = any(p.simulated for p in points)
        self.stdout.write(
            f"{self.paint(z.code, 'MIGRATE_HEADING')}  {z.name}: next {hours:g} h"
            + (f"  {self.paint('[simulated]', 'NOTICE')}" if simulated else "")
        )
        self.table(["time (UTC)", "gCO2/kWh", "quality", "kind", "source"], forecast_rows(entries))

    def do_estimate(self, *, zone: str, json: bool, **options: object) -> None:
        now = self.now(options)
        data_gb = parse_number(str(options["data"]), "--data")
        hours = parse_hours(str(options["hours"]), positive=True)
        horizon = None
        if options.get("max_delay") is not None:
            horizon = parse_hours(str(options["max_delay"]))
        z = services.get_zone(zone)
        est = services.estimate(z, data_gb, hours, now=now, horizon_hours=horizon)
        if json:
            self.emit_json(estimate_json(est))
            return
        badge = f"  {self.paint('[simulated]', 'NOTICE')}" if est.simulated else ""
        badge += f"  {self.paint('[stale]', 'ERROR')}" if est.stale else ""
        self.stdout.write(
            f"{self.paint(est.zone, 'MIGRATE_HEADING')}  {units.data_gb(est.data_gb)} read over "
            f"{est.duration_hours:g} h = {units.energy(est.energy_kwh)}, start within {est.horizon_hours:g} h{badge}"
        )
        rows = [
            [
                ("now", None),
                (f"{now:%Y-%m-%d %H:%M}", None),
                (f"{est.current_intensity:.0f}", quality_style(quality(est.current_intensity))),
                (units.co2(est.current_emissions_kg), None),
                ("", None),
            ],
            [
                ("best window", "SUCCESS"),
                (f"{est.best_start:%Y-%m-%d %H:%M}", "SUCCESS"),
                (f"{est.best_intensity:.0f}", quality_style(quality(est.best_intensity))),
                (units.co2(est.best_emissions_kg), None),
                (relative(est.best_start, now), None),
            ],
        ]
        self.table(["", "start (UTC)", "gCO2/kWh", "CO2", "delay"], rows)
        self.stdout.write(
            f"saving: {self.paint(f'{units.co2(est.savings_kg)} CO2 ({est.savings_percent:.1f} %)', 'SUCCESS')}"
        )
        self.stdout.write(est.recommendation)

    def do_import(self, *, path: str, zone: str | None, fmt: str, json: bool, **options: object) -> None:
        file = Path(path)
        if file.is_dir():
            raise ValueError(f"{path} is a directory; give the CSV file")
        if not file.is_file():
            raise ValueError(f"no such file: {path}")
        interactive = not json and self.stderr.isatty()
        started = time.perf_counter()

        def progress(rows: int) -> None:
            if json:
                return
            message = f"  {rows:,} rows ({time.perf_counter() - started:.1f} s)"
            if interactive:
                self.stderr.write("\r" + message, ending="")
            else:
                self.stderr.write(message)

        result = services.import_readings(file, zone, fmt=fmt, progress=progress)
        if interactive:
            self.stderr.write("")
        seconds = time.perf_counter() - started
        if json:
            self.emit_json(
                {
                    "file": str(file),
                    "zones": result.zones,
                    "rows": result.rows,
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "seconds": round(seconds, 3),
                }
            )
            return
        self.stdout.write(
            self.paint(f"Imported {file.name} into {', '.join(result.zones) or '-'}: ", "SUCCESS")
            + f"{result.rows:,} rows, {result.created:,} new, {result.updated:,} updated, "
            f"{result.unchanged:,} unchanged in {seconds:.1f} s"
        )

    def do_refresh(self, *, zone: str | None, force: bool, json: bool, **options: object) -> None:
        now = self.now(options)
        if zone:
            outcomes = services.refresh_zone(services.get_zone(zone), now=now, force=force)
        else:
            outcomes = services.refresh_all_zones(now, force=force)
        unserved = sorted({(o.zone, o.what) for o in outcomes} - {(o.zone, o.what) for o in outcomes if o.ok})
        if json:
            self.emit_json({"as_of": now, "outcomes": [o.as_dict() for o in outcomes], "failed": unserved})
        else:
            styles = {"ok": "SUCCESS", "cached": None, "failed": "ERROR", "cooldown": "WARNING"}
            self.table(
                ["zone", "provider", "what", "status", "readings", "ms", "error"],
                [
                    [
                        (o.zone, None),
                        (o.provider, None),
                        (o.what, None),
                        (o.status, styles.get(o.status)),
                        (str(o.readings), None),
                        (str(o.duration_ms), None),
                        (o.error[:60], "ERROR" if o.error else None),
                    ]
                    for o in outcomes
                ],
            )
        if unserved:
            names = ", ".join(f"{z} {w}" for z, w in unserved)
            raise CommandError(f"no provider could serve: {names}", returncode=1)

    def do_prune(self, *, keep_days: str | None, json: bool, **options: object) -> None:
        now = self.now(options)
        if keep_days is None:
            days = settings.CARBON_FORECAST_RETENTION_DAYS
        elif keep_days.strip().isdigit() and int(keep_days) >= 1:
            days = int(keep_days)
        else:
            raise ValueError(f"--keep-days must be a whole number of days, at least 1, not {keep_days!r}")
        before = CarbonReading.objects.filter(kind=CarbonReading.Kind.FORECAST).count()
        started = time.perf_counter()
        deleted = services.prune_forecasts(now=now, keep_days=days)
        seconds = time.perf_counter() - started
        cutoff = now - timedelta(days=days)
        if json:
            self.emit_json(
                {
                    "deleted": deleted,
                    "remaining": before - deleted,
                    "keep_days": days,
                    "cutoff": cutoff,
                    "as_of": now,
                    "seconds": round(seconds, 3),
                }
            )
            return
        self.stdout.write(
            self.paint(f"Pruned {deleted:,} forecast rows", "SUCCESS" if deleted else None)
            + f" issued before {cutoff:%Y-%m-%d %H:%M} UTC (first issue of each UTC day kept); "
            f"{before - deleted:,} forecast rows remain ({seconds:.1f} s)"
        )


def _chain(zone: Zone) -> str:
    """The provider chain, a provider whose credentials may not read the zone marked "(denied)"."""
    denied = {d.provider for d in services.denials(zone)}
    return ",".join(f"{p} (denied)" if p in denied else p for p in zone.provider_chain())
