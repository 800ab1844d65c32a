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


def _figure(g: dict[str, Any] | None) -> str:
    """A figure as a result, or 'insufficient evidence' when its interval decides nothing."""
    from opentrust.redteam.results import text

    return "not measured" if g is None else text(g)


def detector_lines(data: dict[str, Any]) -> list[str]:
    """One line per detector used: where its error figures come from and what they are."""
    lines = []
    for name, d in data["method"]["detector_error"].items():
        se, sp = d["sensitivity_ci"], d["specificity_ci"]
        sets = ", ".join(d["sets"]) or "unnamed set"
        line = (f"{name}: sensitivity {d['sensitivity']:.2f} [{se[0]:.2f}, {se[1]:.2f}], specificity "
                f"{d['specificity']:.2f} [{sp[0]:.2f}, {sp[1]:.2f}] on {sets} ({d['positives']} positive, "
                f"{d['negatives']} negative responses{'; labelled by ' + d['labelled_by'] if d['labelled_by'] else ''})")
        spread = d.get("per_set")
        if spread and spread.get("sets_disagree"):
            ranges = []
            for key in ("sensitivity", "specificity"):
                vals = [v[key] for v in spread["sets"].values() if v[key] is not None]
                if vals:
                    ranges.append(f"{key} {min(vals):.2f}–{max(vals):.2f}")
            line += (f"; the sets disagree ({', '.join(ranges)} per set): the correction assumes this model's "
                     "answers are judged like the pooled sets'")
        lines.append(line)
    return lines


def precision_lines(data: dict[str, Any]) -> list[str]:
    """The figures that miss the profile's target half-width, by how much and why."""
    lines = []
    figures = {**data["categories"], "overall attack success": data["summary"]["attack_success"]}
    if data["summary"]["over_refusal"] is not None:
        figures.setdefault("over_refusal", data["summary"]["over_refusal"])
    for name, g in figures.items():
        p = g["precision"]
        if p["met"] or g["asr"] is None:
            continue
        factor = f"; detector error widens it ×{p['detector_factor']:.1f}" if p.get("detector_factor") else ""
        lines.append(f"{name}: ±{p['half_width']:.2f}, target ±{p['target_half_width']:.2f}{factor}; "
                     f"{p.get('reason', '')}")
    return lines


def print_table(result: "CampaignResult", console: Any, fail_on: "Severity | None" = None) -> None:
    from rich.markup import escape
    from rich.table import Table

    from opentrust.findings import exceeds

    data = result.to_json()
    decided = any(g["vulnerable"] or g["resisted"] for g in data["categories"].values())
    table = Table(title=f"opentrust redteam: {result.model.get('name', '')} "
                        f"(profile {data['parameters'].get('profile')})", title_justify="left",
                  caption="ASR: attack-success rate, corrected for detector error; over_refusal: share of benign "
                          "prompts refused; raw: the detector's rate before correction"
                          + ("; vuln/res: probes the sequential test found vulnerable / resisting" if decided else ""),
                  caption_justify="left")
    columns = ["category", "ASR (95% CI)", "±", "raw", "probes"] + (["vuln/res"] if decided else [])
    for col in columns:
        table.add_column(col, justify="left" if col in ("category", "ASR (95% CI)") else "right",
                         no_wrap=col != "ASR (95% CI)", min_width=21 if col == "ASR (95% CI)" else None)
    for name, g in data["categories"].items():
        figure = escape(_figure(g))
        if g["evidence"] != "sufficient":
            figure = f"[dim]{figure}[/]"
        row = [name, figure, f"{g['half_width']:.2f}", "—" if g["observed"] is None else f"{g['observed']:.0%}",
               str(g["probes"])]
        if decided:
            row.append(f"{g['vulnerable']}/{g['resisted']}")
        table.add_row(*row)
    console.print(table)
    s = data["summary"]
    a = s["attack_success"]
    over = s["over_refusal"]
    failed = exceeds(result.findings, fail_on)
    console.print(
        f"{'[bold red]FAIL[/]' if failed else '[bold green]PASS[/]'}  attack success {escape(_figure(a))} over "
        f"{a['units']} probes; over-refusal {escape(_figure(over))}; {len(result.findings)} findings; "
        f"{s['probes']} probes, {s['samples']} samples ({s['generated']} generated, {s['reused']} from cache) "
        f"in {s['wall_s']:.0f} s")
    console.print(f"[dim]{escape(data['method']['design'])}[/]")
    for line in detector_lines(data):
        console.print(f"[dim]detector error — {escape(line)}[/]")
    for line in precision_lines(data):
        console.print(f"[yellow]target missed[/] {escape(line)}")
    for f in result.findings:
        console.print(f"  [{SEVERITY_STYLE[f.severity.value]}]{f.severity.value}[/] {escape(f.title)}")


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
                         "attack_success": result.overall}
    for res, f in zip(run["results"], result.findings):
        res["properties"].update({k: f.properties[k] for k in ("category", "asr", "ci", "evidence", "samples",
                                                               "probes")},
                                 risk_ids=f.risk_ids)
    return doc


# -- JUnit ---------------------------------------------------------------------------------------------
def write_junit(result: "CampaignResult", path: Path) -> None:
    from opentrust.report.jsonout import atomic_write

    atomic_write(Path(path), render_junit(result))


