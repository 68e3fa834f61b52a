"""Small vector charts for the ESG report, drawn as inline SVG from the report value.

Both charts draw the inventory (average-signal backups) only: a marginal intensity is never put
on the same curve or axis as an average one; the marginal section is a table.

Hand-built rather than Plotly: exporting Plotly figures to SVG needs kaleido, which downloads a
browser; WeasyPrint and browsers both render inline SVG as vectors, so the PDF stays crisp and
the HTML preview shows the very same drawing. One chart, one function; each returns markup.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from html import escape

from hyperweb.lib import units
from reports.esg.value import ESGReport

EMITTED = "#a34a00"
COUNTERFACTUAL = "#55606e"
AVOIDED_FILL = "rgba(30,107,52,0.18)"
GRID = "#d9dde3"
TEXT = "#1f2933"
FONT = "font-family:'DejaVu Sans',Arial,sans-serif"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round axis ticks from 0 to at least `top` (1, 2, 2.5 or 5 times a power of ten)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    n = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    if abs(value) >= 1:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def _svg(name: str, width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-labelledby="{name}-t {name}-d" style="{FONT};max-width:{width}px">'
        f'<title id="{name}-t">{escape(title)}</title><desc id="{name}-d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def emissions_over_time(report: ESGReport) -> str:
    """Cumulative emitted CO2 against the cumulative counterfactual, a step at each backup's finish
    time and flat in between: the report's `cumulative` steps, the savings page's very data
    (reports.queries.cumulative_steps). The mass unit (g, kg or t) is hyperweb.lib.units'."""
    steps = list(report.cumulative)
    width, height, left, right, top, bottom = 720, 300, 64, 16, 28, 40
    title = "Emissions against the counterfactual, cumulative"
    if report.has_marginal:  # one curve, one signal: marginal backups are not drawn here
        title += ", average-signal backups"
    if report.totals.simulated:
        title += " (includes simulated data)"
    if not steps:
        return _svg(
            "esg-emissions",
            width,
            80,
            title,
            "no backups in the period",
            [_text(width / 2, 45, "No backups in this period", "middle")],
        )
    period = report.header.period
    start, end = period.start, max(period.end, steps[-1][0])
    if steps[0][0] > start:  # nothing emitted before the first finish
        steps.insert(0, (start, 0.0, 0.0))
    e_total, c_total = steps[-1][1], steps[-1][2]
    unit, per = units.mass_unit(max(max(e, c) for _, e, c in steps))
    ticks = nice_ticks(max(max(e, c) for _, e, c in steps) / per)
    y_max = ticks[-1] or 1.0
    span = max((end - start).total_seconds(), 1.0)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(when: datetime) -> float:
        return left + plot_w * min(1.0, max(0.0, (when - start).total_seconds() / span))

    def y(kg: float) -> float:
        return top + plot_h * (1 - kg / per / y_max)

    def stepped(values: list[float]) -> list[tuple[float, float]]:
        """Flat from each step to the next, then up: the value changes only at a finish time."""
        points: list[tuple[float, float]] = []
        for i, ((when, _, _), value) in enumerate(zip(steps, values, strict=True)):
            if i:
                points.append((x(when), points[-1][1]))
            points.append((x(when), y(value)))
        return points

    body: list[str] = [_text(left, 16, title, "start", bold=True)]
    for tick in ticks:
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h * (1 - tick / y_max):.1f}" '
            f'y2="{top + plot_h * (1 - tick / y_max):.1f}" stroke="{GRID}"/>'
        )
        body.append(_text(left - 6, top + plot_h * (1 - tick / y_max) + 4, _fmt(tick), "end"))
    body.append(_text(14, top + plot_h / 2, f"{unit} CO2e", "middle", rotate=True))
    ticks_x = _date_ticks(start.date(), (end - timedelta(microseconds=1)).date() + timedelta(days=1))
    for label_day in ticks_x:
        # the first label starts at the axis, the last ends at it: neither is cut off
        anchor = "start" if label_day == ticks_x[0] else "end" if label_day == ticks_x[-1] else "middle"
        tick_x = x(datetime.combine(label_day, time(), tzinfo=UTC))
        body.append(_text(tick_x, height - bottom + 16, f"{label_day:%Y-%m-%d}", anchor))
    body.append(_text(width - right, height - bottom + 30, "UTC", "end"))
    points_e = stepped([e for _, e, _ in steps])
    points_c = stepped([c for _, _, c in steps])
    area = [*points_c, *reversed(points_e)]
    body.append(f'<polygon points="{_pts(area)}" fill="{AVOIDED_FILL}" stroke="none"/>')
    body.append(
        f'<polyline class="counterfactual" points="{_pts(points_c)}" fill="none" stroke="{COUNTERFACTUAL}" '
        'stroke-width="2" stroke-dasharray="6 4"/>'
    )
    body.append(
        f'<polyline class="emitted" points="{_pts(points_e)}" fill="none" stroke="{EMITTED}" stroke-width="2"/>'
    )
    legend_y = height - 8
    body += [
        f'<line x1="{left}" x2="{left + 24}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{EMITTED}" stroke-width="2"/>',
        _text(left + 30, legend_y, f"emitted ({units.co2(e_total)})", "start"),
        f'<line x1="{left + 220}" x2="{left + 244}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{COUNTERFACTUAL}" '
        'stroke-width="2" stroke-dasharray="6 4"/>',
        _text(left + 250, legend_y, f"had each started when allowed ({units.co2(c_total)})", "start"),
    ]
    desc = (
        f"Cumulative emitted {units.co2(e_total)} against counterfactual {units.co2(c_total)} CO2e, "
        "a step at each backup's finish time (UTC), flat in between."
    )
    return _svg("esg-emissions", width, height, title, desc, body)


