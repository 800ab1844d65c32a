"""Inline SVG charts for the web UI, drawn server-side so they read with JavaScript off.

Trend lines with interval bands (a model's audits over time) and blocks per guard rule over time. The quality
against cost scatter with its Pareto front is the compare report's own (``opentrust.compare.report.scatter_svg``).
Every chart carries its numbers as text (point labels and ``<title>``s) and the pages print the same figures in a
table next to it: colour is never the only signal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

# Series colours, each also drawn with its own marker shape and dash so they differ without colour.
PALETTE = ("#0f766e", "#b91c1c", "#1d4ed8", "#b45309", "#6d28d9", "#475569")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "4 4", "1 2")


def _time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _with_ci(p: dict[str, Any]) -> dict[str, Any]:
    if p.get("ci") is None and p.get("low") is not None and p.get("high") is not None:
        return {**p, "ci": [p["low"], p["high"]]}
    return p


def trend_svg(points: Sequence[dict[str, Any]], *, title: str, unit: str = "", y_max: float | None = None,
              width: int = 640, height: int = 220) -> str:
    """A line over time with its interval as a shaded band.

    ``points``: ``{"at": ISO time, "value": float | None, "low"/"high" (or "ci": [low, high]), "run_id"}``, any
    order; points without a value are left out (and said so)."""
    from markupsafe import Markup, escape

    usable = [_with_ci(p) for p in points if p.get("value") is not None and _time(p.get("at")) is not None]
    if not usable:
        return Markup(f"<p class='muted no-data'>{escape(title)}: no measurement yet.</p>")
    usable.sort(key=lambda p: (_time(p["at"]), p.get("run_id") or ""))
    left, right, top, bottom = 52, 16, 12, 34
    values = [float(p["value"]) for p in usable]
    highs = [float(p["ci"][1]) for p in usable if p.get("ci") and p["ci"][1] is not None]
    lows = [float(p["ci"][0]) for p in usable if p.get("ci") and p["ci"][0] is not None]
    top_v = y_max if y_max is not None else (max(values + highs) * 1.1 or 1.0)
    bottom_v = min(0.0, *lows, *values)
    span = (top_v - bottom_v) or 1.0
    n = len(usable)
    # evenly spaced in run order: audits come in bursts, a time axis would pile them up
    px = (lambda i: left + (width - left - right) * (i / (n - 1))) if n > 1 else (lambda i: (left + width - right) / 2)
    py = lambda v: top + (height - top - bottom) * (1 - (v - bottom_v) / span)  # noqa: E731
    parts = [f"<svg role='img' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' class='trend' aria-label='{escape(title)} over time, {n} run(s)'>",
             f"<line x1='{left}' y1='{py(bottom_v):.1f}' x2='{width - right}' y2='{py(bottom_v):.1f}' class='axisline'/>",
             f"<line x1='{left}' y1='{py(bottom_v):.1f}' x2='{left}' y2='{py(top_v):.1f}' class='axisline'/>"]
    for frac in (0, 0.5, 1):
        v = bottom_v + span * frac
        parts.append(f"<text x='{left - 6}' y='{py(v) + 4:.1f}' text-anchor='end' class='axis'>{_fmt(v)}</text>")
    banded = [(i, p) for i, p in enumerate(usable) if p.get("ci") and None not in p["ci"]]
    if len(banded) >= 2:
        upper = [f"{px(i):.1f},{py(float(p['ci'][1])):.1f}" for i, p in banded]
        lower = [f"{px(i):.1f},{py(float(p['ci'][0])):.1f}" for i, p in reversed(banded)]
        parts.append(f"<polygon points='{' '.join(upper + lower)}' class='band'/>")
    for i, p in banded:  # whiskers too: a band between two points says nothing about a single one
        parts.append(f"<line x1='{px(i):.1f}' x2='{px(i):.1f}' y1='{py(float(p['ci'][0])):.1f}' "
                     f"y2='{py(float(p['ci'][1])):.1f}' class='ci'/>")
    if n > 1:
        line = " ".join(f"{px(i):.1f},{py(float(p['value'])):.1f}" for i, p in enumerate(usable))
        parts.append(f"<polyline points='{line}' class='trendline'/>")
    for i, p in enumerate(usable):
        v = float(p["value"])
        ci = p.get("ci")
        label = f"{_fmt(v)}{' ' + unit if unit else ''}"
        tip = f"{p['at'][:16].replace('T', ' ')} run {p.get('run_id') or '?'}: {label}"
        if ci and None not in ci:
            tip += f" [{_fmt(float(ci[0]))}, {_fmt(float(ci[1]))}]"
        parts.append(f"<circle cx='{px(i):.1f}' cy='{py(v):.1f}' r='4' class='pt'><title>{escape(tip)}</title></circle>")
        parts.append(f"<text x='{px(i):.1f}' y='{py(v) - 8:.1f}' text-anchor='middle' class='lbl'>{escape(_fmt(v))}</text>")
    first, last = usable[0]["at"][:10], usable[-1]["at"][:10]
    parts.append(f"<text x='{left}' y='{height - 8}' class='axis'>{escape(first)}</text>")
    if n > 1:
        parts.append(f"<text x='{width - right}' y='{height - 8}' text-anchor='end' class='axis'>{escape(last)}</text>")
    parts.append(f"<text x='{(left + width - right) / 2:.0f}' y='{height - 8}' text-anchor='middle' class='axis'>"
                 f"{escape(unit or 'value')} per run, oldest to newest</text></svg>")
    skipped = len(points) - n
    note = f"<p class='muted'>{skipped} run(s) without this figure are not drawn.</p>" if skipped else ""
    return Markup("".join(parts) + note)


def stacked_bars_svg(buckets: Sequence[str], series: dict[str, Sequence[int]], *, title: str,
                     width: int = 720, height: int = 240) -> str:
    """Counts per bucket (e.g. hour) stacked by series (e.g. guard rule); each series also has its own dash
    pattern and the legend prints its total, so the chart reads without colour."""
    from markupsafe import Markup, escape

    names = list(series)
    if not buckets or not names:
        return Markup(f"<p class='muted no-data'>{escape(title)}: nothing blocked yet.</p>")
    totals = [sum(series[s][i] for s in names) for i in range(len(buckets))]
    top_v = max(totals) or 1
    left, right, top, bottom = 44, 190, 12, 40
    slot = (width - left - right) / len(buckets)
    bar_w = max(2.0, slot * 0.7)
    py = lambda v: top + (height - top - bottom) * (1 - v / top_v)  # noqa: E731
    parts = [f"<svg role='img' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}' class='stacked' aria-label='{escape(title)}'>",
             f"<line x1='{left}' y1='{py(0):.1f}' x2='{width - right}' y2='{py(0):.1f}' class='axisline'/>",
             f"<text x='{left - 6}' y='{py(top_v) + 4:.1f}' text-anchor='end' class='axis'>{top_v}</text>",
             f"<text x='{left - 6}' y='{py(0) + 4:.1f}' text-anchor='end' class='axis'>0</text>"]
    for i, bucket in enumerate(buckets):
        x = left + slot * i + (slot - bar_w) / 2
        base = 0
        for k, name in enumerate(names):
            count = series[name][i]
            if not count:
                continue
            y0, y1 = py(base), py(base + count)
            parts.append(f"<rect x='{x:.1f}' y='{y1:.1f}' width='{bar_w:.1f}' height='{max(0.5, y0 - y1):.1f}' "
                         f"fill='{PALETTE[k % len(PALETTE)]}' stroke='#0f172a' stroke-dasharray='{DASHES[k % len(DASHES)]}'"
                         f" class='seg' data-rule='{escape(name)}'><title>{escape(bucket)} {escape(name)}: {count}</title></rect>")
            base += count
        if totals[i]:
            parts.append(f"<text x='{x + bar_w / 2:.1f}' y='{py(totals[i]) - 3:.1f}' text-anchor='middle' "
                         f"class='lbl'>{totals[i]}</text>")
    parts.append(f"<text x='{left}' y='{height - 22}' class='axis'>{escape(buckets[0])}</text>")
    if len(buckets) > 1:
        parts.append(f"<text x='{width - right}' y='{height - 22}' text-anchor='end' class='axis'>"
                     f"{escape(buckets[-1])}</text>")
    for k, name in enumerate(names):
        y = top + 16 * k
        parts.append(f"<rect x='{width - right + 12}' y='{y}' width='12' height='12' fill='{PALETTE[k % len(PALETTE)]}' "
                     f"stroke='#0f172a' stroke-dasharray='{DASHES[k % len(DASHES)]}'/>"
                     f"<text x='{width - right + 30}' y='{y + 10}' class='lbl'>{escape(name)} ({sum(series[name])})</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
