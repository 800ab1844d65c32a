"""`opentrust scan` output: the JSON document and the rich table.

JSON (schema_version 1): ``{"schema_version", "tool", "files": [...], "findings": [{"rule_id", "severity",
"path", "offset", "message", "evidence", "remedy", ...}], "summary"}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentrust import __version__
from opentrust.findings import Finding, Severity

if TYPE_CHECKING:
    from rich.console import Console

    from opentrust.scan.dispatch import ScanResult

SCHEMA_VERSION = "1"
STYLES = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "blue", "info": "dim"}


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "rule_id": f.rule_id, "severity": f.severity.value, "path": f.location.path, "offset": f.location.offset,
        "key": f.location.key, "title": f.title, "message": f.message, "evidence": f.evidence, "remedy": f.remedy,
        "properties": f.properties,
    }


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity.rank, f.location.path or "", f.location.offset or 0))


def to_json_dict(result: "ScanResult", fail_on: Severity | None = Severity.high) -> dict[str, Any]:
    from opentrust.findings import exceeds

    counts = {s.value: 0 for s in Severity}
    for f in result.findings:
        counts[f.severity.value] += 1
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "opentrust", "version": __version__},
        "files": [
            {"path": r.path, "format": r.format, "size": r.size, "findings": r.findings,
             "max_severity": r.max_severity, "seconds": r.seconds, "nested": r.nested}
            for r in result.files
        ],
        "findings": [finding_dict(f) for f in sorted_findings(result.findings)],
        "summary": {"files": len(result.files), "findings_by_severity": counts, "seconds": result.seconds,
                    "bytes_read": result.bytes_read, "fail_on": fail_on.value if fail_on else "none",
                    "failed": exceeds(result.findings, fail_on)},
    }


def print_table(result: "ScanResult", console: "Console", limit: int = 50) -> None:
    from rich.table import Table

    findings = sorted_findings(result.findings)
    if findings:
        t = Table(title="Findings", title_justify="left")
        for col in ("severity", "rule", "path", "offset", "message"):
            t.add_column(col, overflow="fold")
        for f in findings[:limit]:
            t.add_row(f"[{STYLES[f.severity.value]}]{f.severity.value}[/]", f.rule_id, f.location.path or "",
                      "" if f.location.offset is None else str(f.location.offset), f.message[:200])
        if len(findings) > limit:
            t.caption = f"… and {len(findings) - limit} more (use --format json)"
        console.print(t)
    ft = Table(title="Files", title_justify="left")
    for col in ("file", "format", "findings", "worst", "time (s)"):
        ft.add_column(col, overflow="fold", justify="right" if col in ("findings", "time (s)") else "left")
    for r in result.files:
        worst = f"[{STYLES[r.max_severity]}]{r.max_severity}[/]" if r.max_severity else "-"
        ft.add_row(r.path, r.format, str(r.findings), worst, f"{r.seconds:.3f}")
    console.print(ft)
    counts = {s.value: sum(1 for f in result.findings if f.severity == s) for s in Severity}
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
    console.print(f"{len(result.files)} files, {parts}, {result.seconds:.2f} s")