def intensity_by_zone(report: ESGReport) -> str:
    """Per zone: energy-weighted mean intensity during the runs, against the counterfactual's, with
    the range (lowest to highest run mean) as a whisker."""
    zones = [(key, f) for key, f in report.by_zone if f.mean_intensity is not None]
    width, left, right, row_h, top = 720, 110, 170, 44, 34  # right: room for the labels
    title = "Grid intensity during the runs, by zone"
    if report.has_marginal:
        title += ", average-signal backups"
    if report.totals.simulated:
        title += " (includes simulated data)"
    if not zones:
        return _svg(
            "esg-intensity",
            width,
            80,
            title,
            "no intensity figures in the period",
            [_text(width / 2, 45, "No intensity figures in this period", "middle")],
        )
    height = top + row_h * len(zones) + 44
    top_value = max(
        max(f.max_intensity or 0.0, f.mean_counterfactual_intensity or 0.0, f.mean_intensity or 0.0)
        for _, f in zones
    )
    ticks = nice_ticks(top_value)
    x_max = ticks[-1] or 1.0
    plot_w = width - left - right

    def x(value: float) -> float:
        return left + plot_w * value / x_max

    axis_y = top + row_h * len(zones)
    body: list[str] = [_text(left, 16, title, "start", bold=True)]
    for tick in ticks:
        body.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 6}" y2="{axis_y}" stroke="{GRID}"/>'
        )
        body.append(_text(x(tick), axis_y + 14, _fmt(tick), "middle"))
    body.append(_text(left + plot_w / 2, axis_y + 30, "gCO2e/kWh", "middle"))
    for i, (code, figures) in enumerate(zones):
        y0 = top + i * row_h
        body.append(_text(left - 8, y0 + 20, code, "end", bold=True))
        mean = figures.mean_intensity or 0.0
        body.append(
            f'<rect x="{left}" y="{y0 + 4}" width="{x(mean) - left:.1f}" height="14" fill="{EMITTED}"/>'
        )
        label_x = max(x(mean), x(figures.max_intensity or 0.0)) + 4  # clear of the whisker
        body.append(_text(label_x, y0 + 15, f"{mean:.0f} during runs", "start"))
        if figures.mean_counterfactual_intensity is not None:
            cf = figures.mean_counterfactual_intensity
            body.append(
                f'<rect x="{left}" y="{y0 + 21}" width="{x(cf) - left:.1f}" height="14" fill="none" '
                f'stroke="{COUNTERFACTUAL}" stroke-dasharray="4 3"/>'
            )
            body.append(_text(x(cf) + 4, y0 + 32, f"{cf:.0f} if started when allowed", "start"))
        if figures.min_intensity is not None and figures.max_intensity is not None:
            lo, hi = x(figures.min_intensity), x(figures.max_intensity)
            body.append(
                f'<line x1="{lo:.1f}" x2="{hi:.1f}" y1="{y0 + 11}" y2="{y0 + 11}" stroke="{TEXT}" stroke-width="1"/>'
            )
            body.append(f'<line x1="{lo:.1f}" x2="{lo:.1f}" y1="{y0 + 7}" y2="{y0 + 15}" stroke="{TEXT}"/>')
            body.append(f'<line x1="{hi:.1f}" x2="{hi:.1f}" y1="{y0 + 7}" y2="{y0 + 15}" stroke="{TEXT}"/>')
    desc = "; ".join(f"{code}: {f.mean_intensity:.1f} g/kWh during runs" for code, f in zones)
    return _svg("esg-intensity", width, height, title, desc, body)


def _date_ticks(start: date, end: date, count: int = 5) -> list[date]:
    span = (end - start).days
    if span <= 0:
        return [start]
    step = max(1, round(span / (count - 1)))
    return [start.fromordinal(start.toordinal() + i) for i in range(0, span + 1, step)]


def _pts(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{px:.1f},{py:.1f}" for px, py in points)


def _text(x: float, y: float, text: str, anchor: str, *, bold: bool = False, rotate: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    transform = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" fill="{TEXT}" text-anchor="{anchor}"{weight}{transform}>'
        f"{escape(text)}</text>"
    )
