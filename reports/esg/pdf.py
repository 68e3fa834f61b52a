"""PDF (and the page's HTML preview) of the ESG report: one template, rendered by WeasyPrint.

WeasyPrint lays out HTML/CSS itself (Pango for text), so no browser is downloaded or driven;
the charts are inline SVG (reports/esg/charts.py), which it draws as vectors. Page numbers come
from CSS `@page` counters in templates/reports/esg_pdf.html.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from reports.esg import charts
from reports.esg.csv import CSV_COLUMNS
from reports.esg.method import AVOIDED_LABEL, MARGINAL_LABEL
from reports.esg.periods import Period
from reports.esg.value import ESGReport, Scope

# WeasyPrint logs every layout step at INFO; the root logger would print them for every report.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

# Per-backup rows printed in the PDF (a sample for reading; the CSV is the full ledger). Each
# 100 rows cost WeasyPrint about a second of CPU.
PDF_ROWS = 100


def report_context(report: ESGReport, *, fragment: bool = False) -> dict[str, Any]:
    """What both renderings need: the value, its charts, and a few labels."""
    return {
        "report": report,
        "header": report.header,
        "totals": report.totals,  # average-signal backups: the inventory
        "marginal": report.marginal.totals,  # marginal-signal backups: reported apart
        "marginal_label": MARGINAL_LABEL,
        "sci": report.sci,
        "fragment": fragment,
        "avoided_label": AVOIDED_LABEL,
        "emissions_chart": mark_safe(charts.emissions_over_time(report)),  # noqa: S308 -- built by us, text escaped
        "intensity_chart": mark_safe(charts.intensity_by_zone(report)),  # noqa: S308
        "csv_columns": CSV_COLUMNS,
        "simulated": report.totals.simulated > 0,
        "shifted_percent": None
        if report.totals.shifted_share is None
        else 100.0 * report.totals.shifted_share,
        "footer_css": mark_safe(
            css_string(f"{report.header.organisation} · backup emissions · {report.header.period.label}")
        ),  # noqa: S308
        "pdf_rows": min(len(report.rows), report.backups),
    }


def css_string(text: str) -> str:
    """A CSS string literal that nothing in `text` can break out of (everything else is escaped)."""
    safe = " .,-_()·:"
    return (
        '"' + "".join(c if c.isalnum() and c.isascii() or c in safe else f"\\{ord(c):x} " for c in text) + '"'
    )


def render_html(report: ESGReport) -> str:
    """The report's HTML, in UTC whatever the viewer's timezone (the report says so)."""
    with timezone.override(UTC):
        return render_to_string("reports/esg_pdf.html", report_context(report))


def render_pdf(report: ESGReport) -> bytes:
    import weasyprint  # type: ignore[import-untyped]  # no types; imported here: pages and the CSV do not need it

    html = render_html(report)
    return weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def filename(period: Period, scope: Scope, extension: str) -> str:
    """`esg-2026-Q3-all.pdf`, `esg-2026-09-zone-DE.csv`: safe for a Content-Disposition header."""
    suffix = {"zone": f"zone-{scope.zone}", "policy": f"policy-{scope.policy_id}"}.get(scope.kind, "all")
    label = period.label.replace(" to ", "_").replace(" ", "_")
    stem = f"esg-{label}-{suffix}"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in stem) + f".{extension}"
