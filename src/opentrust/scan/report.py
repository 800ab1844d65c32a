"""`opentrust scan` output: the JSON document and the rich table.

JSON (schema_version 1.1; 1.1 added ``kind``): ``{"schema_version", "kind": "scan", "tool", "files": [...],
"findings": [{"rule_id", "severity", "path", "offset", "message", "evidence", "remedy", ...}], "summary"}``.
Built as a plain dict (the fast path imports no pydantic); ``opentrust.read_result`` reads it back into
``opentrust.results.scan.ScanResult``, and a test holds the two together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentrust._version import __version__
from opentrust.scan.base import Severity

if TYPE_CHECKING:
    from rich.console import Console

    from opentrust.scan.base import ScanFinding
    from opentrust.scan.result import ScanResult

SCHEMA_VERSION = "1.1"  # = opentrust.results.scan.SCHEMA_VERSION (tests/test_results.py checks)
STYLES = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "blue", "info": "dim"}


def finding_dict(f: "ScanFinding") -> dict[str, Any]:
    return {
        "rule_id": f.rule_id, "severity": f.severity.value, "path": f.location.path, "offset": f.location.offset,
        "key": f.location.key, "title": f.title, "message": f.message, "evidence": f.evidence, "remedy": f.remedy,
        "properties": f.properties,
    }


def sorted_findings(findings: list[Any]) -> list[Any]:
    """Worst first, then by path and offset (works on ScanFinding records and pydantic Findings)."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.location.path or "", f.location.offset or 0))


def exceeds(findings: list[Any], threshold: Any) -> bool:
    """Whether any finding is at or above ``threshold`` (None: never)."""
    return threshold is not None and any(f.severity.rank >= threshold.rank for f in findings)


def to_json_dict(result: "ScanResult", fail_on: Severity | None = Severity.high) -> dict[str, Any]:
    counts = {s.value: 0 for s in Severity}
    for f in result.records:
        counts[f.severity.value] += 1
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "scan",
        "tool": {"name": "opentrust", "version": __version__},
        "files": [
            {"path": r.path, "format": r.format, "size": r.size, "findings": r.findings,
             "max_severity": r.max_severity, "seconds": r.seconds, "nested": r.nested}
            for r in result.files
        ],
        "findings": [finding_dict(f) for f in sorted_findings(result.records)],
        "summary": {"files": len(result.files), "findings_by_severity": counts, "seconds": result.seconds,
                    "bytes_read": result.bytes_read, "fail_on": fail_on.value if fail_on else "none",
                    "failed": exceeds(result.records, fail_on)},
    }


def render_json(result: "ScanResult", fail_on: Severity | None = Severity.high) -> str:
    """`opentrust scan --format json` (the ``json`` reporter of scan results)."""
    import json

    return json.dumps(to_json_dict(result, fail_on), indent=2) + "\n"


def render_sarif(result: "ScanResult") -> str:
    """`opentrust scan --format sarif`: SARIF 2.1.0 listing every rule (the ``sarif`` reporter of scan results)."""
    import json

    from opentrust.report.sarif import to_sarif
    from opentrust.scan.dispatch import all_rules

    return json.dumps(to_sarif(sorted_findings(result.findings), all_rules()), indent=2) + "\n"


def relative_display(path: str, roots: list[str]) -> str:
    """A finding's path shortened relative to the scanned root it lies under (``outer!inner`` kept)."""
    import os

    outer, sep, inner = path.partition("!")
    best = outer
    for root in roots:
        r = root.rstrip(os.sep)
        if outer == r:
            best = os.path.basename(r) or r
            break
        if outer.startswith(r + os.sep):
            rel = outer[len(r) + 1:]
            if len(rel) < len(best):
                best = rel
    return best + sep + inner


def elide(text: str, width: int) -> str:
    """Shorten a path to ``width`` characters by dropping middle folders (``a/…/c/file``)."""
    if len(text) <= width or width < 8:
        return text
    head, _, tail = text.rpartition("/")
    if not head:
        return "…" + text[-(width - 1):]
    keep = max(width - len(tail) - 2, 1)
    return (head[:keep] + "…/" + tail) if len(tail) < width - 3 else "…" + text[-(width - 1):]


