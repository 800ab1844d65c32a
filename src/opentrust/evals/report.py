"""Presenting test results: the terminal summary table and the audit report Section (table + interval bars)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentrust.evals.runner import CaseResult
    from opentrust.evals.testrun import TestRun
    from opentrust.report.model import Section

VERDICT_STYLE = {"pass": "green", "fail": "bold red", "inconclusive": "yellow", "error": "magenta"}


def _rate(r: "CaseResult") -> str:
    return "—" if r.pass_rate is None else f"{r.pass_rate:.2f}"


def print_table(run: "TestRun", console: Any, fail_on_inconclusive: bool = False) -> None:
    from rich.table import Table

    table = Table(title=f"opentrust test: {run.model.get('name')}", title_justify="left")
    table.add_column("case", no_wrap=True, min_width=min(40, max((len(r.id) for r in run.results), default=4)))
    for col in ("verdict", "pass rate", "95% CI", "samples", "required"):
        table.add_column(col, justify="left" if col == "verdict" else "right", no_wrap=True)
    table.add_column("first failure", overflow="ellipsis", no_wrap=True, max_width=48)
    for r in run.results:
        first = r.failures[0]["reason"] if r.failures else (r.error_details[0]["reason"] if r.error_details else "")
        table.add_row(r.id, f"[{VERDICT_STYLE[r.verdict]}]{r.verdict}[/]", _rate(r),
                      f"[{r.ci[0]:.2f}, {r.ci[1]:.2f}]", str(r.samples) + (f" (+{r.errors} err)" if r.errors else ""),
                      f"≥{r.require['pass_rate']}", first[:70])
    console.print(table)
    s = run.suite
    ci = f" [{s['ci'][0]:.2f}, {s['ci'][1]:.2f}]" if s.get("ci") else ""
    rate = f"{s['pass_rate']:.2f}" if s.get("pass_rate") is not None else "—"
    failed = run.failed(fail_on_inconclusive)
    console.print(f"{'[bold red]FAIL[/]' if failed else '[bold green]PASS[/]'}  {s['pass']} passed, {s['fail']} failed, "
                  f"{s['inconclusive']} inconclusive, {s['error']} errors; suite pass rate {rate}{ci} across "
                  f"{s['cases']} cases; {s['samples']} samples ({s['generated']} generated, {s['reused']} from cache)")


def section(run: "TestRun", check: str, title: str, severity_by_suite: dict[str, str] | None = None) -> "Section":
    from opentrust.findings import Finding, Measurement, Severity
    from opentrust.report.model import Bar, BarChart, Section, Table

    severity_by_suite = severity_by_suite or {}
    rows, bars, findings = [], [], []
    for r in run.results:
        rows.append([r.suite, r.id, r.verdict, None if r.pass_rate is None else round(r.pass_rate, 3),
                     f"[{r.ci[0]:.2f}, {r.ci[1]:.2f}]", r.samples, r.require["pass_rate"],
                     (r.failures[0]["reason"] if r.failures else "")[:100]])
        bars.append(Bar(label=r.id, value=round(r.pass_rate or 0.0, 3), interval=(round(r.ci[0], 3), round(r.ci[1], 3)),
                        note=f"{r.verdict} ({r.successes}/{r.samples})"))
        if r.verdict in ("fail", "error"):
            sev = Severity(severity_by_suite.get(r.suite, "low")) if r.verdict == "fail" else Severity.info
            example = r.failures[0] if r.failures else (r.error_details[0] if r.error_details else {})
            findings.append(Finding(
                rule_id=f"OT-BEHAVIOUR-{r.suite.upper().replace('-', '_')}", severity=sev, check=check,
                title=f"Case {r.id} {'failed' if r.verdict == 'fail' else 'could not be evaluated'}: pass rate "
                      f"{_rate(r)} (CI [{r.ci[0]:.2f}, {r.ci[1]:.2f}]) vs required {r.require['pass_rate']}",
                message=f"Prompt: {r.prompt[:200]}", evidence=str(example.get("output", ""))[:300],
                remedy="Review the failing outputs; choose a stronger model or adjust the prompt/system prompt.",
                properties={"case": r.id, "reason": example.get("reason", ""), "samples": r.samples}))
    s = run.suite
    measurements = [Measurement(name=f"behaviour.{name}.pass_rate", value=v["pass_rate"], unit="ratio",
                                n=v["cases"], interval=tuple(v["ci"]) if v["ci"] else None,  # type: ignore[arg-type]
                                confidence=v["confidence"] if v["ci"] else None, method=v["method"],
                                label=f"{name}: mean case pass rate")
                    for name, v in s["by_suite"].items()]
    summary = (f"{s['pass']} of {s['cases']} cases passed, {s['fail']} failed, {s['inconclusive']} inconclusive"
               f"{', ' + str(s['error']) + ' errors' if s['error'] else ''}; "
               f"{s['samples']} samples ({s['generated']} generated, {s['reused']} from cache).")
    return Section(
        check=check, title=title, status="findings" if findings else "ok", summary=summary, findings=findings,
        measurements=measurements,
        tables=[Table(title="Cases (sequential test per case; Clopper–Pearson 95% interval)",
                      columns=["suite", "case", "verdict", "pass rate", "95% CI", "samples", "required", "first failure"],
                      rows=rows)],
        charts=[BarChart(title="Pass rate per case (95% Clopper–Pearson interval)", unit="ratio", max_value=1.0,
                         bars=bars)],
        data={"cases": [r.to_json() for r in run.results], "suite": s})
