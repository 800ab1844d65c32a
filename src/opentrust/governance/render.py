"""The gate's outputs: a terminal table, SARIF 2.1.0 (each rule not met a result; excepted rules suppressed), JUnit
XML (each rule a testcase) and the gate section of the audit report (HTML and JSON through the generic Section)."""

from __future__ import annotations

import json
from typing import Any

from opentrust.results.gate import GateResult, RuleOutcome

STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "unknown": "magenta", "excepted": "cyan"}


def value_text(rule: RuleOutcome) -> str:
    v = rule.evidence.value
    if v is None:
        return "—"
    if rule.expected.op == "exists" and isinstance(v, bool):
        return "present" if v else "absent"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return "[" + ", ".join(f"{x:.3g}" if isinstance(x, float) else str(x) for x in v[:6]) + \
               (", …]" if len(v) > 6 else "]")
    return str(v)


def expected_text(rule: RuleOutcome) -> str:
    e = rule.expected
    symbol = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "in": "in", "not_in": "not in",
              "exists": "exists", "matches": "matches"}[e.op]
    if e.op == "exists":
        text = "exists" if e.value is not False else "absent"
    else:
        text = f"{symbol} {json.dumps(e.value) if not isinstance(e.value, str) else e.value}"
    if e.bound != "point":
        text = f"{e.bound} bound {text}"
    if e.min_samples:
        text += f", n ≥ {e.min_samples}"
    return text


def summary_line(result: GateResult) -> str:
    c = result.counts
    excepted = f"; {c.excepted} excepted" if c.excepted else ""
    expired = f"; {c.expired_exceptions} expired exception(s)" if c.expired_exceptions else ""
    return (f"{result.verdict.upper()}: policy {result.policy}" + (f" ({result.tier})" if result.tier else "")
            + f" on {result.target.get('name') or 'the evidence'} — {c.pass_} pass, {c.fail} fail, {c.warn} warn, "
              f"{c.unknown} unknown{excepted}{expired}")


def print_table(result: GateResult, console: Any, explain: bool = False) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(summary_line(result)), title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("outcome", "rule", "sev"):
        table.add_column(col, no_wrap=True)
    table.add_column("evidence", overflow="fold", max_width=24)
    table.add_column("expected", overflow="fold", max_width=22)
    table.add_column("why", overflow="fold", ratio=1)
    for r in result.rules:
        why = r.detail if (explain or r.outcome != "pass") else ""
        if explain:
            why += f"\n{r.message}" + (f"\nrationale: {r.rationale}" if r.rationale else "")
            why += f"\nrefs: {', '.join(r.refs)}" if r.refs else ""
            why += f"\npath: {r.evidence.path}" + (f" ({r.evidence.source})" if r.evidence.source else "")
        table.add_row(f"[{STYLE[r.outcome]}]{r.outcome}[/]", escape(r.id), r.severity, escape(value_text(r)),
                      escape(expected_text(r)), escape(why.strip()))
    console.print(table)


# -- SARIF ------------------------------------------------------------------------------------------------------------
def to_sarif(result: GateResult) -> dict[str, Any]:
    """One SARIF result per rule not met (fail, warn, unknown) and per excepted rule (suppressed, with the reason);
    located at the rule's line in the policy file (a preset: the first evidence file)."""
    from opentrust.findings import Finding, Location, Severity
    from opentrust.report.sarif import to_sarif as findings_to_sarif

    in_file = bool(result.policy_file) and not str(result.policy_file).startswith("preset:")
    where = result.policy_file if in_file else (result.inputs[0].path if result.inputs else None)
    shown = [r for r in result.rules if r.outcome != "pass"]
    findings = [Finding(
        rule_id=r.id, check="gate", title=r.message, message=f"{r.outcome}: {r.detail}",
        severity=Severity.high if r.fails_gate else Severity.medium if r.outcome == "warn" else Severity.low,
        evidence=f"{r.evidence.path} = {value_text(r)}", remedy=r.rationale or r.message, risk_ids=list(r.refs),
        location=Location(path=where, line=r.policy_line if in_file else None)) for r in shown]
    doc = findings_to_sarif(findings)
    for res, r in zip(doc["runs"][0]["results"], shown):
        res["properties"].update({"outcome": r.outcome, "refs": list(r.refs), "fails_gate": r.fails_gate})
        if r.outcome == "excepted" and r.exception is not None:
            res["suppressions"] = [{"kind": "external", "state": "accepted",
                                    "justification": f"{r.exception.reason} (until {r.exception.expires})"}]
    doc["runs"][0]["properties"] = {"policy": result.policy, "tier": result.tier, "verdict": result.verdict,
                                    "policy_sha256": result.policy_sha256}
    return doc


