"""manage.py report: write the ESG report for a period as CSV, summary CSV or PDF."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hyperweb.lib import units
from reports.esg import csv as esg_csv
from reports.esg import loader, pdf
from reports.esg.params import period_from_inputs
from reports.esg.periods import ReportInputError

FORMATS = ("csv", "summary-csv", "pdf")


class Command(BaseCommand):
    help = (
        "Write the ESG report (per-backup CSV, summary CSV or PDF) for a period, optionally for one "
        "zone or policy. Examples: report --period 2026-Q3 --format pdf --output q3.pdf; "
        "report --start 2026-07-01 --end 2026-09-30 --zone DE --format csv --output -"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", help="first day (2026-07-01) or instant included, UTC")
        parser.add_argument("--end", help="last day included (2026-09-30), or an instant excluded")
        parser.add_argument("--period", help="instead of --start/--end: 2026, 2026-Q3 or 2026-09")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--zone", help="only this zone's backups")
        scope.add_argument("--policy", help="only this recurring policy's backups (id or name)")
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument(
            "--output", required=True, help="file to write; '-' for standard output (CSV only)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = period_from_inputs(
                start=options["start"],
                end=options["end"],
                period=options["period"],
                max_days=settings.REPORT_MAX_DAYS,
            )
            scope = loader.resolve_scope(options["zone"], options["policy"])
        except ReportInputError as exc:
            raise CommandError(str(exc), returncode=2) from None
        fmt, output = options["format"], options["output"]
        if fmt == "pdf" and output == "-":
            raise CommandError("a PDF needs --output FILE, not standard output", returncode=2)
        if fmt == "pdf":
            report = loader.build(period, scope, keep_rows=pdf.PDF_ROWS)
            self._write_bytes(output, pdf.render_pdf(report))
            marginal = report.marginal.totals
            self.stdout.write(
                f"wrote {output}: {period.label}, {scope.label}, {report.totals.backups} backups, "
                f"{units.co2(report.totals.emissions_kg)} CO2e location-based (average signal)"
                + (
                    f"; {marginal.backups} marginal-signal backups reported apart "
                    f"({units.co2(marginal.emissions_kg)} marginal CO2e)"
                    if report.has_marginal
                    else ""
                )
            )
            return
        if fmt == "csv":
            config = loader.config_from_settings()
            lines = esg_csv.rows_csv(
                loader.iter_rows(period, scope),
                supplier_factor=config.supplier_factor,
                site_scope=config.site_scope,
            )
        else:
            lines = esg_csv.summary_csv(loader.build(period, scope, keep_rows=0, curve=False))
        count = self._write_lines(output, lines)
        if output != "-":
            self.stdout.write(f"wrote {output}: {max(0, count - 1)} data lines")

    def _write_bytes(self, output: str, data: bytes) -> None:
        try:
            Path(output).write_bytes(data)
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}", returncode=2) from None

    def _write_lines(self, output: str, lines: Iterable[str]) -> int:
        count = 0
        if output == "-":
            for line in lines:
                sys.stdout.write(line)
                count += 1
            return count
        try:
            with open(output, "w", encoding="utf-8", newline="") as handle:
                for line in lines:
                    handle.write(line)
                    count += 1
        except OSError as exc:
            raise CommandError(f"cannot write {output}: {exc.strerror}", returncode=2) from None
        return count
