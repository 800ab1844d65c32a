"""report.html: one self-contained file (inline CSS and SVG, no scripts needed, no external asset)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opentrust.report.jsonout import atomic_write
from opentrust.report.model import BarChart, Report

SEVERITY_COLOURS = {"critical": "#7f1d1d", "high": "#b91c1c", "medium": "#b45309", "low": "#1d4ed8", "info": "#475569"}


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("opentrust.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["bar_svg"] = bar_svg
    env.globals["severity_colours"] = SEVERITY_COLOURS
    env.filters["cell"] = _cell
    env.globals["heat_style"] = heat_style
    env.globals["heat_top"] = heat_top
    env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, default=str)
    return env


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def heat_top(table: Any) -> float:
    nums = [v for row in table.rows for v in row if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return float(table.scale_max or max(nums, default=0.0))


def heat_style(value: Any, top: float | None) -> str:
    """Inline background for a heatmap cell: white at 0, deep red at ``top`` (no script, prints fine)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not top or top <= 0:
        return ""
    t = min(1.0, max(0.0, float(value) / top))
    r, g, b = (round(255 + (c - 255) * t) for c in (185, 28, 28))
    ink = "#fff" if t > 0.55 else "#111"
    return f"background-color:rgb({r},{g},{b});color:{ink}"


def bar_svg(chart: BarChart) -> str:
    """Horizontal bars with interval whiskers as inline SVG (readable with JavaScript off)."""
    from markupsafe import Markup, escape

    if not chart.bars:
        return Markup("<p class='muted'>No data.</p>")
    top = chart.max_value or max(max(b.value, b.interval[1] if b.interval else 0) for b in chart.bars) or 1.0
    label_w, bar_w, row_h, note_w = 140, 420, 26, 150
    width, height = label_w + bar_w + note_w, row_h * len(chart.bars) + 24
    scale = bar_w / top
    parts = [f"<svg role='img' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' aria-label='{escape(chart.title)}'>"]
    for i, b in enumerate(chart.bars):
        y = i * row_h + 4
        w = max(1.0, b.value * scale)
        parts.append(f"<text x='{label_w - 8}' y='{y + 15}' text-anchor='end' class='lbl'>{escape(b.label)}</text>")
        parts.append(f"<rect x='{label_w}' y='{y + 3}' width='{w:.1f}' height='16' class='bar'>"
                     f"<title>{escape(b.label)}: {b.value:g} {escape(chart.unit)}</title></rect>")
        if b.interval:
            lo, hi = (label_w + max(0.0, v) * scale for v in b.interval)
            parts.append(f"<line x1='{lo:.1f}' x2='{hi:.1f}' y1='{y + 11}' y2='{y + 11}' class='ci'/>"
                         f"<line x1='{lo:.1f}' x2='{lo:.1f}' y1='{y + 5}' y2='{y + 17}' class='ci'/>"
                         f"<line x1='{hi:.1f}' x2='{hi:.1f}' y1='{y + 5}' y2='{y + 17}' class='ci'/>")
        note = f"{b.value:g}" + (f" [{b.interval[0]:g}, {b.interval[1]:g}]" if b.interval else "")
        note += f" {b.note}" if b.note else ""
        parts.append(f"<text x='{label_w + bar_w + 6}' y='{y + 15}' class='note'>{escape(note)}</text>")
    axis_y = row_h * len(chart.bars) + 16
    parts.append(f"<text x='{label_w}' y='{axis_y}' class='axis'>0</text>"
                 f"<text x='{label_w + bar_w}' y='{axis_y}' text-anchor='end' class='axis'>{top:g} "
                 f"{escape(chart.unit)}</text></svg>")
    return Markup("".join(parts))


def render(report: Report) -> str:
    return _environment().get_template("report.html.j2").render(report=report)


def write(report: Report, path: Path) -> None:
    atomic_write(path, render(report))
