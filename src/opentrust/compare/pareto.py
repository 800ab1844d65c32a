"""The choice: the quality/cost Pareto front and the cheapest model that is good enough.

"Good enough" is non-inferiority to the reference (``--reference``, else the model with the best quality): a
model whose paired verdict against it is ``better``, ``non_inferior`` or ``tied``. Among those (the reference
included) the recommendation is the cheapest on the cost axis — energy per query when every model has an energy
figure, else peak memory, else file size, else time to first token. A model whose verdict is ``inconclusive``
is not good enough *yet*: when it is cheaper than the recommendation, ``samples_needed`` says how many paired
samples would settle it.
"""

from __future__ import annotations

from typing import Any, Callable

GOOD_ENOUGH = {"better", "non_inferior", "tied"}
#: cost axis -> (how to read it from a model block, unit, words for "uses less")
AXES: dict[str, tuple[Callable[[dict[str, Any]], float | None], str, str]] = {
    "energy": (lambda m: m["energy"]["wh_per_1k"], "Wh per 1,000 queries", "energy"),
    "memory": (lambda m: m["memory"]["peak_rss_mb"], "MB peak RSS", "memory"),
    "file_size": (lambda m: m["file_bytes"], "bytes", "disk"),
    "latency": (lambda m: m["latency"]["ttft_p50"], "s to first token (p50)", "time to first token"),
}


def cost_axis(models: list[dict[str, Any]]) -> str | None:
    for axis, (read, _, _) in AXES.items():
        if all(read(m) is not None for m in models):
            return axis
    return None


def front(models: list[dict[str, Any]], axis: str) -> list[str]:
    """Targets no other model beats on both quality (higher) and this cost (lower), in order of cost."""
    read = AXES[axis][0]
    points = [(m["target"], m["quality"]["mean"], read(m)) for m in models]
    points = [p for p in points if p[1] is not None and p[2] is not None]
    out = []
    for t, q, c in points:
        dominated = any((q2 >= q and c2 <= c) and (q2 > q or c2 < c) for t2, q2, c2 in points if t2 != t)
        if not dominated:
            out.append((c, t))
    return [t for _, t in sorted(out)]


def verdict_against(pairs: list[dict[str, Any]], target: str, reference: str) -> dict[str, Any] | None:
    """The pair entry and the verdict of ``target`` against ``reference`` (either orientation)."""
    for p in pairs:
        if p["a"] == target and p["b"] == reference:
            return {**p, "verdict_vs_reference": p["verdict"]}
        if p["a"] == reference and p["b"] == target:
            return {**p, "verdict_vs_reference": p["reverse_verdict"]}
    return None


def choose(models: list[dict[str, Any]], pairs: list[dict[str, Any]], reference: str | None,
           delta: float) -> dict[str, Any]:
    axis = cost_axis(models)
    fronts = {a: front(models, a) for a in AXES}
    by_target = {m["target"]: m for m in models}
    ref = reference or max(models, key=lambda m: (m["quality"]["mean"] if m["quality"]["mean"] is not None else -1,
                                                  -(AXES[axis][0](m) or 0) if axis else 0))["target"]
    verdicts = {m["target"]: (verdict_against(pairs, m["target"], ref) if m["target"] != ref else None)
                for m in models}
    good = [ref] + [t for t, v in verdicts.items() if v and v["verdict_vs_reference"] in GOOD_ENOUGH]
    read = AXES[axis][0] if axis else None
    if read:
        pick = min(good, key=lambda t: read(by_target[t]))  # type: ignore[arg-type,return-value]
    else:  # no cost figure common to all: the best quality among the good enough
        pick = max(good, key=lambda t: by_target[t]["quality"]["mean"] or 0.0)
    undecided = [t for t, v in verdicts.items() if v and v["verdict_vs_reference"] == "inconclusive"
                 and (read is None or read(by_target[t]) < read(by_target[pick]))]  # type: ignore[operator]
    needed = [verdicts[t]["samples_needed"] for t in undecided if verdicts[t] and verdicts[t]["samples_needed"]]
    reason = _reason(pick, ref, by_target, verdicts, axis, delta, undecided, reference is not None)
    return {"pareto": fronts[axis] if axis else [], "cost": axis, "fronts": fronts,
            "recommendation": {"target": pick, "reason": reason, "samples_needed": max(needed) if needed else None,
                               "reference": ref, "cost": axis,
                               "good_enough": good, "undecided": undecided}}


def _reason(pick: str, ref: str, by_target: dict[str, dict[str, Any]], verdicts: dict[str, Any], axis: str | None,
            delta: float, undecided: list[str], given: bool) -> str:
    ref_words = f"the reference {ref}" if given else f"{ref}, the best-quality model"
    tail = ""
    if undecided:
        cheaper = "cheaper, but " if axis else ""  # with no common cost axis every undecided model is listed
        tail = (f"; not settled: {', '.join(undecided)} ({cheaper}the data cannot yet show "
                f"{'it' if len(undecided) == 1 else 'them'} non-inferior at δ={delta:g})")
    if pick == ref:
        q = by_target[ref]["quality"]["mean"]
        shown = "" if q is None else f" (quality {q:.2f})"
        return f"{ref}{shown}: no cheaper model is shown non-inferior to {ref_words} at δ={delta:g}{tail}"
    v = verdicts[pick]["verdict_vs_reference"]
    words = {"better": "is better than", "tied": "is tied with", "non_inferior": "is non-inferior to"}[v]
    saving = ""
    if axis:
        read, _, noun = AXES[axis]
        a, b = read(by_target[pick]), read(by_target[ref])
        if a is not None and b:
            pct = (1 - a / b) * 100
            saving = f" and uses {pct:.0f}% less {noun}" if pct >= 0 else f" and uses {-pct:.0f}% more {noun}"
            if by_target[pick]["energy"]["source"].startswith("estimated") and axis == "energy":
                saving += " (estimated)"
    return f"{pick} {words} {ref_words} at δ={delta:g}{saving}{tail}"
