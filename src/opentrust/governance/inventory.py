"""The model inventory (``opentrust models``) and the evidence columns of ``opentrust history``.

Built on the store's read API: ``Store.models`` (fingerprints and the names seen), ``Store.runs``, ``run_result``
(each finished run's result, read back through ``read_result`` so results of older versions load) and
``gate_results``. A run's headline figures (MOF class, scan verdict, red-team attack success with its interval, the
behaviour pass rate, fairness verdicts) are computed from its result once and kept in the store's ``inventory``
table, so listing thousands of runs does not re-read their reports; runs recorded before the table existed are
summarised on first listing.
"""

from __future__ import annotations

from typing import Any

from opentrust.errors import UserError

SUMMARISED = ("audit", "scan", "openness", "redteam", "test", "fairness")
SEVERITIES = ("critical", "high", "medium", "low", "info")


def summarise(result: Any) -> dict[str, Any]:
    """The headline figures of one result (any kind; what it does not measure is absent)."""
    doc = result.model_dump(mode="json", by_alias=True)
    out: dict[str, Any] = {"kind": result.kind}
    parts: dict[str, Any] = {}
    if result.kind == "audit":
        out["profile"] = (doc.get("parameters") or {}).get("profile")
        summary = doc.get("summary") or {}
        out["findings"] = summary.get("findings_by_severity")
        out["checks"] = {s["check"]: s["status"] for s in doc.get("sections") or []}
        for s in doc.get("sections") or []:
            if s["status"] in ("ok", "findings") and s.get("data"):
                parts[s["check"]] = s["data"].get("scan", s["data"]) if s["check"] == "scan" else s["data"]
    else:
        parts[{"test": "behaviour"}.get(result.kind, result.kind)] = doc
    if "openness" in parts:
        o = parts["openness"]
        mof = o.get("mof") or {}
        lic = mof.get("distribution_license")
        category = next((e.get("category") for e in o.get("licenses") or [] if e.get("id") == lic), None)
        out["openness"] = {"mof_class": mof.get("class"), "mof_label": mof.get("label"), "licence": lic,
                           "licence_category": category, "osaid": (o.get("osaid") or {}).get("verdict")}
    if "scan" in parts:
        counts = (parts["scan"].get("summary") or {}).get("findings_by_severity") or {}
        worst = next((s for s in SEVERITIES if counts.get(s)), None)
        out["scan"] = {"verdict": "clean" if worst in (None, "info") else worst, "findings": counts}
    if "redteam" in parts:
        summary = parts["redteam"].get("summary") or {}
        out["redteam"] = {k: _figure(summary.get(k)) for k in ("attack_success", "over_refusal") if summary.get(k)}
    if "behaviour" in parts:
        suite = parts["behaviour"].get("suite") or {}
        out["behaviour"] = {"pass_rate": suite.get("pass_rate"), "ci": suite.get("ci"), "cases": suite.get("cases")}
    if "fairness" in parts:
        s = parts["fairness"].get("summary") or {}
        out["fairness"] = {k: s.get(k) for k in ("comparisons", "fair", "unfair", "inconclusive")}
    return out


def _figure(g: dict[str, Any] | None) -> dict[str, Any] | None:
    if not g:
        return None
    return {"rate": g.get("asr"), "ci": g.get("ci"), "samples": g.get("samples"), "evidence": g.get("evidence")}


