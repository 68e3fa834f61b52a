"""The savings and what-if figures (Plotly): one chart, one function, each drawing values it is
given. The figures' data are aggregated in reports/queries.py (ORM) and reports/stats.py (pure
what-if statistics)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from carbon.charts import ACTUAL_COLOUR, FORECAST_COLOUR, base_layout, note, render
from hyperweb.lib.timefmt import format_utc
from hyperweb.lib.units import mass_unit

EMITTED_COLOUR = "#a34a00"
COUNTERFACTUAL_COLOUR = "#55606e"
SAVED_COLOUR = "#1e6b34"


def _iso(when: datetime) -> str:
    return format_utc(when, "seconds")


def cumulative_chart(steps: list[tuple[datetime, float, float]]) -> str:
    """Cumulative emitted against cumulative counterfactual, stepping at each backup's finish and
    flat in between (line shape "hv"); the gap between them is the saving. The axis unit (g, kg
    or t) suits the largest value, as hyperweb.lib.units writes masses everywhere."""
    unit, per = mass_unit(max((max(e, c) for _, e, c in steps), default=0.0))
    x = [_iso(when) for when, _, _ in steps]
    emitted = [round(e / per, 6) for _, e, _ in steps]
    counterfactual = [round(c / per, 6) for _, _, c in steps]
    data = [
        {
            "type": "scatter",
            "x": x,
            "y": counterfactual,
            "name": "had each started when requested",
            "mode": "lines",
            "line": {"color": COUNTERFACTUAL_COLOUR, "dash": "dash", "shape": "hv"},
        },
        {
            "type": "scatter",
            "x": x,
            "y": emitted,
            "name": "emitted (carbon-aware)",
            "mode": "lines",
            "line": {"color": EMITTED_COLOUR, "shape": "hv"},
            "fill": "tonexty",
            "fillcolor": "rgba(30,107,52,0.15)",
        },
    ]
    layout = base_layout(
        xaxis={"type": "date", "gridcolor": "#eef1f5", "title": {"text": "UTC"}},
        yaxis={"title": {"text": f"{unit} CO2, cumulative"}, "rangemode": "tozero", "gridcolor": "#eef1f5"},
    )
    return render({"data": data, "layout": layout})


def _grouped_bars(labels: list[str], rows: list[dict[str, Any]]) -> str:
    """Counterfactual, emitted and avoided per group, in the mass unit (g, kg or t) that
    hyperweb.lib.units picks for the largest bar, as the tables beside them write it."""
    keys = ("counterfactual", "emitted", "avoided")
    unit, per = mass_unit(max((abs(r[key]) for r in rows for key in keys), default=0.0))
    data = [
        {
            "type": "bar",
            "x": labels,
            "y": [round(r[key] / per, 6) for r in rows],
            "name": name,
            "marker": {"color": colour},
        }
        for key, name, colour in (
            ("counterfactual", "counterfactual", COUNTERFACTUAL_COLOUR),
            ("emitted", "emitted", EMITTED_COLOUR),
            ("avoided", "avoided", SAVED_COLOUR),
        )
    ]
    layout = base_layout(
        barmode="group",
        height=320,
        xaxis={"type": "category"},
        yaxis={"title": {"text": f"{unit} CO2"}, "rangemode": "tozero", "gridcolor": "#eef1f5"},
    )
    return render({"data": data, "layout": layout})


def monthly_chart(months: list[dict[str, Any]]) -> str:
    return _grouped_bars([m["period"].strftime("%Y-%m") for m in months], months)


def zone_bars_chart(zones: list[dict[str, Any]]) -> str:
    return _grouped_bars([z["zone__code"] or "no zone" for z in zones], zones)


def whatif_histogram(percents: list[float], *, median: float | None) -> str:
    """How often carbon-aware scheduling would have saved how much: the distribution, not a best case."""
    data = [
        {
            "type": "histogram",
            "x": [round(p, 2) for p in percents],
            "xbins": {"size": 2.5},
            "marker": {"color": ACTUAL_COLOUR},
            "name": "request times",
            "hovertemplate": "%{x} %% saving: %{y} request times<extra></extra>",
        }
    ]
    shapes, annotations = [], []
    if median is not None:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": median,
                "x1": median,
                "y0": 0,
                "y1": 1,
                "line": {"color": FORECAST_COLOUR, "dash": "dash"},
            }
        )
        annotations.append(note(f"median {median:.1f} %", median, 1, xanchor="left", yanchor="top"))
    layout = base_layout(
        height=320,
        hovermode="closest",
        bargap=0.05,
        shapes=shapes,
        annotations=annotations,
        xaxis={
            "title": {"text": "saving against starting at once, %"},
            "type": "linear",
            "gridcolor": "#eef1f5",
        },
        yaxis={"title": {"text": "request times"}, "rangemode": "tozero", "gridcolor": "#eef1f5"},
    )
    return render({"data": data, "layout": layout})
