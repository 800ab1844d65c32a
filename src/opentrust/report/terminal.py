"""The rich terminal summary printed at the end of a command."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from opentrust.report.model import Report

STYLES = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "blue", "info": "dim"}


def print_summary(report: Report, console: Console) -> None:
    table = Table(title=f"opentrust {report.command}: {report.target.name}", title_justify="left")
    table.add_column("check")
    table.add_column("status")
    table.add_column("findings", justify="right")
    table.add_column("key result", overflow="fold")
    for s in report.sections:
        worst = max((f.severity for f in s.findings), key=lambda x: x.rank, default=None)
        count = f"[{STYLES[worst.value]}]{len(s.findings)}[/]" if worst else "0"
        table.add_row(escape(s.title), s.status, count, escape(s.summary[:160]))
    console.print(table)
    findings = sorted(report.findings, key=lambda f: -f.severity.rank)
    if findings:
        ft = Table(title="Findings", title_justify="left")
        for col in ("severity", "rule", "title"):
            ft.add_column(col)
        for f in findings[:20]:
            # escape: case ids such as fact[water-formula] are not rich markup
            ft.add_row(f"[{STYLES[f.severity.value]}]{f.severity.value}[/]", escape(f.rule_id), escape(f.title))
        if len(findings) > 20:
            ft.caption = f"… and {len(findings) - 20} more in the report"
        console.print(ft)
    if report.summary:
        verdict = "[bold red]FAIL[/]" if report.summary.failed else "[bold green]PASS[/]"
        console.print(f"{verdict} at --fail-on {report.summary.fail_on} (exit {report.summary.exit_code})")
