"""The terminal table at 80 columns: paths relative to the scanned folder, one finding per line."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from opentrust.scan.dispatch import scan_paths
from opentrust.scan.report import elide, print_table, relative_display
from payloads import pickle_payloads


def _render(result, width: int) -> list[str]:
    buf = io.StringIO()
    print_table(result, Console(file=buf, width=width, force_terminal=False, color_system=None))
    return buf.getvalue().splitlines()


def test_findings_fit_80_columns_one_per_line(tmp_path: Path) -> None:
    deep = tmp_path / "org" / "a-rather-long-model-repository-name" / "snapshots" / "0123456789abcdef" / "sub"
    deep.mkdir(parents=True)
    payloads = pickle_payloads(tmp_path / "marker")
    for name in ("timeit", "cprofile_run", "nested_b64_loads"):
        (deep / f"pytorch_model_{name}_with_a_long_file_name.bin").write_bytes(payloads[name])
    result = scan_paths([tmp_path / "org"])
    lines = _render(result, 80)
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    finding_lines = [ln for ln in lines if ln.lstrip().startswith(("CRIT", "HIGH", "MED", "LOW", "INFO"))]
    assert len(finding_lines) == len(result.findings), "\n".join(lines)
    assert str(tmp_path) not in "\n".join(lines)  # relative to the scanned folder
    assert any("…" in ln and ".bin" in ln for ln in finding_lines)  # long paths shortened in the middle


def test_wide_terminal_shows_full_words(tmp_path: Path) -> None:
    p = tmp_path / "model.pkl"
    p.write_bytes(pickle_payloads(tmp_path / "m")["timeit"])
    text = "\n".join(_render(scan_paths([p]), 160))
    assert "critical" in text and "PICKLE-DANGEROUS-CALL" in text and "model.pkl@" in text


def test_relative_and_elided_paths() -> None:
    assert relative_display("/r/m/a/b.bin!inner.pkl", ["/r/m"]) == "a/b.bin!inner.pkl"
    assert relative_display("/r/m/file.pkl", ["/r/m/file.pkl"]) == "file.pkl"
    assert relative_display("/elsewhere/x", ["/r/m"]) == "/elsewhere/x"
    short = elide("aaaa/bbbbbbbbbb/cccccccccc/dddd/file.bin", 24)
    assert len(short) <= 24 and short.endswith("/file.bin") and "…" in short