# -- JUnit ------------------------------------------------------------------------------------------------------------
def to_junit(result: GateResult) -> str:
    """One testsuite (the policy), one testcase per rule: fail → failure; unknown that fails the gate → error, other
    unknown → skipped; excepted → skipped (with the exception's reason); warn and pass → passed (warn says so in
    system-out)."""
    import xml.etree.ElementTree as ET

    from opentrust.evals.junit import _xml_safe

    root = ET.Element("testsuites", name=f"opentrust gate {result.policy}")
    suite = ET.SubElement(root, "testsuite", name=f"policy {result.policy}")
    props = ET.SubElement(suite, "properties")
    for key, value in (("policy", result.policy), ("tier", result.tier or ""), ("verdict", result.verdict),
                       ("policy_sha256", result.policy_sha256), ("target", result.target.get("name") or "")):
        ET.SubElement(props, "property", name=key, value=str(value))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in result.rules:
        case = ET.SubElement(suite, "testcase", name=r.id, classname=f"opentrust.gate.{result.policy}", time="0")
        counts["tests"] += 1
        text = _xml_safe(f"{r.outcome}: {r.detail}\nrequires {r.evidence.path} {expected_text(r)}\n{r.message}")
        message = _xml_safe(f"{r.outcome}: {r.detail}"[:300])
        if r.outcome == "fail":
            ET.SubElement(case, "failure", message=message, type="fail").text = text
            counts["failures"] += 1
        elif r.outcome == "unknown" and r.fails_gate:
            ET.SubElement(case, "error", message=message, type="unknown").text = text
            counts["errors"] += 1
        elif r.outcome in ("unknown", "excepted"):
            ET.SubElement(case, "skipped", message=message)
            counts["skipped"] += 1
        ET.SubElement(case, "system-out").text = text
    for key, value in counts.items():
        suite.set(key, str(value))
        root.set(key, str(value))
    suite.set("time", "0")
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- the audit report's gate section -------------------------------------------------------------------------------------
def section(result: GateResult) -> Any:
    """The gate as a section of the audit report (rendered by the generic HTML and JSON renderers); gate.json is
    written beside the report."""
    from opentrust.report.model import Section, Table

    c = result.counts
    rows = [[r.outcome, r.id, r.severity, value_text(r), expected_text(r), r.detail, ", ".join(r.refs)]
            for r in result.rules]
    doc = result.model_dump(mode="json", by_alias=True)
    return Section(
        check="gate", title=f"Policy gate: {result.policy}" + (f" ({result.tier})" if result.tier else ""),
        status="findings" if result.verdict == "fail" else "ok", summary=summary_line(result) + ".",
        facts={"verdict": result.verdict.upper(), "policy": result.policy, "policy file": result.policy_file,
               "tier": result.tier, "use case": result.use_case, "pass": c.pass_, "fail": c.fail, "warn": c.warn,
               "unknown": c.unknown, "excepted (counted apart)": c.excepted,
               "expired exceptions": c.expired_exceptions, "policy sha256": result.policy_sha256},
        tables=[Table(title="Rules", columns=["outcome", "rule", "severity", "evidence", "expected", "why", "refs"],
                      rows=rows)],
        parameters={"policy": result.policy_file, "policy_sha256": result.policy_sha256},
        data=doc, artifacts={"gate.json": doc})
