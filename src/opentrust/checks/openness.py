"""Audit check: what was really released (MOF class, licences, OSAID verdict) as a report section.

``section.data`` holds the same JSON as ``opentrust openness --format json`` plus ``aibom``, the CycloneDX
1.6 AI BOM, so a reporter (or audit) can write it to ``aibom.cdx.json`` next to report.json.
Severities are deliberately low: a closed licence is a fact for the reader, not a defect of the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opentrust.checks.base import Check, CheckContext
from opentrust.findings import Finding, Location, Severity

if TYPE_CHECKING:
    from opentrust.openness.assess import OpennessResult
    from opentrust.report.model import Section
    from opentrust.target import Target


class OpennessCheck(Check):
    name = "openness"
    title = "Openness (Model Openness Framework, OSI OSAID, licences)"
    order = 30

    def skip_reason(self, target: "Target") -> str | None:
        return "an endpoint exposes no released files to assess" if target.kind == "endpoint" else None

    async def run(self, ctx: CheckContext) -> "Section":
        from opentrust.openness.aibom import build_aibom
        from opentrust.openness.assess import assess_evidence
        from opentrust.openness.evidence import from_target

        ctx.progress("openness: reading the release", 0, 1)
        result = assess_evidence(from_target(ctx.target))
        result.target = ctx.target
        aibom = build_aibom(result, store=ctx.store)
        ctx.progress("openness: reading the release", 1, 1)
        return section_for(result, self.name, self.title, aibom)

    def finalize(self, section: "Section", sections: "list[Section]") -> None:
        """Write the AI BOM with every measurement of the audit in its model card (aibom.cdx.json)."""
        import copy

        from opentrust.openness.aibom import add_measurements

        aibom = section.data.get("aibom")
        if aibom is None:
            return
        measured = [m for s in sections for m in s.measurements]
        section.artifacts["aibom.cdx.json"] = add_measurements(copy.deepcopy(aibom), measured)


def section_for(result: "OpennessResult", check: str, title: str, aibom: dict[str, Any] | None = None) -> "Section":
    from opentrust.report.model import Bar, BarChart, Section, Table

    d = result.to_dict()
    mof = d["mof"]
    names = _names(d)
    findings = _findings(d, check)
    chart = BarChart(title="MOF class progress", unit="%", max_value=100, bars=[
        Bar(label=label, value=round(mof["progress"][k], 1), note=f"{mof['progress'][k]:.0f}%")
        for k, label in (("3", "Class III - Open Model"), ("2", "Class II - Open Tooling"), ("1", "Class I - Open Science"))])
    components = Table(title="MOF components", columns=["class", "component", "status", "licence", "confidence", "evidence"],
                       rows=[[{1: "I", 2: "II", 3: "III"}[c["class"]] + ("" if c["required"] else " (optional)"),
                              c["name"], c["status"], names.get(c["license"], c["license"]), c["confidence"],
                              "; ".join(e["detail"] + (f" [{e['where']}]" if e["where"] else "") for e in c["evidence"][:3])]
                             for c in mof["components"]])
    licences = Table(title="Licences", columns=["licence", "category", "why", "restrictions", "evidence"],
                     rows=[[e["name"] or "(unidentified)", e["category"], e["reason"],
                            "; ".join(f"{r['kind']}: {r['text']}" for r in e["restrictions"]),
                            "; ".join(x["where"] or x["detail"] for x in e["evidence"][:3])] for e in d["licenses"]])
    osaid = d["osaid"]
    osaid_table = Table(title=f"{osaid['definition']}: {osaid['verdict']}", columns=["requirement", "met", "reasons"],
                        rows=[[r["name"], "yes" if r["met"] else "no", "; ".join(r["reasons"])] for r in osaid["requirements"]])
    steps = Table(title="Next steps", columns=["rank", "for", "action"],
                  rows=[[s["rank"], s["for_label"], s["action"]] for s in d["next_steps"][:12]])
    summary = (f"{mof['label']} (progress III {mof['progress']['3']:.0f}%, II {mof['progress']['2']:.0f}%, "
               f"I {mof['progress']['1']:.0f}%); distribution licence "
               f"{names.get(mof['distribution_license'], mof['distribution_license']) or 'not found'}; "
               f"OSAID 1.0: {osaid['verdict']} ({osaid['summary']}).")
    data = dict(d)
    if aibom is not None:
        data["aibom"] = aibom
    return Section(check=check, title=title, status="findings" if findings else "ok", summary=summary,
                   findings=findings, charts=[chart], tables=[components, licences, osaid_table, steps],
                   facts={"mof_class": mof["class"], "mof_label": mof["label"],
                          "distribution_license": mof["distribution_license"], "osaid": osaid["verdict"]},
                   parameters={"target": d["target"]["location"]}, data=data)


def _names(d: dict[str, Any]) -> dict[str | None, str]:
    """Licence id → a readable name that keeps the id when it says more (LicenseRef-... stays in the JSON)."""
    return {e["id"]: e["name"] if e["name"] == e["id"] else f"{e['name']} ({e['id']})"
            for e in d["licenses"] if e["id"] and e["name"]}


def _findings(d: dict[str, Any], check: str) -> list[Finding]:
    out: list[Finding] = []
    names = _names(d)
    comps = {c["id"]: c for c in d["mof"]["components"]}
    lic_by_id = {e["id"]: e for e in d["licenses"] if e["id"]}

    def loc(c: dict[str, Any]) -> Location:
        where = next((e["where"] for e in c["evidence"] if e["where"]), "")
        path, _, key = where.partition("#")
        return Location(path=path or None, key=key.split(":")[0] or None)

    weights = comps[10]
    weights_reported = weights["status"] in ("licence not open", "unknown") and bool(weights["license"])
    if weights["status"] in ("licence not open", "unknown") and weights["license"]:
        entry = lic_by_id.get(weights["license"], {})
        restrictions = entry.get("restrictions", [])
        out.append(Finding(
            rule_id="OT-OPEN-WEIGHTS-LICENSE", severity=Severity.medium, check=check, location=loc(weights),
            title=f"Model weights are under a licence that is not open: {entry.get('name') or weights['license']}",
            message=(f"{entry.get('reason', 'not OSI-approved, FSF-libre or an open-data licence')}."
                     + (" Notable restrictions: " + " ".join(r["text"] for r in restrictions) if restrictions else "")),
            evidence=weights["license"], remedy="Check the terms against your use case before adopting the model.",
            properties={"restrictions": restrictions}))
    for c in d["mof"]["components"]:
        if c["id"] == 10 and weights_reported:
            continue
        if c["status"] == "licence not open" and c["required"]:
            out.append(Finding(rule_id="OT-OPEN-LICENSE-NOT-OPEN", severity=Severity.low, check=check, location=loc(c),
                               title=f"{c['name']}: licence {names.get(c['license'], c['license'])} is not open",
                               evidence=c["license"] or "",
                               message="The MOF counts a component only under an open licence.",
                               remedy=f"Ask the producer to release the {c['name'].lower()} under an open licence."))
        elif c["status"] == "unlicensed" and c["required"]:
            out.append(Finding(rule_id="OT-OPEN-UNLICENSED", severity=Severity.low, check=check, location=loc(c),
                               title=f"{c['name']} is released without a licence",
                               message="Without a licence the default is all rights reserved.",
                               remedy="Ask the producer to add a licence."))
    if comps[10]["status"] == "missing":
        out.append(Finding(rule_id="OT-OPEN-NO-WEIGHTS", severity=Severity.medium, check=check,
                           title="No model weights found", message="The final parameters are not part of what was assessed.",
                           remedy="Point opentrust at the folder that holds the weights."))
    missing3 = [c["name"] for c in d["mof"]["components"] if c["class"] == 3 and c["required"]
                and c["status"] in ("missing", "unknown") and c["id"] != 10]
    if missing3 and d["mof"]["class"] == 0:
        out.append(Finding(rule_id="OT-OPEN-CLASS3-MISSING", severity=Severity.info, check=check,
                           title=f"{len(missing3)} component(s) required for MOF Class III are missing",
                           message="Missing: " + ", ".join(missing3) + ".",
                           remedy="See the next steps in the openness section."))
    for conflict in d["conflicts"]:
        out.append(Finding(rule_id="OT-OPEN-LICENSE-CONFLICT", severity=Severity.medium, check=check,
                           title="The release states different licences in different places",
                           message="; ".join(f"{s['license']} at {s['where']}" for s in conflict["sources"]),
                           evidence=", ".join(conflict["licenses"]),
                           remedy=f"Resolve which licence applies; opentrust used {conflict['chosen']} (the licence text)."))
    warnings = d["mof"]["type_warnings"]
    if warnings:
        out.append(Finding(rule_id="OT-OPEN-LICENSE-TYPE", severity=Severity.info, check=check,
                           title=f"{len(warnings)} component(s) use an open licence not meant for their content type",
                           message="; ".join(w["message"] for w in warnings) + ". The MOT counts them but warns.",
                           remedy="Prefer code licences for code, data licences for data, document licences for documents."))
    if d["osaid"]["verdict"] != "open-source-ai":
        out.append(Finding(rule_id="OT-OPEN-NOT-OSAID", severity=Severity.info, check=check,
                           title="Not Open Source AI under OSAID 1.0", message=d["osaid"]["summary"] + ".",
                           remedy="See the OSAID table for the reason behind each failing requirement."))
    return out
