"""Presenting test results: the terminal summary table and the audit report Section (table + interval bars)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentrust.evals.verdicts import num, pct

if TYPE_CHECKING:
    from opentrust.evals.runner import CaseResult
    from opentrust.evals.testrun import TestRun
    from opentrust.report.model import Section

VERDICT_STYLE = {"pass": "green", "fail": "bold red", "inconclusive": "yellow", "error": "magenta"}


def _rate(r: "CaseResult") -> str:
    return "—" if r.pass_rate is None else f"{r.pass_rate:.2f}"


def _interval_header(results: list["CaseResult"]) -> str:
    levels = {round(r.confidence, 6) for r in results}
    return f"{pct(levels.pop())} interval" if len(levels) == 1 else "interval"


def _suite_figure(name: str, v: dict[str, Any], cases: bool = False) -> str:
    """A suite's pass rate, or 'insufficient evidence' when its interval decides nothing."""
    units = f"{v['units']} case{'s' if v['units'] != 1 else ''}"
    if v.get("pass_rate") is None:
        return f"{name}: no sample"
    if v.get("evidence") == "insufficient" or not v.get("ci"):
        return f"{name}: insufficient evidence ({units})"
    return f"{name} {v['pass_rate']:.2f} [{v['ci'][0]:.2f}, {v['ci'][1]:.2f}]" + (f" over {units}" if cases else "")


def print_table(run: "TestRun", console: Any, fail_on_inconclusive: bool = False) -> None:
    from rich.markup import escape
    from rich.table import Table

    from opentrust.evals.verdicts import claim, interval_note

    table = Table(title=f"opentrust test: {run.model.get('name')}", title_justify="left")
    table.add_column("case", no_wrap=True, min_width=min(40, max((len(r.id) for r in run.results), default=4)))
    for col in ("verdict", "decided", "pass rate", _interval_header(run.results), "samples", "required"):
        table.add_column(col, justify="left" if col in ("verdict", "decided") else "right", no_wrap=True)
    table.add_column("first failure", overflow="ellipsis", no_wrap=True, max_width=48)
    for r in run.results:
        first = r.failures[0]["reason"] if r.failures else (r.error_details[0]["reason"] if r.error_details else "")
        # escape: ids such as fact[water-formula] and model output are not rich markup
        table.add_row(escape(r.id), f"[{VERDICT_STYLE[r.verdict]}]{r.verdict}[/]", claim(r.verdict, r.require),
                      _rate(r), escape(f"[{r.ci[0]:.2f}, {r.ci[1]:.2f}]"),
                      str(r.samples) + (f" (+{r.errors} err)" if r.errors else ""),
                      f"{num(r.require['pass_rate'])} ± {num(r.require['indifference'])}", escape(first[:70]))
    designs = {(r.require["alpha"], r.require["beta"]) for r in run.results}
    if len(designs) == 1:
        alpha, beta = designs.pop()
        table.caption = (f"decided: pass = rate above pass_rate - indifference (false-pass risk ≤ {pct(alpha)}), "
                         f"fail = rate below pass_rate + indifference (false-fail risk ≤ {pct(beta)}); in between "
                         f"either verdict may happen. {interval_note(alpha, beta)}.")
        table.caption_justify = "left"
    console.print(table)
    s = run.suite
    failed = run.failed(fail_on_inconclusive)
    figure = _suite_figure("suite pass rate", s, cases=True)
    console.print(f"{'[bold red]FAIL[/]' if failed else '[bold green]PASS[/]'}  {s['pass']} passed, {s['fail']} failed, "
                  f"{s['inconclusive']} inconclusive, {s['error']} errors; {figure}; "
                  f"{s['samples']} samples ({s['generated']} generated, {s['reused']} from cache)")


