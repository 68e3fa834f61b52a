"""GET /reports/esg.csv, /reports/esg-summary.csv, /reports/esg.pdf: parse, authorize, render.

The report itself is reports.esg (value + renderers); these views only turn query parameters into
a period and scope (400 naming the field on bad input) and pick the renderer. The per-backup CSV
streams straight from the database, so a year of backups never sits in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request

from accounts.api.permissions import IsViewer
from hyperweb.api.errors import field_error
from hyperweb.api.views import APIView
from reports.api.serializers import ESGQuerySerializer
from reports.esg import csv as esg_csv
from reports.esg import loader, pdf
from reports.esg.params import period_from_inputs
from reports.esg.periods import Period, ReportInputError
from reports.esg.value import Scope


class AlwaysJSONErrors(BaseContentNegotiation):
    """Success bodies are CSV or PDF responses built by the view; errors are always JSON, whatever
    the client's Accept header says (a 406 would hide the real problem)."""

    def select_parser(self, request: Request, parsers: Sequence[Any]) -> Any:  # type: ignore[override]
        return parsers[0]  # DRF passes a list; the stubs say any Iterable

    def select_renderer(  # type: ignore[override]  # as above
        self, request: Request, renderers: Sequence[Any], format_suffix: str | None = None
    ) -> Any:
        return renderers[0], renderers[0].media_type


class ESGView(APIView):
    permission_classes = [IsViewer]
    query_serializer_class = ESGQuerySerializer
    content_negotiation_class = AlwaysJSONErrors

    def period_and_scope(self) -> tuple[Period, Scope]:
        query = self.query()
        try:
            period = period_from_inputs(
                start=query.get("start"),
                end=query.get("end"),
                period=query.get("period"),
                max_days=settings.REPORT_MAX_DAYS,
            )
            scope = loader.resolve_scope(query.get("zone"), query.get("policy"))
        except ReportInputError as exc:
            raise field_error(exc.field or "period", str(exc)) from None
        return period, scope


R = TypeVar("R", HttpResponse, StreamingHttpResponse)


def _attachment(response: R, name: str) -> R:
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


_CSV_TYPE = "text/csv; charset=utf-8; header=present"


class ESGCsvView(ESGView):
    @extend_schema(
        parameters=[ESGQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="one row per accounted backup; columns in docs/REPORTS.md"
            )
        },
        summary="ESG report: per-backup CSV (streamed)",
        tags=["reports"],
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        """One row per backup that completed in the period, with its energy, intensity, emissions,
        counterfactual and avoided kg; the columns add up to the report's totals."""
        period, scope = self.period_and_scope()
        config = loader.config_from_settings()
        lines = esg_csv.rows_csv(
            loader.iter_rows(period, scope),
            supplier_factor=config.supplier_factor,
            site_scope=config.site_scope,
        )
        response = StreamingHttpResponse((line.encode() for line in lines), content_type=_CSV_TYPE)
        return _attachment(response, pdf.filename(period, scope, "csv"))


class ESGSummaryCsvView(ESGView):
    @extend_schema(
        parameters=[ESGQuerySerializer],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="section,key,metric,value,unit")
        },
        summary="ESG report: summary CSV (header, totals, SCI, by zone, by month)",
        tags=["reports"],
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        period, scope = self.period_and_scope()
        report = loader.build(period, scope, keep_rows=0, curve=False)
        lines = esg_csv.summary_csv(report)
        response = StreamingHttpResponse((line.encode() for line in lines), content_type=_CSV_TYPE)
        return _attachment(response, pdf.filename(period, scope, "csv").replace("esg-", "esg-summary-", 1))


class ESGPdfView(ESGView):
    @extend_schema(
        parameters=[ESGQuerySerializer],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="the printable report")
        },
        summary="ESG report: PDF (header, totals, charts, methodology, per-backup figures)",
        tags=["reports"],
    )
    def get(self, request: Request) -> HttpResponse:
        period, scope = self.period_and_scope()
        report = loader.build(period, scope, keep_rows=pdf.PDF_ROWS)
        response = HttpResponse(pdf.render_pdf(report), content_type="application/pdf")
        return _attachment(response, pdf.filename(period, scope, "pdf"))
