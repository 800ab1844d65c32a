"""`opentrust data` output: JSON (the result dict), SARIF 2.1.0 (through ``opentrust.report.sarif``), a
self-contained HTML page (the audit report's template with one section), and the terminal table."""

from __future__ import annotations

import json
from typing import Any

STYLES = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "blue", "info": "dim"}


def render_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, ensure_ascii=False) + "\n"


def to_findings(result: dict[str, Any]) -> list[Any]:
    """The data findings as the shared ``opentrust.findings.Finding`` (for SARIF, HTML and the audit)."""
    from opentrust.findings import Finding, Location, Severity

    out = []
    for f in result["findings"]:
        key = None
        if f.get("row") is not None:
            key = f"row {f['row']}"
            if f.get("column"):
                key += f", field {f['column']}"
            if f.get("start") is not None:
                key += f", characters {f['start']}-{f['end']}"
        props = {k: f.get(k) for k in ("row", "column", "start", "end", "entity", "kind") if f.get(k) is not None}
        out.append(Finding(rule_id=f["rule_id"], severity=Severity(f["severity"]), title=f["title"],
                           message=f["message"], check="data", location=Location(path=f.get("path"), key=key),
                           evidence=f.get("evidence", ""), remedy=f.get("remedy", ""), properties=props,
                           risk_ids=["LLM02"] if f["rule_id"].startswith(("DATA-PII", "DATA-SECRET")) else
                           ["LLM04"] if f["rule_id"] in ("DATA-CONTAMINATION", "DATA-DUPLICATES") else []))
    return out


def render_sarif(result: dict[str, Any]) -> str:
    from opentrust.report.sarif import to_sarif

    return json.dumps(to_sarif(to_findings(result)), indent=2) + "\n"


def section(result: dict[str, Any]) -> Any:
    """The result as one report section (tables for files, personal data, secrets, duplicates,
    contamination, licences and the card)."""
    from opentrust.report.model import Section, Table

    tables = [Table(title="Files", columns=["file", "format", "rows", "bytes", "seconds", "note"],
                    rows=[[f["path"], f["format"] + (f"+{f['compression']}" if f["compression"] else ""), f["rows"],
                           f["bytes"], f["seconds"], f["error"] or f["note"] or ""] for f in result["files"]])]
    pii = result["pii"]
    if pii["counts"]:
        tables.append(Table(title=f"Personal data ({pii['mb_scanned']} MB of text)", columns=["entity", "count", "per MB"],
                            rows=[[k, v, pii["per_mb"].get(k)] for k, v in pii["counts"].items()]))
    if result["secrets"]["counts"]:
        tables.append(Table(title="Secrets", columns=["kind", "count"],
                            rows=[[k, v] for k, v in result["secrets"]["counts"].items()]))
    d = result.get("duplicates")
    if d:
        tables.append(Table(title="Duplicates", columns=["rows", "exact", "exact rate", "near", "near rate", "near checked"],
                            rows=[[d["rows"], d["exact"], d["exact_rate"], d["near"], d["near_rate"], d["near_checked"]]]))
    if result["contamination"]:
        tables.append(Table(
            title="Contamination (items of each benchmark found in the data, by three published definitions)",
            columns=["benchmark", "items checked", "GPT-3 n-gram", "PaLM 70% of 8-grams", "Llama 2 dirty",
                     "Llama 2 clean"],
            rows=[[c["benchmark"], c["checked_items"], f"{c['gpt3_13gram']['contaminated']} (n={c['gpt3_13gram']['n']})",
                   c["palm_8gram_70"]["contaminated"], c["llama2_token"]["dirty"], c["llama2_token"]["clean"]]
                  for c in result["contamination"]]))
    lic = result.get("licenses")
    if lic:
        tables.append(Table(title="Licences", columns=["source", "where", "given", "SPDX", "category", "terms"],
                            rows=[[x["source"], x.get("path"), x["given"], x["id"], x["category"], ", ".join(x["terms"])]
                                  for x in lic["found"]]))
    card = result.get("card")
    if card and card["fields"]:
        tables.append(Table(title=f"Card fields ({card['present']} of {card['required']} present)",
                            columns=["field", "asked for by", "present", "where"],
                            rows=[[f["label"], ", ".join(f["sources"]), "yes" if f["present"] else "missing",
                                   f["where"] or ""] for f in card["fields"]]))
    s = result["summary"]
    summary = (f"{s['files']} file(s), {s['rows']} rows, {pii['mb_scanned']} MB of text in {s['seconds']} s: "
               f"{sum(pii['counts'].values())} personal data item(s), {sum(result['secrets']['counts'].values())} "
               f"secret(s)" + (f", {d['exact']} exact and {d['near']} near duplicates" if d else ""))
    findings = to_findings(result)
    return Section(check="data", title="Data scan", status="findings" if findings else "ok", summary=summary,
                   findings=findings, tables=tables, parameters=result.get("parameters", {}),
                   data={k: result.get(k) for k in ("pii", "secrets", "duplicates", "contamination", "licenses", "card")})


