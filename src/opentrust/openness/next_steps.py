"""What it takes to reach the next MOF class: the missing or mis-licensed components, ranked.

Rank: the nearest class first; within a class the cheapest fix first (add a licence file < change a licence
< publish a component); ties in the MOF's own order (class III's model essentials before documents).
"""

from __future__ import annotations

from typing import Any

from opentrust.openness import licenses as lic
from opentrust.openness import mof


EFFORT = {"unlicensed": (1, "add a licence"), "invalid": (2, "change the licence"), "missing": (3, "publish")}


def next_steps(cl: mof.Classification, components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What to publish or re-license, nearest class first, cheapest fix first, from the classification and
    the assessed components (``OpennessResult.classification`` and ``.components``)."""
    current = cl.mof_class
    targets = [c for c in (3, 2, 1) if current == 0 or c < current]
    comps = {c["id"]: c for c in components}
    order = {c.id: i for i, c in enumerate(mof.components())}
    steps: list[dict[str, Any]] = []
    done: set[int] = set()
    for target in targets:
        ev = cl.evaluation[target]
        todo = []
        for bucket in ("unlicensed", "invalid", "missing"):
            for cid in ev[bucket]:
                if cid not in done:
                    todo.append((EFFORT[bucket][0], order[cid], cid, bucket))
        for _effort, _, cid, bucket in sorted(todo):
            done.add(cid)
            comp = mof.by_id()[cid]
            steps.append(_step(comp, bucket, target, comps.get(cid, {}), cl))
    for i, s in enumerate(steps, 1):
        s["rank"] = i
    return steps


def _step(comp: mof.Component, bucket: str, target: int, shown: dict[str, Any], cl: mof.Classification) -> dict[str, Any]:
    suggestion = lic.suggested_license(comp.content_type)
    name = comp.name
    if bucket == "unlicensed":
        action = f"Put the {name.lower()} under an open licence (e.g. {suggestion})"
    elif bucket == "invalid":
        action = (f"Re-license the {name.lower()} under an open {comp.content_type} licence (e.g. {suggestion}); "
                  f"{shown.get('license') or 'its licence'} is not open")
    elif comp.id == mof.TECHNICAL_REPORT:
        action = "Publish a technical report (or a research paper, which stands in for it) under an open licence"
    else:
        action = f"Publish the {name.lower()} under an open {comp.content_type} licence (e.g. {suggestion})"
    return {"component": name, "component_id": comp.id, "action": action, "for_class": target,
            "for_label": mof.class_label(target), "effort": EFFORT[bucket][1],
            "current_status": shown.get("status", bucket)}
