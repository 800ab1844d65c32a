"""Presenting a comparison: the terminal table with the recommendation in one sentence, and the self-contained
HTML report (the audit report's stylesheet and jinja environment; inline SVG, no script: the x axis of the
quality/cost scatter is picked with CSS radio buttons, so it works with JavaScript off)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentrust.results.compare import CompareResult

VERDICT_STYLE = {"better": "bold green", "worse": "bold red", "non_inferior": "green", "tied": "cyan",
                 "inconclusive": "yellow"}
#: x axes of the scatter: (label, unit, read value, read interval, read source for the marker)
SCATTER_AXES = ("energy", "latency", "memory", "file_size")


def _num(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}g}"


def _ci(ci: Any, digits: int = 2) -> str:
    return "" if not ci else f" [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def warnings(result: "CompareResult") -> list[str]:
    """What the numbers alone would hide: models that answered with nothing, figures that are estimates."""
    out = []
    for m in result.models:
        q = m.quality
        length = q.finish_reasons.get("length", 0)
        if q.samples and (q.empty_answers * 2 >= q.samples or length * 2 >= q.samples):
            what = []
            if q.empty_answers:
                what.append(f"{q.empty_answers} of {q.samples} answers were empty")
            if length:
                what.append(f"{length} of {q.samples} ran to the token limit")
            cause = " (its GGUF has no chat template: the chat format was guessed)" if m.chat_template is False else ""
            hint = f"; a base model? try completion:{m.target}" if m.prompt_mode == "chat" and (
                m.chat_template is False or q.empty_answers * 2 >= q.samples) else ""
            out.append(f"{m.target}: {' and '.join(what)}{cause}{hint}")
        if m.latency.no_token:
            out.append(f"{m.target}: {m.latency.no_token} of {m.latency.answers} timed answers ended before their "
                       "first token (no time to first token)")
    sources = {m.energy.source for m in result.models}
    if "estimated:cpu-watts" in sources:
        out.append("energy is an estimate: " + result.summary.energy_method)
    elif sources == {"unavailable"}:
        out.append("energy unavailable: " + result.summary.energy_method)
    return out


def print_table(result: "CompareResult", console: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    p = result.parameters
    table = Table(title=f"opentrust compare: {p['cases']} cases, up to {p['max_samples_per_case']} samples each",
                  title_justify="left")
    co2 = any(m.co2.g_per_1k is not None for m in result.models)
    for col in ("target", "quality", "TTFT s", "tok/s", "RSS MB", "Wh/1k", *(["gCO2/1k"] if co2 else [])):
        table.add_column(col, justify="left" if col in ("target", "quality") else "right",
                         no_wrap=col != "target", overflow="fold", max_width=24 if col == "target" else None)
    for m in result.models:
        q = m.quality
        quality = "—" if q.mean is None else f"{q.mean:.2f}" + (f" {q.ci[0]:.2f}–{q.ci[1]:.2f}" if q.ci else "")
        energy = _num(m.energy.wh_per_1k) + ("*" if m.energy.source.startswith("estimated") else "")
        row = [escape(m.target), quality, _num(m.latency.ttft_p50, 2), _num(m.latency.decode_tok_s),
               _num(m.memory.peak_rss_mb, 4), energy]
        table.add_row(*row, *([_num(m.co2.g_per_1k)] if co2 else []))
    sources = sorted({m.energy.source for m in result.models})
    table.caption = ("quality: mean case pass rate, 95% CI over cases; TTFT p50 (streamed); tok/s: decode; "
                     f"energy: {', '.join(sources)}" + ("; * estimated" if any(s.startswith("estimated") for s in sources) else ""))
    table.caption_justify = "left"
    console.print(table)
    pairs = Table(title=f"paired verdicts, a against b (δ={p['delta']:g}, {p['confidence']:.1%} intervals, Holm)",
                  title_justify="left")
    for col in ("a", "b", "a−b", "interval", "p adj", "verdict", "TTFT a/b"):
        pairs.add_column(col, justify="left" if col in ("a", "b", "verdict") else "right",
                         no_wrap=col not in ("a", "b"), overflow="fold", max_width=16 if col in ("a", "b") else None)
    for pr in result.pairs:
        ratio = pr.latency_ratio.get("ttft")
        pairs.add_row(escape(pr.a), escape(pr.b), "—" if pr.diff is None else f"{pr.diff:+.2f}",
                      "—" if pr.ci is None else f"{pr.ci[0]:+.2f}…{pr.ci[1]:+.2f}", _num(pr.p_adjusted, 2),
                      f"[{VERDICT_STYLE[pr.verdict]}]{pr.verdict}[/]", "—" if ratio is None else f"{ratio.ratio:.2f}")
    console.print(pairs)
    for pr in result.pairs:
        if pr.verdict == "inconclusive":
            console.print(f"[yellow]inconclusive[/] {escape(pr.a)} vs {escape(pr.b)}: {escape(pr.reason)}")
    for w in warnings(result):
        console.print(f"[yellow]note[/] {escape(w)}")
    r = result.recommendation
    s = result.summary
    console.print(f"[bold]Recommendation:[/] {escape(r.reason)}.")
    console.print(f"[dim]{s.generated} answers generated, {s.reused} reused from the cache; "
                  f"{s.rounds_used} round(s) of sampling; {s.wall_s:.0f} s[/]")


# -- HTML -----------------------------------------------------------------------------------------------------
def _axis(m: Any, axis: str) -> tuple[float | None, list[float] | None, bool]:
    """(value, interval, estimated) of a model on a cost axis."""
    if axis == "energy":
        return m.energy.wh_per_1k, m.energy.ci, m.energy.source.startswith("estimated")
    if axis == "latency":
        return m.latency.ttft_p50, m.latency.ci.get("ttft_p50"), False
    if axis == "memory":
        return m.memory.peak_rss_mb, None, False
    return (None if m.file_bytes is None else m.file_bytes / 1e6), None, False


AXIS_LABEL = {"energy": "energy, Wh per 1,000 queries", "latency": "time to first token p50, s",
              "memory": "peak RSS, MB", "file_size": "file size, MB"}


def scatter_svg(result: "CompareResult", axis: str) -> str:
    """Quality (y, 0..1) against one cost (x): interval bars both ways, the Pareto front as a line, estimated
    energy points hollow."""
    from markupsafe import Markup, escape

    from opentrust.compare.pareto import front

    models = [m for m in result.models if _axis(m, axis)[0] is not None and m.quality.mean is not None]
    missing = [m.target for m in result.models if m not in models]
    if not models:
        return Markup(f"<p class='muted'>No model has a figure for {escape(AXIS_LABEL[axis])}.</p>")
    w, h, left, bottom, top_pad, right_pad = 640, 340, 56, 40, 12, 150
    xs = [v for m in models for v in [_axis(m, axis)[0], *(_axis(m, axis)[1] or [])] if v is not None]
    xmax = max(xs) * 1.1 or 1.0
    px = lambda v: left + (w - left - right_pad) * (v / xmax)  # noqa: E731
    py = lambda q: top_pad + (h - top_pad - bottom) * (1 - q)  # noqa: E731
    parts = [f"<svg role='img' xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' viewBox='0 0 {w} {h}' "
             f"class='scatter' data-axis='{axis}' aria-label='quality against {escape(AXIS_LABEL[axis])}'>",
             f"<line x1='{left}' y1='{py(0)}' x2='{w - right_pad}' y2='{py(0)}' class='axisline'/>",
             f"<line x1='{left}' y1='{py(0)}' x2='{left}' y2='{py(1)}' class='axisline'/>"]
    for q in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f"<text x='{left - 6}' y='{py(q) + 4:.1f}' text-anchor='end' class='axis'>{q:g}</text>")
    for i in range(5):
        v = xmax * i / 4
        parts.append(f"<text x='{px(v):.1f}' y='{h - bottom + 16}' text-anchor='middle' class='axis'>{v:.3g}</text>")
    parts.append(f"<text x='{(left + w - right_pad) / 2:.0f}' y='{h - 6}' text-anchor='middle' class='axis'>"
                 f"{escape(AXIS_LABEL[axis])}</text>")
    parts.append(f"<text x='12' y='{py(0.5):.0f}' transform='rotate(-90 12 {py(0.5):.0f})' text-anchor='middle' "
                 "class='axis'>quality (pass rate)</text>")
    on_front = front([m.model_dump(by_alias=True) for m in result.models], axis)
    points = sorted(((_axis(m, axis)[0], m.quality.mean) for m in models if m.target in on_front))
    if len(points) >= 2:
        path = " ".join(f"{px(x):.1f},{py(q):.1f}" for x, q in points)
        parts.append(f"<polyline points='{path}' class='front'/>")
    for m in models:
        x, ci, estimated = _axis(m, axis)
        assert x is not None and m.quality.mean is not None
        cx, cy = px(x), py(m.quality.mean)
        if m.quality.ci:
            parts.append(f"<line x1='{cx:.1f}' x2='{cx:.1f}' y1='{py(m.quality.ci[0]):.1f}' y2='{py(m.quality.ci[1]):.1f}' "
                         "class='ci'/>")
        if ci:
            parts.append(f"<line x1='{px(ci[0]):.1f}' x2='{px(ci[1]):.1f}' y1='{cy:.1f}' y2='{cy:.1f}' class='ci'/>")
        kind = "estimated" if estimated else "measured"
        tag = " (estimated)" if estimated else ""
        parts.append(f"<circle cx='{cx:.1f}' cy='{cy:.1f}' r='6' class='point {kind}"
                     f"{' pareto' if m.target in on_front else ''}' data-target='{escape(m.target)}'>"
                     f"<title>{escape(m.target)}: quality {m.quality.mean:.3f}, {x:.4g}{escape(tag)}</title></circle>")
        parts.append(f"<text x='{cx + 9:.1f}' y='{cy - 8:.1f}' class='lbl'>{escape(m.target)}{escape(tag)}</text>")
    parts.append("</svg>")
    note = f"<p class='muted'>Not shown (no figure): {escape(', '.join(missing))}.</p>" if missing else ""
    return Markup("".join(parts) + note)


def matrix(result: "CompareResult") -> dict[str, Any]:
    """The pairwise verdict matrix: cell [row][column] = verdict of row against column."""
    targets = [m.target for m in result.models]
    cells: dict[str, dict[str, str]] = {t: {} for t in targets}
    for p in result.pairs:
        cells[p.a][p.b] = p.verdict
        cells[p.b][p.a] = p.reverse_verdict
    return {"targets": targets, "cells": cells}


def html_context(result: "CompareResult") -> dict[str, Any]:
    """What compare.html.j2 reads (the report file and the web UI's compare page render the same template)."""
    disagreements = sorted((c for c in result.cases if c.spread), key=lambda c: -(c.spread or 0))
    return {"result": result, "axes": list(SCATTER_AXES), "axis_label": AXIS_LABEL, "matrix": matrix(result),
            "disagreements": disagreements, "notes": warnings(result), "isfinite": math.isfinite}


def render_html(result: "CompareResult") -> str:
    from opentrust.report.html import _environment

    env = _environment()
    env.globals["scatter_svg"] = scatter_svg
    return env.get_template("compare.html.j2").render(**html_context(result))
