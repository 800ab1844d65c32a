"""The OSI Open Source AI Definition 1.0 verdict, from the MOF components.

OSAID 1.0 asks for the preferred form to make modifications, under OSI-approved terms, in three parts:
data information (enough detail about the training data to build a substantially equivalent system),
code (the complete source used to train and run it: data processing, training, validation/testing,
inference, the architecture, supporting libraries) and parameters (weights). The mapping to MOF
components follows the OSI's own checklist.
"""

from __future__ import annotations

from typing import Any

from opentrust.openness import licenses as lic


DEFINITION = "OSI Open Source AI Definition 1.0"
REQUIREMENTS: list[tuple[str, list[int], list[int]]] = [
    # name, required component ids, optional component ids (checked only when released)
    ("data information", [14], []),
    ("code", [16, 7, 18, 8, 9], [22]),
    ("parameters", [10], [24]),
]


def verdict(components: list[dict[str, Any]]) -> dict[str, Any]:
    """The OSAID verdict from the assessed components (``OpennessResult.components``)."""
    comps = {c["id"]: c for c in components}
    requirements = []
    for name, needed, extra in REQUIREMENTS:
        reasons = []
        for cid in needed + [e for e in extra if comps[e]["status"] != "missing"]:
            c = comps[cid]
            problem = _problem(c, code=name == "code")
            if problem:
                reasons.append(f"{c['name']}: {problem}")
        if name == "data information" and comps[15]["status"] == "missing":
            reasons.append("Datasets: the training data is neither released nor identified")
        requirements.append({"name": name, "met": not reasons, "components": needed + extra,
                             "reasons": reasons})
    met = all(r["met"] for r in requirements)
    failing = [r["name"] for r in requirements if not r["met"]]
    return {
        "definition": DEFINITION,
        "verdict": "open-source-ai" if met else "not-open-source-ai",
        "summary": ("meets every requirement" if met
                    else f"fails {len(failing)} of 3 requirements: {', '.join(failing)}"),
        "requirements": requirements,
    }


def _problem(c: dict[str, Any], code: bool) -> str | None:
    status = c["status"]
    if status == "missing":
        return "not released"
    if status == "unknown" and not c["license"]:
        return "only referenced, not released"
    if status == "unlicensed":
        return "released without a licence"
    info = lic.describe(c["license"])
    if not info.is_open:
        return f"licence {c['license']} is not open ({info.reason})"
    if code and not info.osi_approved:
        return f"licence {c['license']} is open but not OSI-approved, as OSAID requires for code"
    return None
