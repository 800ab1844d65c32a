"""Presenting a campaign: terminal table, SARIF 2.1.0, JUnit, and the audit report Section with its heat map."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentrust.findings import Severity
    from opentrust.redteam.results import CampaignResult
    from opentrust.report.model import Section

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "blue", "info": "dim"}


def _ci(g: dict[str, Any]) -> str:
    if g["asr"] is None:
        return "—"
    return f"{g['asr']:.0%} [{g['ci'][0]:.0%}, {g['ci'][1]:.0%}]"


def print_table(result: "CampaignResult", console: Any, fail_on: "Severity | None" = None) -> None:
    from rich.table import Table

    from opentrust.findings import exceeds

    data = result.to_json()
    table = Table(title=f"opentrust redteam: {result.model.get('name', '')} "
                        f"(profile {data['parameters'].get('profile')})", title_justify="left")
    for col in ("category", "attack success (95% CI)", "observed", "samples", "probes", "vulnerable",
                "resisted", "inconclusive"):
        table.add_column(col, justify="left" if col == "category" else "right", no_wrap=True)
    for name, g in data["categories"].items():
        label = name + (" (refusals of benign prompts)" if name == "over_refusal" else "")
        table.add_row(label, _ci(g), "—" if g["observed"] is None else f"{g['observed']:.0%}", str(g["samples"]),
                      str(g["probes"]), str(g["vulnerable"]), str(g["resisted"]), str(g["inconclusive"]))
    console.print(table)
    s = data["summary"]
    a = s["attack_success"]
    over = s["over_refusal"]
    failed = exceeds(result.findings, fail_on)
    console.print(
        f"{'[bold red]FAIL[/]' if failed else '[bold green]PASS[/]'}  attack success {_ci(a)} over "
        f"{a['samples']} samples; over-refusal {_ci(over) if over else '—'}; {len(result.findings)} findings; "
        f"{s['probes']} probes, {s['samples']} samples ({s['generated']} generated, {s['reused']} from cache) "
        f"in {s['wall_s']:.0f} s")
    for f in result.findings:
        console.print(f"  [{SEVERITY_STYLE[f.severity.value]}]{f.severity.value}[/] {f.title}")


# -- SARIF ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Rule:
    id: str
    name: str
    title: str
    help: str
    severity: Any


def rules(result: "CampaignResult") -> list[_Rule]:
    """A rule per probe family (risk category) that the campaign probed, whether or not attacks succeeded."""
    from opentrust.findings import Severity
    from opentrust.redteam.catalogue import CATEGORIES
    from opentrust.redteam.results import CATEGORY_SEVERITY, REMEDY

    out = []
    for cat in sorted({o.probe.category for o in result.outcomes}):
        out.append(_Rule(id=f"OT-REDTEAM-{cat.upper()}", name="Redteam" + cat.title().replace("_", ""),
                         title=f"Red-team probe family: {CATEGORIES.get(cat, cat)}",
                         help=REMEDY.get(cat, CATEGORIES.get(cat, cat)),
                         severity=Severity(CATEGORY_SEVERITY.get(cat, "medium"))))
    return out


def to_sarif(result: "CampaignResult") -> dict[str, Any]:
    from opentrust.report.sarif import to_sarif as findings_to_sarif

    doc = findings_to_sarif(result.findings, rules(result))
    run = doc["runs"][0]
    run["properties"] = {"model": result.model, "run_id": result.run_id,
                         "attack_success": result.overall.to_json()}
    for res, f in zip(run["results"], result.findings):
        res["properties"].update({k: f.properties[k] for k in ("category", "asr", "ci", "samples", "probes")},
                                 risk_ids=f.risk_ids)
    return doc


# -- JUnit ---------------------------------------------------------------------------------------------
def write_junit(result: "CampaignResult", path: Path) -> None:
    """One testsuite per category, one testcase per probe: <failure> when the attack reliably succeeded,
    <skipped> when undecided (the engine's JUnit writer, with the campaign's results)."""
    import xml.etree.ElementTree as ET

    from opentrust.evals.junit import build
    from opentrust.evals.testrun import TestRun
    from opentrust.report.jsonout import atomic_write

    run = TestRun(model=result.model, results=[o.result for o in result.outcomes], stats=result.stats,
                  run_id=result.run_id)
    root = build(run)
    root.set("name", f"opentrust redteam {result.model.get('name', '')}")
    for suite in root.iter("testsuite"):
        props = suite.find("properties")
        if props is not None:
            ET.SubElement(props, "property", name="meaning",
                          value="a case passes when the attack failed; pass rate = rate of safe answers")
    tree = ET.ElementTree(root)
    ET.indent(tree)
    atomic_write(Path(path), '<?xml version="1.0" encoding="UTF-8"?>\n'
                 + ET.tostring(root, encoding="unicode") + "\n")


# -- audit Section ---------------------------------------------------------------------------------------
def heatmap_table(result: "CampaignResult") -> Any:
    from opentrust.report.model import Table

    rows, cols, cells = result.heatmap()
    body = []
    for r in rows:
        line: list[Any] = [r]
        for c in cols:
            rate = cells.get((r, c))
            line.append(None if rate is None or rate.estimate is None else round(rate.estimate * 100, 1))
        body.append(line)
    return Table(title="Attack-success rate (%) by category × technique ('none' = probe as written; "
                       "over_refusal: % of benign prompts refused)", columns=["category", *cols], rows=body,
                 display="heatmap", scale_max=100.0)


def section(result: "CampaignResult", check: str, title: str) -> "Section":
    from opentrust.findings import Measurement
    from opentrust.report.model import Bar, BarChart, Section, Table

    data = result.to_json()
    cat_rows, bars, measurements = [], [], []
    for name, g in data["categories"].items():
        cat_rows.append([name, g["asr"], f"[{g['ci'][0]:.2f}, {g['ci'][1]:.2f}]", g["observed"], g["samples"],
                         g["probes"], g["vulnerable"], ", ".join(g["detectors"])])
        bars.append(Bar(label=name, value=g["asr"] or 0.0, interval=(g["ci"][0], g["ci"][1]),
                        note=f"{g['successes']}/{g['samples']}"))
        measurements.append(Measurement(name=f"redteam.{name}.attack_success_rate", value=g["asr"], unit="ratio",
                                        n=g["samples"], interval=(g["ci"][0], g["ci"][1]), confidence=0.95,
                                        method=data["method"]["interval"], label=f"{name}: attack-success rate"))
    worst = [[g_name, ex["probe"], ex["reason"][:160], ex["output"][:200]]
             for g_name, g in data["categories"].items() for ex in g["worst"]]
    s = data["summary"]
    a, over = s["attack_success"], s["over_refusal"]
    summary = (f"Attack-success rate {_ci(a)} over {a['samples']} samples of {s['probes']} probe variants; "
               f"over-refusal {_ci(over) if over else 'not measured'}. {len(result.findings)} findings; "
               f"{s['generated']} samples generated, {s['reused']} from cache, {s['wall_s']:.0f} s.")
    return Section(
        check=check, title=title, status="findings" if result.findings else "ok", summary=summary,
        findings=result.findings, measurements=measurements,
        tables=[heatmap_table(result),
                Table(title="Attack success per category (detector-corrected, 95% CI)",
                      columns=["category", "ASR", "95% CI", "observed", "samples", "probes", "vulnerable", "detectors"],
                      rows=cat_rows),
                Table(title="Worst examples (the detector's reason)",
                      columns=["category", "probe", "detector's reason", "output"], rows=worst)],
        charts=[BarChart(title="Attack-success rate per category (95% CI, detector error included)", unit="ratio",
                         max_value=1.0, bars=bars)],
        data={k: data[k] for k in ("summary", "categories", "techniques", "method")})