_SHORT = {"critical": "CRIT", "high": "HIGH", "medium": "MED", "low": "LOW", "info": "INFO"}


def _line(cells: list[tuple[str, str | None, int]], console: "Console") -> None:
    """One table row: (text, style, width) cells padded or cut to their width, single-spaced."""
    from rich.text import Text

    t = Text(no_wrap=True, overflow="ellipsis")
    for i, (text, style, w) in enumerate(cells):
        if i:
            t.append(" ")
        cut = text if len(text) <= w else text[: max(w - 1, 0)] + "…"
        t.append(cut.ljust(w) if i < len(cells) - 1 else cut, style=style)
    console.print(t, soft_wrap=False, overflow="ellipsis", no_wrap=True, crop=True)


def print_table(result: "ScanResult", console: "Console", limit: int = 50, roots: list[str] | None = None) -> None:
    """Findings one per line, then files one per line, sized to the terminal (80 columns included): paths are
    shown relative to the scanned folder and shortened in the middle when long, messages cut at the edge. The
    full text of everything is in ``--format json``."""
    roots = roots if roots is not None else list(getattr(result, "roots", []) or [])
    width = max(40, console.width or 80)
    narrow = width < 120
    findings = sorted_findings(result.records)
    if findings:
        shown = findings[:limit]
        sev_w = 4 if narrow else 8
        rule_w = min(max(len(f.rule_id) for f in shown), 29)
        wheres = []
        for f in shown:
            where = relative_display(f.location.path or "", roots)
            at = "" if f.location.offset is None else f"@{f.location.offset}"
            wheres.append((where, at))
        budget = width - sev_w - rule_w - 3
        where_w = min(max(len(w) + len(a) for w, a in wheres), max(16, budget * 2 // 5 if narrow else budget // 3))
        msg_w = max(budget - where_w, 10)
        console.print("Findings", style="bold")
        _line([("sev", "bold", sev_w), ("rule", "bold", rule_w), ("where", "bold", where_w),
               ("message", "bold", msg_w)], console)
        for f, (where, at) in zip(shown, wheres):
            sev = f.severity.value
            loc = elide(where, max(where_w - len(at), 8)) + at
            message = f.message if narrow else f.message[:msg_w * 3]
            if narrow or len(message) <= msg_w:
                _line([(_SHORT[sev] if narrow else sev, STYLES[sev], sev_w), (f.rule_id, None, rule_w),
                       (loc, None, where_w), (message, None, msg_w)], console)
            else:  # a wide terminal: long messages continue on indented lines
                import textwrap

                parts = textwrap.wrap(message, msg_w, break_long_words=True) or [""]
                _line([(sev, STYLES[sev], sev_w), (f.rule_id, None, rule_w), (loc, None, where_w),
                       (parts[0], None, msg_w)], console)
                indent = " " * (sev_w + rule_w + where_w + 3)
                for part in parts[1:4]:
                    console.print(indent + part, soft_wrap=False, crop=True, highlight=False)
        if len(findings) > limit:
            console.print(f"… and {len(findings) - limit} more (use --format json)", style="dim")
        console.print()
    rows = [(elide(relative_display(r.path, roots), width), r) for r in result.files]
    fmt_w = max([6, *(len(r.format) for _, r in rows)])
    file_w = max(min(max([4, *(len(p) for p, _ in rows)]), width - fmt_w - 28), 12)
    console.print("Files", style="bold")
    _line([("file", "bold", file_w), ("format", "bold", fmt_w), ("findings", "bold", 8), ("worst", "bold", 8),
           ("time (s)", "bold", 8)], console)
    for path, r in rows:
        worst = r.max_severity or "-"
        _line([(elide(path, file_w), None, file_w), (r.format, None, fmt_w), (str(r.findings).rjust(8), None, 8),
               (worst, STYLES.get(worst), 8), (f"{r.seconds:.3f}".rjust(8), None, 8)], console)
    counts = {s.value: sum(1 for f in result.records if f.severity == s) for s in Severity}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
    console.print(f"{len(result.files)} files, {parts}, {result.seconds:.2f} s")