def render_html(result: dict[str, Any]) -> str:
    from opentrust._version import __version__
    from opentrust.report.html import render
    from opentrust.report.model import Report, TargetInfo, ToolInfo, utc_now

    name = ", ".join(result["paths"])
    report = Report(tool=ToolInfo(version=__version__), command="data", run_id="-", created_at=utc_now(),
                    target=TargetInfo(name=name[:80], kind="dataset", location=name, fingerprint=""),
                    parameters=result.get("parameters", {}), sections=[section(result)])
    return render(report)


def print_table(result: dict[str, Any], console: Any, limit: int = 30) -> None:
    from rich.table import Table

    findings = result["findings"]
    if findings:
        # one line per rule and file: how many, where the first is, and its redacted evidence
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for f in findings:
            groups.setdefault((f["rule_id"], f.get("path") or ""), []).append(f)
        t = Table(title="Findings (first of each rule and file; all of them in --format json)")
        for col in ("sev", "rule", "where", "n", "what"):
            t.add_column(col, overflow="fold")
        for (rule, path), fs in list(groups.items())[:limit]:
            f = fs[0]
            where = path
            if f.get("row") is not None:
                where += f" row {f['row']}"
            if f.get("column"):
                where += f" {f['column']}"
            if f.get("start") is not None:
                where += f" [{f['start']}:{f['end']}]"
            what = f["message"] + (f" — {f['evidence'][:160]}" if f.get("evidence") else "")
            t.add_row(f"[{STYLES[f['severity']]}]{f['severity']}[/]", rule, where, str(len(fs)), what)
        console.print(t)
        if len(groups) > limit:
            console.print(f"… and {len(groups) - limit} more groups (use --format json)", style="dim")
    s = result["summary"]
    t = Table(title="Summary")
    t.add_column("check")
    t.add_column("result", overflow="fold")
    pii, sec = result["pii"], result["secrets"]
    t.add_row("files", f"{s['files']} read, {s['skipped']} skipped, {s['rows']} rows, {pii['mb_scanned']} MB text, "
                       f"{s['seconds']} s ({s['mb_per_s']} MB/s)")
    t.add_row("personal data", ", ".join(f"{k} {v}" for k, v in pii["counts"].items()) or "none found")
    t.add_row("secrets", ", ".join(f"{k} {v}" for k, v in sec["counts"].items()) or "none found")
    d = result.get("duplicates")
    if d:
        t.add_row("duplicates", f"{d['exact']} exact ({_pct(d['exact_rate'])}), {d['near']} near "
                                f"({_pct(d['near_rate'])} of {d['near_checked']} long rows)")
    dirty = [c for c in result["contamination"] if max(c["gpt3_13gram"]["contaminated"], c["palm_8gram_70"]["contaminated"],
                                                       c["llama2_token"]["dirty"])]
    if result["contamination"]:
        t.add_row("contamination", "; ".join(
            f"{c['benchmark']}: GPT-3 {c['gpt3_13gram']['contaminated']}, PaLM {c['palm_8gram_70']['contaminated']}, "
            f"Llama 2 dirty {c['llama2_token']['dirty']} of {c['checked_items']}" for c in dirty)
            or f"none of {len(result['contamination'])} benchmarks")
    lic = result.get("licenses")
    if lic is not None:
        t.add_row("licences", (", ".join(lic["spdx"]) or "none found")
                  + (f"; non-commercial: {', '.join(lic['non_commercial'])}" if lic["non_commercial"] else "")
                  + (f"; conflicts: {len(lic['conflicts'])}" if lic["conflicts"] else ""))
    card = result.get("card")
    if card is not None:
        t.add_row("card", f"{card['present']} of {card['required']} fields present"
                  + (f"; missing: {', '.join(card['missing'])}" if card["missing"] else "") if card["required"]
                  else "no card")
    by = s["findings_by_severity"]
    t.add_row("findings", ", ".join(f"{n} {k}" for k, n in by.items() if n) or "none"
              + (f" ({s['findings_omitted']} more not listed)" if s["findings_omitted"] else ""))
    console.print(t)
    for note in result["notes"][:10]:
        console.print(f"note: {note}", style="dim")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"