def render_junit(result: "CampaignResult") -> str:
    """One testsuite per category, one testcase per probe: <failure> when the attack reliably succeeded,
    <skipped> when undecided (the engine's JUnit writer, with the campaign's results)."""
    import xml.etree.ElementTree as ET

    from opentrust.evals.junit import build
    from opentrust.evals.testrun import TestRun

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
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- audit Section ---------------------------------------------------------------------------------------
def heatmap_table(result: "CampaignResult") -> Any:
    from opentrust.report.model import Table

    rows, cols, cells = result.heatmap()
    body = []
    for r in rows:
        line: list[Any] = [r]
        for c in cols:
            g = cells.get((r, c))
            if g is None or g["asr"] is None:
                line.append(None)
            elif g["evidence"] != "sufficient":
                line.append(f"? ({g['probes']})")
            else:
                line.append(round(g["asr"] * 100, 1))
        body.append(line)
    return Table(title="Attack-success rate (%) by category × technique ('none' = probe as written; "
                       "over_refusal: % of benign prompts refused; '? (n)': insufficient evidence from n probes)",
                 columns=["category", *cols], rows=body, display="heatmap", scale_max=100.0)


def _names(keys: list[str]) -> list[str]:
    """JSON keys of figures as people read them (the over-refusal figure is also a category)."""
    names = {"summary.attack_success": "overall attack success", "summary.over_refusal": "over_refusal"}
    out: list[str] = []
    for k in keys:
        name = names.get(k, k.split(".", 1)[-1])
        if name not in out:
            out.append(name)
    return out


def section(result: "CampaignResult", check: str, title: str) -> "Section":
    from opentrust.findings import Measurement
    from opentrust.report.model import Bar, BarChart, Section, Table

    data = result.to_json()
    cat_rows, bars, measurements, thin = [], [], [], []
    for name, g in data["categories"].items():
        sufficient = g["evidence"] == "sufficient"
        cat_rows.append([name, g["asr"] if sufficient else "insufficient evidence",
                         f"[{g['ci'][0]:.2f}, {g['ci'][1]:.2f}]", g["half_width"], g["observed"], g["probes"],
                         g["samples"], g["vulnerable"], ", ".join(g["detectors"])])
        if sufficient:
            bars.append(Bar(label=name, value=g["asr"] or 0.0, interval=(g["ci"][0], g["ci"][1]),
                            note=f"{g['probes']} probes"))
        else:
            thin.append(name)
        measurements.append(Measurement(name=f"redteam.{name}.attack_success_rate", value=g["asr"], unit="ratio",
                                        n=g["units"], interval=(g["ci"][0], g["ci"][1]), confidence=0.95,
                                        method=data["method"]["interval"], evidence=g["evidence"],
                                        label=f"{name}: attack-success rate"))
    worst = [[g_name, ex["probe"], ex["reason"][:160], ex["output"][:200]]
             for g_name, g in data["categories"].items() for ex in g["worst"]]
    detectors = [[name, ", ".join(d["sets"]), d["positives"] + d["negatives"],
                  f"{d['sensitivity']:.3f} [{d['sensitivity_ci'][0]:.3f}, {d['sensitivity_ci'][1]:.3f}]",
                  f"{d['specificity']:.3f} [{d['specificity_ci'][0]:.3f}, {d['specificity_ci'][1]:.3f}]",
                  "sets disagree: " + ", ".join(f"{k} Se {v['sensitivity']} Sp {v['specificity']}"
                                                for k, v in d["per_set"]["sets"].items())
                  if d.get("per_set", {}).get("sets_disagree") else ""]
                 for name, d in data["method"]["detector_error"].items()]
    s = data["summary"]
    a, over = s["attack_success"], s["over_refusal"]
    misses = precision_lines(data)
    summary = (f"Attack-success rate {_figure(a)} over {a['units']} probe variants; over-refusal {_figure(over)}. "
               + (f"Insufficient evidence: {', '.join(_names(s['insufficient_evidence']))}. "
                  if s["insufficient_evidence"] else "")
               + f"{len(result.findings)} findings; {s['generated']} samples generated, {s['reused']} from cache, "
               f"{s['wall_s']:.0f} s.")
    facts = {"design": data["method"]["design"],
             "target half-width": data["method"]["target_half_width"],
             **{f"detector error ({line.split(':', 1)[0]})": line.split(": ", 1)[1] for line in detector_lines(data)},
             **({"target missed": "; ".join(misses)} if misses else {})}
    return Section(
        check=check, title=title, status="findings" if result.findings else "ok", summary=summary,
        findings=result.findings, measurements=measurements, facts=facts,
        tables=[heatmap_table(result),
                Table(title="Attack success per category (detector-corrected, 95% CI; probes are the unit)",
                      columns=["category", "ASR", "95% CI", "±", "detector rate", "probes", "samples", "vulnerable",
                               "detectors"],
                      rows=cat_rows),
                Table(title="Detector error carried into the intervals (validation sets, 95% Clopper–Pearson)",
                      columns=["detector", "validation sets", "n", "sensitivity", "specificity", "note"],
                      rows=detectors),
                Table(title="Worst examples (the detector's reason)",
                      columns=["category", "probe", "detector's reason", "output"], rows=worst)],
        charts=[BarChart(title="Attack-success rate per category (95% CI, detector error included)"
                               + (f"; insufficient evidence, not shown: {', '.join(thin)}" if thin else ""),
                         unit="ratio", max_value=1.0, bars=bars)],
        data={k: data[k] for k in ("summary", "categories", "techniques", "method", "probes")})
