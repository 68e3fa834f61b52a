"""Intensity charts for the dashboard: one chart, one function, one shared layout.

Figures are plotly figure dicts built on the server and rendered to a <div> and a JSON data
block (render; static/js/charts.js draws them, plotly.js comes once from static/). They are plain dicts rendered without plotly.py's
validation: building graph objects re-validates every shape on each add (quadratic in the
number of backups drawn) and cost seconds on a busy zone page; the dicts are the same JSON. Long series are reduced to at most `max_points` buckets of time-weighted means
before they are drawn (StepSeries.mean, so the reduced curve is honest, not a sample); the full
data stays one click away (API and CSV links on the pages).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import plotly.io as pio

from carbon.intensity import StepSeries
from carbon.models import Zone
from carbon.services.series import ForecastPoint
from hyperweb.lib.timefmt import format_utc

QUALITY_BANDS = (  # (upper bound, colour) as carbon.intensity.quality's levels; light, behind the curve
    (100, "rgba(30,107,52,0.08)"),
    (200, "rgba(61,122,26,0.06)"),
    (400, "rgba(122,90,0,0.06)"),
    (600, "rgba(163,74,0,0.06)"),
)
ACTUAL_COLOUR = "#0b5cad"
FORECAST_COLOUR = "#7a4fc9"
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def base_layout(**overrides: Any) -> dict[str, Any]:
    """The look every dashboard chart shares; callers override only what differs."""
    layout: dict[str, Any] = {
        "margin": {"l": 50, "r": 15, "t": 30, "b": 40},
        "height": 360,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif", "size": 12, "color": "#1d2430"},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.18},
        # Plotly draws times as given: the server sends UTC, so the axis says so.
        "xaxis": {"gridcolor": "#eef1f5", "type": "date", "title": {"text": "UTC"}},
        "yaxis": {"gridcolor": "#eef1f5", "rangemode": "tozero", "title": {"text": "gCO2/kWh"}},
    }
    layout.update(overrides)
    # Every titled axis makes room for its title beside its tick labels (Plotly's automargin; the
    # fixed left margin alone let "g CO2" sit on labels like "0.0025"), a few pixels apart.
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict) and axis.get("title"):
            axis.setdefault("automargin", True)
            if isinstance(axis["title"], dict):
                axis["title"].setdefault("standoff", 8)
    return layout


Figure = dict[str, Any]
Step = tuple[datetime, datetime, float]  # (start, end, g/kWh) of one series step


# JSON inside <script type="application/json"> must not be able to close the element (as
# django.utils.html.json_script escapes): <, > and & become \u escapes, which JSON reads back.
_JSON_SCRIPT_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def render(fig: Figure, *, static: bool = False) -> str:
    """The figure as an HTML <div> plus its data in a JSON data block; no inline script.

    static/js/charts.js (loaded with plotly.js by templates/plotly_head.html) draws every such
    <div>, so the Content-Security-Policy allows scripts from this server only: a data block is
    never executed, and the figure's text (zone and backup names) is escaped as JSON.
    """
    config = dict(PLOT_CONFIG, staticPlot=True) if static else PLOT_CONFIG
    chart_id = f"chart-{uuid.uuid4().hex}"
    figure = pio.to_json(fig, validate=False, remove_uids=False)
    payload = f'{{"figure": {figure}, "config": {json.dumps(config)}}}'.translate(_JSON_SCRIPT_ESCAPES)
    return (
        f'<div id="{chart_id}" class="plotly-graph-div hw-chart" style="height:100%; width:100%;" '
        f'data-figure="{chart_id}-figure"></div>'
        f'<script type="application/json" id="{chart_id}-figure">{payload}</script>'
    )


def vband(x0: datetime, x1: datetime, colour: str, *, layer: str = "below") -> dict[str, Any]:
    """A shaded time span over the whole height of the plot."""
    return {
        "type": "rect",
        "xref": "x",
        "yref": "paper",
        "x0": _iso(x0.timestamp()),
        "x1": _iso(x1.timestamp()),
        "y0": 0,
        "y1": 1,
        "fillcolor": colour,
        "line": {"width": 0},
        "layer": layer,
    }


def vline(x: datetime, colour: str = "#55606e", dash: str = "dot") -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "x",
        "yref": "paper",
        "x0": _iso(x.timestamp()),
        "x1": _iso(x.timestamp()),
        "y0": 0,
        "y1": 1,
        "line": {"color": colour, "width": 1, "dash": dash},
    }


def hline(y: float, colour: str = "#a3161b") -> dict[str, Any]:
    return {
        "type": "line",
        "xref": "paper",
        "yref": "y",
        "x0": 0,
        "x1": 1,
        "y0": y,
        "y1": y,
        "line": {"color": colour, "width": 1.5, "dash": "dash"},
    }


def note(text: str, x: Any, y: Any, *, xref: str = "x", yref: str = "paper", **extra: Any) -> dict[str, Any]:
    return {"text": text, "x": x, "y": y, "xref": xref, "yref": yref, "showarrow": False, **extra}


@dataclass(frozen=True)
class Curve:
    """x (bucket starts, ISO strings) and y (means, None in gaps) ready for a step line."""

    x: list[str]
    y: list[float | None]


def _iso(epoch: float) -> str:
    return format_utc(datetime.fromtimestamp(epoch, tz=UTC), "seconds")


def curve(steps: Sequence[tuple[datetime, datetime, float]], max_points: int = 600) -> Curve:
    """A step series as drawable points, reduced to at most `max_points` equal-time buckets.

    Short series are drawn as they are (one point per step, a None where a gap opens); longer
    ones become time-weighted bucket means, so the reduction never invents or drops a peak's area.
    """
    if not steps:
        return Curve([], [])
    if len(steps) <= max_points:
        x: list[str] = []
        y: list[float | None] = []
        previous_end: datetime | None = None
        for start, end, value in steps:
            if previous_end is not None and start > previous_end:
                x.append(_iso(previous_end.timestamp()))
                y.append(None)
            x.append(_iso(start.timestamp()))
            y.append(round(value, 1))
            previous_end = end
        x.append(_iso(steps[-1][1].timestamp()))
        y.append(round(steps[-1][2], 1))  # close the last step
        return Curve(x, y)
    series = StepSeries(
        [s.timestamp() for s, _, _ in steps], [e.timestamp() for _, e, _ in steps], [v for _, _, v in steps]
    )
    first, last = steps[0][0].timestamp(), steps[-1][1].timestamp()
    width = max(math.ceil((last - first) / max_points / 900) * 900, 900)  # whole quarter hours
    x, y = [], []
    t = first
    while t < last:
        bucket_end = min(t + width, last)
        mean = series.mean(datetime.fromtimestamp(t, tz=UTC), datetime.fromtimestamp(bucket_end, tz=UTC))
        x.append(_iso(t))
        y.append(None if mean is None else round(mean, 1))
        t += width
    return Curve(x, y)


def split_points(points: Iterable[ForecastPoint]) -> tuple[list[Step], list[Step]]:
    """(actual steps, forecast steps) from carbon.services ForecastPoint-like objects."""
    actual: list[Step] = []
    forecast: list[Step] = []
    for p in points:
        (actual if p.kind == "actual" else forecast).append((p.start, p.end, p.value))
    return actual, forecast


def _line(c: Curve, name: str, colour: str, *, dash: str | None = None, width: float = 2) -> dict[str, Any]:
    return {
        "type": "scatter",
        "x": c.x,
        "y": c.y,
        "name": name,
        "mode": "lines",
        "line": {"shape": "hv", "color": colour, "width": width, "dash": dash or "solid"},
        "connectgaps": False,
        "hovertemplate": "%{y:.0f} g/kWh<extra>" + name + "</extra>",
    }


def sparkline(points: Iterable[ForecastPoint], now: datetime) -> str:
    """24 h before and after now: the actual curve solid, the forecast dashed, a 'now' marker."""
    actual, forecast = split_points(points)
    layout = base_layout(
        height=70,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        showlegend=False,
        hovermode="x",
        xaxis={"visible": False, "type": "date"},
        yaxis={"visible": False},  # the shape matters here; the tile shows the number
        shapes=[vline(now, dash="solid")],
    )
    data = [
        _line(curve(actual, 200), "actual", ACTUAL_COLOUR, width=1.5),
        _line(curve(forecast, 200), "forecast", FORECAST_COLOUR, dash="dot", width=1.5),
    ]
    return render({"data": data, "layout": layout}, static=True)


@dataclass(frozen=True)
class Span:
    """A backup drawn over the curve: planned (future) or finished."""

    start: datetime
    end: datetime
    label: str
    kind: str  # "planned" | "finished" | "running"


# Hues none of the quality bands (greens, browns) nor the now line (slate) has: planned violet,
# running blue, finished teal. The legend's swatch is outlined in the same hue, so it shows on white as on the bands.
SPAN_COLOURS = {
    "planned": "rgba(122,79,201,0.18)",
    "running": "rgba(11,92,173,0.25)",
    "finished": "rgba(0,128,128,0.25)",
}
SPAN_LINES = {"planned": "rgb(122,79,201)", "running": "rgb(11,92,173)", "finished": "rgb(0,128,128)"}
# A span narrower than this share of the chart's time axis (a few pixels) would not show as a
# band: it is drawn as a 2 px line at its start instead (a two-minute backup on a week's chart).
THIN_SPAN_SHARE = 1 / 300


def _span_shape(span: Span, axis_seconds: float) -> dict[str, Any]:
    if (span.end - span.start).total_seconds() >= axis_seconds * THIN_SPAN_SHARE:
        return vband(span.start, span.end, SPAN_COLOURS.get(span.kind, SPAN_COLOURS["finished"]))
    line = vline(span.start, SPAN_LINES.get(span.kind, SPAN_LINES["finished"]), dash="solid")
    line["line"]["width"] = 2
    line["layer"] = "below"
    return line


def zone_chart(
    points: Iterable[ForecastPoint],
    *,
    now: datetime,
    threshold: float | None,
    spans: Sequence[Span] = (),
    max_points: int = 600,
) -> str:
    """History and forecast of one zone, the threshold line, and backups as shaded spans."""
    actual, forecast = split_points(points)
    shapes: list[dict[str, Any]] = []
    lower = 0
    for upper, colour in QUALITY_BANDS:
        shapes.append(
            {
                "type": "rect",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": lower,
                "y1": upper,
                "fillcolor": colour,
                "line": {"width": 0},
                "layer": "below",
            }
        )
        lower = upper
    times = [t for step in (*actual, *forecast) for t in (step[0], step[1])]
    axis_seconds = (max(times) - min(times)).total_seconds() if times else 0.0
    shapes.extend(_span_shape(s, axis_seconds) for s in spans)
    shapes.append(vline(now))
    annotations = []
    if threshold:
        shapes.append(hline(threshold))
        annotations.append(
            note(
                f"threshold {threshold:.0f}",
                0,
                threshold,
                xref="paper",
                yref="y",
                xanchor="left",
                yanchor="bottom",
            )
        )
    data = [
        _line(curve(actual, max_points), "actual", ACTUAL_COLOUR),
        _line(curve(forecast, max_points), "forecast", FORECAST_COLOUR, dash="dot"),
    ]
    # One empty trace per kind of span, so the legend explains the shading.
    data.extend(
        {
            "type": "scatter",
            "x": [None],
            "y": [None],
            "mode": "markers",
            "name": f"{kind} backups",
            "marker": {
                "symbol": "square",
                "size": 12,
                "color": SPAN_COLOURS[kind],
                "line": {"color": SPAN_LINES[kind], "width": 1},
            },
        }
        for kind in sorted({s.kind for s in spans})
    )
    layout = base_layout(height=380, shapes=shapes, annotations=annotations)
    return render({"data": data, "layout": layout})


def decision_chart(
    points: Iterable[ForecastPoint],
    *,
    decided_at: datetime,
    chosen: tuple[datetime, datetime] | None,
    start_now: tuple[datetime, datetime] | None,
    window: tuple[datetime, datetime] | None,
    threshold: float | None,
) -> str:
    """The forecast as known when the job was planned, the chosen run and "start now" beside it."""
    actual, forecast = split_points(points)
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for span, colour, label, y in (
        (window, "rgba(85,96,110,0.07)", "allowed starts", 1.0),
        (start_now, "rgba(163,22,27,0.15)", "start now", 0.0),
        (chosen, "rgba(30,107,52,0.25)", "chosen", 1.0),
    ):
        if span:
            shapes.append(vband(span[0], span[1], colour))
            annotations.append(
                note(label, _iso(span[0].timestamp()), y, xanchor="left", yanchor="top" if y else "bottom")
            )
    if threshold:
        shapes.append(hline(threshold))
    shapes.append(vline(decided_at))
    data = [
        _line(curve(actual), "actual (then)", ACTUAL_COLOUR),
        _line(curve(forecast), "forecast at decision time", FORECAST_COLOUR, dash="dot"),
    ]
    layout = base_layout(height=340, shapes=shapes, annotations=annotations)
    return render({"data": data, "layout": layout})


class PlannedRun(Protocol):
    """What planned_timeline reads of a planned backup (a scheduler.models.BackupJob, which this
    layer does not import)."""

    @property
    def zone(self) -> Zone | None: ...
    @property
    def name(self) -> str: ...
    @property
    def vm_path(self) -> str: ...
    @property
    def planned_start(self) -> datetime | None: ...
    @property
    def expected_duration(self) -> timedelta: ...


def _planned_start(job: PlannedRun) -> float:
    assert job.planned_start is not None  # the timeline shows planned runs only
    return job.planned_start.timestamp()


def planned_timeline(jobs: Sequence[PlannedRun], *, now: datetime, hours: int = 48) -> str:
    """The next planned backups (each with its planned start) as bars on a time axis, one row per
    zone."""
    rows: dict[str, list[PlannedRun]] = {}
    for job in jobs:
        rows.setdefault(job.zone.code if job.zone else "no zone", []).append(job)
    data = [
        {
            "type": "bar",
            "name": zone_code,
            "y": [zone_code] * len(zone_jobs),
            "base": [_iso(_planned_start(j)) for j in zone_jobs],
            "x": [j.expected_duration.total_seconds() * 1000 for j in zone_jobs],
            "orientation": "h",
            "text": [j.name or j.vm_path.rsplit("/", 1)[-1] for j in zone_jobs],
            "textposition": "none",
            "hovertemplate": "%{text}<br>%{base|%Y-%m-%d %H:%M} UTC<extra>%{y}</extra>",
            "marker": {"color": FORECAST_COLOUR},
            "showlegend": False,
        }
        for zone_code, zone_jobs in sorted(rows.items())
    ]
    layout = base_layout(
        height=max(160, 40 + 32 * len(rows)),
        barmode="overlay",
        hovermode="closest",
        margin={"l": 90, "r": 15, "t": 10, "b": 40},
        xaxis={
            "type": "date",
            "range": [_iso(now.timestamp()), _iso((now + timedelta(hours=hours)).timestamp())],
            "gridcolor": "#eef1f5",
            "title": {"text": "UTC"},
        },
        yaxis={"type": "category", "autorange": "reversed"},
    )
    return render({"data": data, "layout": layout})