def section(run: "TestRun", check: str, title: str, severity_by_suite: dict[str, str] | None = None) -> "Section":
    from opentrust.evals.verdicts import claim, decision, interval_note
    from opentrust.findings import Finding, Measurement, Severity
    from opentrust.report.model import Bar, BarChart, Section, Table

    severity_by_suite = severity_by_suite or {}
    rows, bars, findings = [], [], []
    for r in run.results:
        rows.append([r.suite, r.id, r.verdict, claim(r.verdict, r.require),
                     None if r.pass_rate is None else round(r.pass_rate, 3), f"[{r.ci[0]:.2f}, {r.ci[1]:.2f}]",
                     r.samples, f"{num(r.require['pass_rate'])} ± {num(r.require['indifference'])}",
                     (r.failures[0]["reason"] if r.failures else "")[:100]])
        bars.append(Bar(label=r.id, value=round(r.pass_rate or 0.0, 3), interval=(round(r.ci[0], 3), round(r.ci[1], 3)),
                        note=f"{r.verdict} ({r.successes}/{r.samples})"))
        if r.verdict in ("fail", "error"):
            sev = Severity(severity_by_suite.get(r.suite, "low")) if r.verdict == "fail" else Severity.info
            example = r.failures[0] if r.failures else (r.error_details[0] if r.error_details else {})
            findings.append(Finding(
                rule_id=f"OT-BEHAVIOUR-{r.suite.upper().replace('-', '_')}", severity=sev, check=check,
                title=f"Case {r.id} {'failed' if r.verdict == 'fail' else 'could not be evaluated'}: "
                      f"{decision(r.verdict, r.require, r.samples, r.errors)}; observed {_rate(r)} "
                      f"({r.successes}/{r.samples}), {pct(r.confidence)} interval [{r.ci[0]:.2f}, {r.ci[1]:.2f}]",
                message=f"Prompt: {r.prompt[:200]}", evidence=str(example.get("output", ""))[:300],
                remedy="Review the failing outputs; choose a stronger model or adjust the prompt/system prompt.",
                properties={"case": r.id, "reason": example.get("reason", ""), "samples": r.samples}))
    s = run.suite
    measurements = [Measurement(name=f"behaviour.{name}.pass_rate", value=v["pass_rate"], unit="ratio",
                                n=v["units"], interval=tuple(v["ci"]) if v["ci"] else None,  # type: ignore[arg-type]
                                confidence=v["confidence"] if v["ci"] else None, method=v["method"],
                                evidence=v["evidence"], label=f"{name}: mean case pass rate")
                    for name, v in s["by_suite"].items()]
    suite_bars = [Bar(label=name, value=v["pass_rate"], interval=(v["ci"][0], v["ci"][1]), note=f"{v['units']} cases")
                  for name, v in s["by_suite"].items() if v["evidence"] == "sufficient"]
    thin = [name for name, v in s["by_suite"].items() if v["evidence"] != "sufficient"]
    figures = "; ".join(_suite_figure(name, v) for name, v in s["by_suite"].items())
    summary = (f"{figures}. {s['pass']} of {s['cases']} cases passed, {s['fail']} failed, {s['inconclusive']} "
               f"inconclusive{', ' + str(s['error']) + ' errors' if s['error'] else ''}; "
               f"{s['samples']} samples ({s['generated']} generated, {s['reused']} from cache).")
    designs = {(r.require["alpha"], r.require["beta"]) for r in run.results}
    note = interval_note(*designs.pop()) if len(designs) == 1 else "interval: exact for each case's sequential test"
    charts = [BarChart(title="Pass rate per suite (mean over cases, 95% interval across cases)"
                             + (f"; insufficient evidence, not shown: {', '.join(thin)}" if thin else ""),
                       unit="ratio", max_value=1.0, bars=suite_bars),
              BarChart(title=f"Pass rate per case ({note})", unit="ratio", max_value=1.0, bars=bars)]
    return Section(
        check=check, title=title, status="findings" if findings else "ok", summary=summary, findings=findings,
        measurements=measurements,
        tables=[Table(title=f"Cases (sequential test per case: pass = rate above pass_rate - indifference, fail = "
                            f"rate below pass_rate + indifference, either may happen in between; {note})",
                      columns=["suite", "case", "verdict", "decided", "pass rate", _interval_header(run.results),
                               "samples", "required", "first failure"],
                      rows=rows)],
        charts=charts,
        data={"cases": [r.to_json() for r in run.results], "suite": s})