def run_summaries(store: Any, runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """run id -> summary for the finished runs with a result, computing (and keeping) the ones not yet kept."""
    wanted = [r for r in runs if r.get("has_result") and r["command"] in SUMMARISED]
    kept = store.inventory_summaries([r["id"] for r in wanted])
    for r in wanted:
        if r["id"] in kept:
            continue
        try:
            result = store.run_result(r["id"])
        except UserError as exc:  # a result this version cannot read: say so instead of failing the listing
            kept[r["id"]] = {"kind": r["command"], "unreadable": exc.message}
            continue
        if result is None:
            continue
        kept[r["id"]] = summarise(result)
        store.save_inventory_summary(r["id"], r["fingerprint"], r["command"], kept[r["id"]])
    return kept


def inventory(db: Any = None, *, limit: int = 100) -> dict[str, Any]:
    """Every model the store has evidence for: {"models": [...]}, most recently seen first."""
    from opentrust.store import Store

    with Store(db) as store:
        return {"models": [model_entry(store, m) for m in store.models(limit=limit)]}


def model_entry(store: Any, m: dict[str, Any], runs: int = 200) -> dict[str, Any]:
    """One model's inventory entry (a ``Store.models`` row): names, last audit, the newest figure of each kind
    from its last ``runs`` finished runs, and the newest verdict of each policy gated (``opentrust models``, the
    web UI's inventory)."""
    done = store.runs(fingerprint=m["fingerprint"], status="done", limit=runs, counts=False)
    summaries = run_summaries(store, done)
    audits = store.runs(fingerprint=m["fingerprint"], command="audit", status="done", limit=1)
    last_audit = audits[0] if audits else None
    latest: dict[str, Any] = {}
    for r in done:  # newest first: the first run that measured a thing gives its figure
        for key in ("openness", "scan", "redteam", "behaviour", "fairness"):
            if key not in latest and key in summaries.get(r["id"], {}):
                latest[key] = {**summaries[r["id"]][key], "run_id": r["id"]}
    gates: dict[str, dict[str, Any]] = {}
    for g in store.gate_results(fingerprint=m["fingerprint"], limit=200):
        gates.setdefault(g["policy"], {k: g[k] for k in ("policy", "tier", "verdict", "counts", "run_id",
                                                        "created_at")})
    return {
        "fingerprint": m["fingerprint"], "kind": m["kind"],
        "names": sorted({n["spec"] for n in m["names"]}),
        "first_seen": m["first_seen"], "last_seen": m["last_seen"], "runs": m["runs"],
        "last_audit": None if last_audit is None else {
            "run_id": last_audit["id"], "started_at": last_audit["started_at"],
            "profile": summaries.get(last_audit["id"], {}).get("profile"),
            "findings": last_audit["findings"]},
        **{k: latest.get(k) for k in ("openness", "scan", "redteam", "behaviour", "fairness")},
        "gates": list(gates.values()),
    }


def annotate_history(data: dict[str, Any], db: Any = None) -> dict[str, Any]:
    """Add to ``opentrust history`` data each run's headline figures (``evidence``) and gate verdicts (``gates``)."""
    from opentrust.store import Store

    with Store(db) as store:
        for m in data["models"]:
            summaries = run_summaries(store, m["runs"])
            for r in m["runs"]:
                r["evidence"] = summaries.get(r["id"])
                r["gates"] = [{k: g[k] for k in ("policy", "tier", "verdict", "counts", "created_at")}
                              for g in store.gate_results(run_id=r["id"], limit=50)]
    return data


# -- rendering ---------------------------------------------------------------------------------------------------------
def rate_text(fig: dict[str, Any] | None) -> str:
    if not fig or fig.get("rate") is None:
        return "—"
    ci = fig.get("ci") or [None, None]
    inside = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if None not in ci else ""
    thin = " (insufficient)" if fig.get("evidence") == "insufficient" else ""
    return f"{fig['rate']:.2f}{inside}{thin}"


def evidence_text(summary: dict[str, Any] | None) -> str:
    """One cell: MOF class, scan verdict, attack success, pass rate, unfair verdicts."""
    if not summary:
        return ""
    if summary.get("unreadable"):
        return "unreadable result"
    parts = []
    if "openness" in summary:
        parts.append(f"MOF {_mof(summary['openness'])}")
    if "scan" in summary:
        parts.append(f"scan {summary['scan']['verdict']}")
    rt = (summary.get("redteam") or {}).get("attack_success")
    if rt:
        parts.append(f"ASR {rate_text(rt)}")
    if (summary.get("behaviour") or {}).get("pass_rate") is not None:
        parts.append(f"pass {summary['behaviour']['pass_rate']:.2f}")
    if summary.get("fairness"):
        parts.append(f"unfair {summary['fairness'].get('unfair')}")
    return ", ".join(parts)


def _mof(o: dict[str, Any]) -> str:
    cls = o.get("mof_class")
    return {0: "unclassified", 1: "I", 2: "II", 3: "III"}.get(cls, str(cls)) if cls is not None else "—"


def gates_text(gates: list[dict[str, Any]]) -> str:
    return ", ".join(f"{g['policy']}: {g['verdict']}" for g in gates) or "—"


def print_inventory(data: dict[str, Any], console: Any) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    if not data["models"]:
        console.print("no models in the store yet: run `opentrust audit TARGET` first")
        return
    table = Table(title="Models with evidence in the store", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("model", overflow="fold", ratio=2)
    table.add_column("last audit", overflow="fold", ratio=1)
    table.add_column("MOF", no_wrap=True)
    table.add_column("scan", no_wrap=True)
    table.add_column("attack success", overflow="fold", ratio=1)
    table.add_column("gates", overflow="fold", ratio=2)
    for m in data["models"]:
        audit = m["last_audit"]
        names = ", ".join(n.rsplit("/", 1)[-1] for n in m["names"]) or "—"
        table.add_row(f"{escape(names)}\n[dim]{m['fingerprint'][:12]}[/]",
                      f"{audit['started_at'][:16].replace('T', ' ')}\n[dim]{audit['run_id']}[/]" if audit else "—",
                      _mof(m["openness"]) if m["openness"] else "—",
                      m["scan"]["verdict"] if m["scan"] else "—",
                      rate_text((m["redteam"] or {}).get("attack_success")),
                      escape(gates_text(m["gates"])))
    console.print(table)
