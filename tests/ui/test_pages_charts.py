"""The UI's server-side SVG charts: interval bands, numbers as text, escaping, and the empty cases."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from opentrust.ui.charts import stacked_bars_svg, trend_svg

SVG = "{http://www.w3.org/2000/svg}"


def _svg(markup: str) -> ET.Element:
    return ET.fromstring(markup[markup.index("<svg"):markup.index("</svg>") + 6])


def test_trend_draws_the_interval_band_and_prints_every_value() -> None:
    points = [{"run_id": f"r{i}", "at": f"2026-01-0{i}T10:00:00+00:00", "value": v, "low": v - 0.1, "high": v + 0.1}
              for i, v in ((3, 0.5), (1, 0.2), (2, 0.3))]
    svg = _svg(str(trend_svg(points, title="Attack success", unit="ratio", y_max=1.0)))
    assert len(svg.findall(f"{SVG}polygon[@class='band']")) == 1
    assert len(svg.findall(f"{SVG}line[@class='ci']")) == 3  # a whisker per point as well
    labels = [t.text for t in svg.findall(f"{SVG}text[@class='lbl']")]
    assert labels == ["0.2", "0.3", "0.5"]  # oldest to newest, whatever order they came in
    line = svg.find(f"{SVG}polyline[@class='trendline']")
    assert line is not None
    ys = [float(pair.split(",")[1]) for pair in line.get("points", "").split()]
    assert ys[0] > ys[1] > ys[2]  # rising values climb (SVG y grows downwards)
    tips = [c.find(f"{SVG}title").text for c in svg.findall(f"{SVG}circle")]  # type: ignore[union-attr]
    assert tips[0] == "2026-01-01 10:00 run r1: 0.2 ratio [0.1, 0.3]"


def test_trend_without_figures_says_so_and_skipped_points_are_counted() -> None:
    assert "no measurement yet" in str(trend_svg([], title="Latency"))
    markup = str(trend_svg([{"run_id": "a", "at": "2026-01-01T00:00:00", "value": 1.5},
                            {"run_id": "b", "at": "2026-01-02T00:00:00", "value": None}], title="Latency", unit="s"))
    assert "1 run(s) without this figure" in markup
    assert _svg(markup).find(f"{SVG}polygon") is None  # no interval, no band


def test_chart_text_is_escaped() -> None:
    markup = str(trend_svg([{"run_id": "<script>x</script>", "at": "2026-01-01T00:00:00", "value": 1.0}],
                           title="<b>t</b>"))
    assert "<script>" not in markup and "<b>" not in markup
    markup = str(stacked_bars_svg(["2026-01-01T10"], {"<img src=x>": [2]}, title="blocks"))
    assert "<img" not in markup and "&lt;img src=x&gt; (2)" in markup


def test_stacked_bars_total_per_bucket_and_legend_counts() -> None:
    svg = _svg(str(stacked_bars_svg(["h1", "h2"], {"injection": [2, 0], "pii.email": [1, 3]}, title="blocks")))
    segments = svg.findall(f"{SVG}rect[@class='seg']")
    assert len(segments) == 3  # zero counts draw nothing
    assert {s.get("stroke-dasharray") for s in segments} == {"", "6 3"}  # told apart without colour too
    texts = [t.text for t in svg.findall(f"{SVG}text")]
    assert "3" in texts and "injection (2)" in texts and "pii.email (4)" in texts
    assert "nothing blocked yet" in str(stacked_bars_svg([], {}, title="blocks"))
    assert re.search(r"aria-label='blocks'", str(stacked_bars_svg(["h"], {"r": [1]}, title="blocks")))
