"""What the pages of ``opentrust ui`` read: paginated, JSON-ready reads over the store, the guard log and report
files.

Built on the store's read API (``Store.models``, ``runs``, ``run_result``, ``findings``, ``gate_results``) and the
governance inventory (``opentrust models``: ``model_entry``, ``run_summaries``), never a second copy of them.
Every function returns plain dicts and lists (JSON-ready: the JSON API serves them as they are).

Large stores stay fast: each page reads a bounded number of rows through an index. No query here reads the
``samples`` table except by its primary key (a run's samples through ``run_samples``, whose key starts with the
run id) or through its unique key (model, request hash); ``tests/ui/test_queries.py`` checks the query plans.
Bad input (an unknown sort, a page size out of range, a run that does not exist) raises ``UserError``: the web
layer answers 400 or 404 with its message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from opentrust.errors import UserError

MAX_LIMIT = 500
SORTS = ("last_run", "first_seen", "fingerprint", "name", "attack_success", "over_refusal", "pass_rate", "mof",
         "scan", "gate")
#: sorts the store can page by itself; the others (figures kept in run summaries) rank every matching model
SQL_SORTS = {"last_run": "last_run_at", "first_seen": "m.first_seen", "fingerprint": "m.fingerprint"}
SCAN_ORDER = ("critical", "high", "medium", "low", "clean")
MOF_NAMES = {0: "unclassified", 1: "I", 2: "II", 3: "III"}
GATE_ORDER = ("fail", "conditional", "pass")
SEVERITIES = ("critical", "high", "medium", "low", "info")
MAX_REPORT_BYTES = 20 * 1024 * 1024
#: at most this many models are ranked in Python for a sort or filter on a figure
MAX_RANKED = 20000


def _paging(limit: int, offset: int) -> tuple[int, int]:
    try:
        limit, offset = int(limit), int(offset)
    except (TypeError, ValueError):
        raise UserError("limit and offset must be whole numbers", "e.g. ?limit=50&offset=0") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise UserError(f"limit {limit} is out of range", f"use 1 to {MAX_LIMIT}")
    if offset < 0:
        raise UserError(f"offset {offset} is negative", "use 0 or more")
    return limit, offset


# -- the inventory ---------------------------------------------------------------------------------------------
def _mof_text(openness: dict[str, Any] | None) -> str | None:
    if not openness or openness.get("mof_class") is None:
        return None
    cls = openness["mof_class"]
    return MOF_NAMES.get(cls, str(cls))


def _figure(fig: dict[str, Any] | None) -> dict[str, Any] | None:
    if not fig or fig.get("rate") is None:
        return None
    return {"rate": fig["rate"], "ci": fig.get("ci"), "evidence": fig.get("evidence"), "samples": fig.get("samples")}


def _gate_status(gates: list[dict[str, Any]]) -> str | None:
    """The worst of the newest verdict of each policy gated (None: never gated)."""
    verdicts = [g["verdict"] for g in gates]
    for v in GATE_ORDER:
        if v in verdicts:
            return v
    return verdicts[0] if verdicts else None


def _audit_verdict(last_audit: dict[str, Any] | None) -> str | None:
    if not last_audit:
        return None
    counts = last_audit.get("findings") or {}
    return next((s for s in SEVERITIES if counts.get(s)), "clean")


def inventory_item(entry: dict[str, Any], last_run_at: str | None) -> dict[str, Any]:
    """A governance inventory entry (``model_entry``) with the flat fields a table row shows."""
    redteam = entry.get("redteam") or {}
    behaviour = entry.get("behaviour") or {}
    scan = entry.get("scan") or {}
    pass_rate = None
    if behaviour.get("pass_rate") is not None:
        pass_rate = {"rate": behaviour["pass_rate"], "ci": behaviour.get("ci"), "cases": behaviour.get("cases")}
    item = dict(entry)
    item.update({
        "last_run_at": last_run_at,
        "latest": {"audit": _audit_verdict(entry.get("last_audit")), "scan": scan.get("verdict"),
                   "redteam": (_figure(redteam.get("attack_success")) or {}).get("rate"),
                   "test": None if pass_rate is None else pass_rate["rate"]},
        "mof_class": _mof_text(entry.get("openness")),
        "licence": (entry.get("openness") or {}).get("licence"),
        "scan_status": scan.get("verdict"),
        "attack_success": _figure(redteam.get("attack_success")),
        "over_refusal": _figure(redteam.get("over_refusal")),
        "pass_rate": pass_rate,
        "gate_status": _gate_status(entry.get("gates") or []),
    })
    return item


def _sort_key(sort: str, item: dict[str, Any]) -> tuple[int, Any]:
    """(missing last, value): models without the figure sort after the others either way."""
    value: Any
    if sort == "name":
        value = (item["names"] or [item["fingerprint"]])[0].lower()
    elif sort in ("attack_success", "over_refusal", "pass_rate"):
        value = (item[sort] or {}).get("rate")
    elif sort == "mof":
        value = (item.get("openness") or {}).get("mof_class")
    elif sort == "scan":
        value = None if item["scan_status"] is None else SCAN_ORDER.index(item["scan_status"]) \
            if item["scan_status"] in SCAN_ORDER else len(SCAN_ORDER)
    elif sort == "gate":
        value = None if item["gate_status"] is None else GATE_ORDER.index(item["gate_status"]) \
            if item["gate_status"] in GATE_ORDER else len(GATE_ORDER)
    elif sort == "last_run":
        value = item["last_run_at"]
    else:
        value = item.get({"first_seen": "first_seen"}.get(sort, sort))
    return (value is None, value)


def _matches(item: dict[str, Any], mof: str | None, scan: str | None, gate: str | None) -> bool:
    def same(value: str | None, wanted: str | None) -> bool:
        return wanted is None or (value or "none").lower() == wanted.lower()

    return same(item["mof_class"], mof) and same(item["scan_status"], scan) and same(item["gate_status"], gate)


def inventory(store: Any, *, q: str | None = None, mof: str | None = None, scan: str | None = None,
              gate: str | None = None, sort: str = "last_run", desc: bool = True, limit: int = 50,
              offset: int = 0) -> dict[str, Any]:
    """The Models page: {"total", "limit", "offset", "sort", "desc", "items": [...]}.

    ``q``: part of a name the model was seen under, or the start of its fingerprint. ``mof`` (I, II, III,
    unclassified, none), ``scan`` (clean, critical, high, medium, low, none) and ``gate`` (pass, fail,
    conditional, none): the model's newest figure equals it ("none": it has none). ``sort``: one of ``SORTS``.
    Sorting by time or fingerprint without a figure filter pages in SQL; otherwise the matching models are
    ranked here (each costs a few indexed queries; at most ``MAX_RANKED``).
    """
    from opentrust.governance.inventory import model_entry

    limit, offset = _paging(limit, offset)
    if sort not in SORTS:
        raise UserError(f"unknown sort {sort!r}", f"use one of: {', '.join(SORTS)}")
    clauses, args = [], []
    if q:
        q = q.strip()[:200]
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(m.fingerprint LIKE ? ESCAPE '\\' OR m.fingerprint IN (SELECT fingerprint FROM model_names "
                       "WHERE spec LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\'))")
        args += [q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", like, like]
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    last_run = "(SELECT max(r.started_at) FROM runs r WHERE r.fingerprint=m.fingerprint)"
    filtered = any(v is not None for v in (mof, scan, gate))
    in_sql = sort in SQL_SORTS and not filtered
    order = f" ORDER BY {SQL_SORTS.get(sort, 'last_run_at')} {'DESC' if desc else 'ASC'}, m.fingerprint"
    page = f" LIMIT {limit} OFFSET {offset}" if in_sql else f" LIMIT {MAX_RANKED}"
    rows = store._rows(f"SELECT m.fingerprint, {last_run} AS last_run_at FROM models m{where}{order}{page}", args)
    total = store._exec(f"SELECT count(*) FROM models m{where}", args).fetchone()[0] if in_sql else None
    items = []
    for row in rows:
        models = store.models(fingerprint=row["fingerprint"], limit=1)
        if models:
            items.append(inventory_item(model_entry(store, models[0]), row["last_run_at"]))
    if not in_sql:
        items = [i for i in items if _matches(i, mof, scan, gate)]
        present = [i for i in items if not _sort_key(sort, i)[0]]
        missing = [i for i in items if _sort_key(sort, i)[0]]
        present.sort(key=lambda i: _sort_key(sort, i)[1], reverse=desc)
        items = present + missing
        total = len(items)
        items = items[offset:offset + limit]
    return {"total": total, "limit": limit, "offset": offset, "sort": sort, "desc": desc,
            "filters": {"q": q or None, "mof": mof, "scan": scan, "gate": gate}, "items": items}


def warm_summaries(store: Any, batch: int = 200) -> int:
    """Compute and keep the headline figures of every finished run that has none yet (``run_summaries``, as the
    first ``opentrust models`` listing does), so the first inventory page does not pay for them; returns how many
    were computed. The app may call it once at start-up (in the background: it parses each new result once)."""
    from opentrust.governance.inventory import SUMMARISED, run_summaries

    done, last = 0, 0
    marks = ",".join("?" * len(SUMMARISED))
    while True:  # in rowid order, so a result that cannot be read is passed over, not read again
        rows = store._rows(
            "SELECT r.rowid AS n, r.id, r.command, r.fingerprint, 1 AS has_result FROM runs r WHERE r.status='done' "
            f"AND typeof(r.report) != 'null' AND r.command IN ({marks}) AND r.rowid > ? AND NOT EXISTS (SELECT 1 "
            "FROM inventory i WHERE i.run_id = r.id) ORDER BY r.rowid LIMIT ?", [*SUMMARISED, last, batch])
        if not rows:
            return done
        run_summaries(store, rows)
        done += len(rows)
        last = rows[-1]["n"]


# -- one model -------------------------------------------------------------------------------------------------
def _latencies(store: Any, run_ids: list[str]) -> dict[str, list[float]]:
    """run id -> the latencies (s) of the samples it used: through run_samples (keyed by run id) and the
    samples' primary key, never a scan of samples."""
    out: dict[str, list[float]] = {r: [] for r in run_ids}
    for start in range(0, len(run_ids), 200):
        chunk = run_ids[start:start + 200]
        for run_id, latency in store._exec(
                "SELECT rs.run_id, s.latency_s FROM run_samples rs JOIN samples s ON s.id = rs.sample_id "
                f"WHERE rs.run_id IN ({','.join('?' * len(chunk))}) AND s.latency_s > 0", chunk).fetchall():
            out[run_id].append(float(latency))
    return out


def _point(run: dict[str, Any], value: float | None, ci: Any, **extra: Any) -> dict[str, Any]:
    low, high = (list(ci) + [None, None])[:2] if ci else (None, None)
    return {"run_id": run["id"], "command": run["command"], "at": run["started_at"], "value": value,
            "low": low, "high": high, **extra}


def model_detail(store: Any, fingerprint: str, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """The Model page: the inventory entry, its runs (newest first, paginated) with each run's headline
    figures, the trend series (oldest first, each point with its interval: ``pass_rate``, ``attack_success``,
    ``over_refusal``, ``latency`` in seconds per answer), the findings of its newest audit (or newest run with
    findings), its licences and gate verdicts."""
    from opentrust.governance.inventory import model_entry, run_summaries
    from opentrust.stats import mean_interval

    limit, offset = _paging(limit, offset)
    models = store.models(fingerprint=fingerprint, limit=1)
    if not models:
        raise UserError(f"no model {fingerprint!r} in the store", "pick one on the Models page")
    entry = model_entry(store, models[0])
    runs = store.runs(fingerprint=fingerprint, limit=limit, offset=offset)
    summaries = run_summaries(store, runs)
    latencies = _latencies(store, [r["id"] for r in runs])
    series: dict[str, list[dict[str, Any]]] = {"pass_rate": [], "attack_success": [], "over_refusal": [],
                                               "latency": []}
    for r in reversed(runs):  # oldest first
        s = summaries.get(r["id"]) or {}
        r["evidence"] = s or None
        behaviour = s.get("behaviour") or {}
        if behaviour.get("pass_rate") is not None:
            series["pass_rate"].append(_point(r, behaviour["pass_rate"], behaviour.get("ci"),
                                              n=behaviour.get("cases")))
        for key in ("attack_success", "over_refusal"):
            fig = (s.get("redteam") or {}).get(key)
            if fig and fig.get("rate") is not None:
                series[key].append(_point(r, fig["rate"], fig.get("ci"), n=fig.get("samples"),
                                          evidence=fig.get("evidence")))
        values = latencies.get(r["id"]) or []
        if values:
            mean, ci = mean_interval(values)
            series["latency"].append(_point(r, round(mean, 4), None if ci is None else
                                            [round(max(0.0, ci[0]), 4), round(ci[1], 4)], n=len(values)))
    newest_with_findings = next((r for r in runs if r["command"] == "audit"), None) or \
        next((r for r in runs if any(r["findings"].values())), None)
    audit_id = (entry.get("last_audit") or {}).get("run_id")
    findings_run = audit_id or (newest_with_findings or {}).get("id")
    openness = entry.get("openness") or {}
    licences = openness.get("licences") or ([{"id": openness["licence"], "category": openness.get("licence_category")}]
                                            if openness.get("licence") else [])
    total = models[0]["runs"]
    return {
        "model": inventory_item(entry, runs[0]["started_at"] if runs and offset == 0 else None),
        "runs": runs, "runs_total": total, "limit": limit, "offset": offset,
        "series": series,
        "findings_run_id": findings_run,
        "findings": store.findings(run_id=findings_run, limit=200) if findings_run else [],
        "licences": licences,
        "gates": store.gate_results(fingerprint=fingerprint, limit=50),
    }


# -- one run ---------------------------------------------------------------------------------------------------
def _run_row(store: Any, run_id: str) -> dict[str, Any]:
    row = store.run(run_id)
    if row is None:
        raise UserError(f"no run {run_id!r} in the store", "pick a run on a model's page")
    row = {k: v for k, v in row.items() if k != "report"}
    row["parameters"] = json.loads(row["parameters"])
    return row


def run_report(store: Any, run_id: str) -> dict[str, Any]:
    """The Audit page: the run's row and its stored result read back through ``Store.run_result`` (so results of
    older versions load, upgraded): {"run", "kind", "result" (the result's JSON), "upgraded_from"}. ``result`` is
    None while the run has none (still running, or failed)."""
    run = _run_row(store, run_id)
    result = store.run_result(run_id)
    return {"run": run, "kind": None if result is None else result.kind,
            "result": None if result is None else result.model_dump(mode="json", by_alias=True),
            "upgraded_from": getattr(result, "_upgraded_from", None)}


# -- red team: the heat map and its cells ----------------------------------------------------------------------
def cell_column(probe: dict[str, Any]) -> str:
    """The heat map's column of a probe record: its attack transformation ('none' = the probe as written, else
    the mutator chain), as in the report's heat map (``CampaignResult.heatmap``)."""
    return "+".join(probe.get("mutators") or []) or "none"


def redteam_records(store: Any, run_id: str) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """(run row, the red-team document, its probe records) of a redteam run or of an audit's redteam section."""
    run = _run_row(store, run_id)
    result = store.run_result(run_id)
    if result is None:
        raise UserError(f"run {run_id} has no result yet", "wait for it to finish")
    doc = result.model_dump(mode="json", by_alias=True)
    if result.kind == "redteam":
        return run, doc, doc.get("probes") or []
    if result.kind == "audit":
        for s in doc.get("sections") or []:
            if s.get("check") == "redteam" and s.get("data"):
                data = s["data"]
                return run, {**data, "parameters": s.get("parameters") or {}}, data.get("probes") or []
    raise UserError(f"run {run_id} ({result.kind}) has no red-team results", "pick a redteam or audit run")


def _estimate(probes: list[dict[str, Any]], rates_for: Any) -> dict[str, Any]:
    """Corrected attack-success figure of some probe records (``redteam.estimate``: probes are the unit, strata
    per detector and success label, Lang–Reiczigel interval with the detectors' error rates)."""
    from opentrust.redteam.estimate import Stratum, Unit, group_estimate
    from opentrust.stats import evidence

    strata: dict[tuple[str, str], list[Any]] = {}
    for p in probes:
        rate = p.get("asr_unbiased") if p.get("asr_unbiased") is not None else p.get("asr")
        if rate is None or not p.get("samples"):
            continue
        strata.setdefault((p["detector"], p["success_label"]), []).append(
            Unit(float(rate), int(p["samples"]), p.get("base_id") or p["id"], int(p["attack_successes"])))
    if not strata:
        return {"asr": None, "ci": [None, None], "observed": None, "evidence": None}
    g = group_estimate([Stratum(d, rates_for(d, lab), tuple(us)) for (d, lab), us in strata.items()])
    r = lambda v: None if v is None else round(v, 4)  # noqa: E731
    return {"asr": r(g.estimate), "ci": [r(g.low), r(g.high)], "observed": r(g.observed),
            "evidence": evidence(g.estimate, (g.low, g.high) if g.estimate is not None else None, g.clusters)}


def measured_rates(detector: str, success_label: str) -> Any:
    """The shipped error rates of ``detector`` for an attack that succeeds on ``success_label``."""
    from opentrust.redteam.catalogue import DETECTOR_LABELS
    from opentrust.redteam.correction import error_rates

    er = error_rates(detector)
    return er.for_label(success_label, er.positive_label or DETECTOR_LABELS[detector][0])


def redteam_cells(store: Any, run_id: str, rates_for: Any = None) -> dict[str, Any]:
    """The Red team page: categories × techniques (the attack transformation, as in the report's heat map),
    each cell with its probes, samples, attack successes, the detector's rate and the corrected rate with its
    interval. ``rates_for(detector, success_label)``: the error rates to correct with (default: the shipped
    measurements; ``reviews.reviewed_rates_for(store)`` adds the human reviews)."""
    run, doc, probes = redteam_records(store, run_id)
    rates_for = rates_for or measured_rates
    cells: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in probes:
        cells.setdefault((p["category"], cell_column(p)), []).append(p)
    categories = sorted({c for c, _ in cells})
    techniques = ["none"] + sorted({t for _, t in cells} - {"none"}) if cells else []
    out = []
    for (cat, tech), ps in sorted(cells.items()):
        samples = sum(int(p["samples"]) for p in ps)
        successes = sum(int(p["attack_successes"]) for p in ps)
        out.append({"category": cat, "technique": tech, "probes": len(ps), "samples": samples,
                    "successes": successes, "rate": None if not samples else round(successes / samples, 4),
                    **{f"corrected_{k}": v for k, v in _estimate(ps, rates_for).items()}})
    return {"run": run, "run_id": run_id, "categories": categories, "techniques": techniques, "cells": out,
            "summary": doc.get("summary"), "probes": len(probes),
            "note": None if probes else "this result keeps no per-probe records (written before they were kept "
                                         "in audit reports): re-run the audit for the drill-down"}


def _plan_probes(run: dict[str, Any], doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(probe id -> catalogue Probe, plan settings) rebuilt from the run's parameters, for the exact request of
    each probe (and so its samples). Probes the rebuilt plan lacks (custom probe files) are matched by prompt."""
    from opentrust.redteam.catalogue import load_catalogue
    from opentrust.redteam.plan import Plan
    from opentrust.redteam.profiles import get_profile

    params = {**(doc.get("parameters") or {}), **({} if run["command"] == "audit" else run["parameters"])}
    try:
        plan = Plan.from_profile(get_profile(str(params.get("profile") or "quick")), load_catalogue(),
                                 params.get("mutators"), params.get("categories"))
    except Exception:  # noqa: BLE001 - an old or custom plan: fall back to matching by prompt
        return {}, params
    settings = {"temperature": params.get("temperature", plan.temperature),
                "max_tokens": params.get("max_tokens", plan.max_tokens), "seed": int(params.get("seed") or 0)}
    return {p.id: p for p in plan.probes}, settings


def _request_hash(store: Any, fingerprint: str, probe: Any, settings: dict[str, Any]) -> str | None:
    """The cache key of a probe's request as the campaign built it (``case_for`` → ``Runner.request_for``);
    the open assistant turns of a multi-turn probe are the model's greedy replies, read from the store."""
    from opentrust.backends.base import GenerationRequest, Message

    messages: list[dict[str, Any]] = [{"role": m.role, "content": m.content} for m in probe.messages]
    for i, m in enumerate(messages):
        if m["role"] == "assistant" and m["content"] is None:
            lead = GenerationRequest(messages=[Message(**x) for x in messages[:i]], temperature=0.0, top_p=1.0,
                                     max_tokens=settings["max_tokens"], seed=settings["seed"])
            row = store._exec("SELECT text FROM samples WHERE fingerprint=? AND request_hash=? AND sample_index=0 "
                              "LIMIT 1", (fingerprint, lead.cache_key())).fetchone()
            if row is None:
                return None
            m["content"] = row[0]
    request = GenerationRequest(messages=[Message(**m) for m in messages], temperature=settings["temperature"],
                                top_p=0.95, max_tokens=settings["max_tokens"], seed=settings["seed"])
    return request.cache_key()


def _samples_of(store: Any, run_id: str, fingerprint: str, request_hash: str) -> list[dict[str, Any]]:
    """The samples of one request that the run used (the samples' unique key, then run_samples' key)."""
    return store._rows(
        "SELECT s.id, s.sample_index, s.text, s.latency_s, s.created_at, rs.reused FROM samples s "
        "JOIN run_samples rs ON rs.sample_id = s.id AND rs.run_id = ? "
        "WHERE s.fingerprint = ? AND s.request_hash = ? ORDER BY s.sample_index", (run_id, fingerprint, request_hash))


def _samples_by_prompt(store: Any, run_id: str, prompt: str) -> list[dict[str, Any]]:
    """Fallback for probes whose request cannot be rebuilt: the run's samples whose last user message starts
    like the probe's recorded prompt (reads that run's samples only, through run_samples)."""
    out = []
    for row in store._rows("SELECT s.id, s.sample_index, s.request, s.text, s.latency_s, s.created_at, rs.reused "
                           "FROM run_samples rs JOIN samples s ON s.id = rs.sample_id WHERE rs.run_id = ?",
                           (run_id,)):
        try:
            messages = json.loads(row.pop("request")).get("messages") or []
        except ValueError:
            continue
        last = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
        if prompt and last[:300] == prompt[:300] and messages[-1].get("role") == "user":
            out.append(row)
    return sorted(out, key=lambda r: r["sample_index"])


def sample_labels(probe: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """sample index -> the detector's label as the run recorded it: an attack success is listed in the probe's
    examples (its label is the success label); the other samples got the detector's other label, which is known
    for sure only when every success and no detector error is listed."""
    from opentrust.redteam.catalogue import DETECTOR_LABELS

    labels = DETECTOR_LABELS.get(probe["detector"], (probe["success_label"], f"not {probe['success_label']}"))
    other = next((lab for lab in labels if lab != probe["success_label"]), f"not {probe['success_label']}")
    examples = {int(e["index"]): e for e in probe.get("examples") or []}
    complete = len(examples) >= int(probe.get("attack_successes") or 0) and not probe.get("errors")
    out = {}
    for i in range(int(probe.get("draws") or probe.get("samples") or 0)):
        if i in examples:
            out[i] = {"label": probe["success_label"], "attack_success": True, "reason": examples[i].get("reason")}
        else:
            out[i] = {"label": other if complete else None, "attack_success": False if complete else None,
                      "reason": None}
    return out


def reviews_for_run(store: Any, run_id: str, probe_ids: list[str]) -> dict[tuple[str, int], dict[str, Any]]:
    """(probe id, sample index) -> the newest review of that sample in the run (the ``reviews`` table of
    ``opentrust.ui.reviews``; read here so that queries never imports reviews, which imports queries)."""
    if not probe_ids:
        return {}
    rows = store._rows(f"SELECT * FROM reviews WHERE run_id=? AND probe_id IN ({','.join('?' * len(probe_ids))}) "
                       "ORDER BY id", [run_id, *probe_ids])
    return {(r["probe_id"], int(r["sample_index"])): r for r in rows}


def redteam_cell(store: Any, run_id: str, category: str, technique: str, limit: int = 20,
                 offset: int = 0) -> dict[str, Any]:
    """One heat-map cell: its probes (paginated), each with its prompt, detector, verdict and the actual model
    outputs (from the samples the run used), each output with the detector's label and its human review."""
    limit, offset = _paging(limit, offset)
    run, doc, probes = redteam_records(store, run_id)
    in_cell = [p for p in probes if p["category"] == category and cell_column(p) == technique]
    if not in_cell:
        raise UserError(f"run {run_id} has no probes in the cell {category} × {technique}",
                        "pick a cell of the heat map")
    page = in_cell[offset:offset + limit]
    plan, settings = _plan_probes(run, doc)
    reviews = reviews_for_run(store, run_id, [p["id"] for p in page])
    items = []
    for p in page:
        samples: list[dict[str, Any]] = []
        matched = "request"
        probe = plan.get(p["id"])
        key = _request_hash(store, run["fingerprint"], probe, settings) if probe is not None else None
        if key is not None:
            samples = _samples_of(store, run_id, run["fingerprint"], key)
        if not samples:
            matched = "prompt"
            samples = _samples_by_prompt(store, run_id, p.get("prompt") or "")
        labels = sample_labels(p)
        outputs = []
        for s in samples:
            i = int(s["sample_index"])
            review = reviews.get((p["id"], i))
            outputs.append({"sample_id": s["id"], "index": i, "output": s["text"], "latency_s": s["latency_s"],
                            "reused": bool(s["reused"]), **labels.get(i, {"label": None, "attack_success": None,
                                                                         "reason": None}),
                            "reviewed": review is not None, "review": review})
        items.append({k: p.get(k) for k in ("id", "base_id", "category", "technique", "mutators", "detector",
                                            "success_label", "hazard", "verdict", "attack_successes", "samples",
                                            "draws", "errors", "asr", "ci", "prompt")}
                     | {"outputs": outputs, "matched": matched if outputs else None})
    return {"run_id": run_id, "fingerprint": run["fingerprint"], "category": category, "technique": technique,
            "total": len(in_cell), "limit": limit, "offset": offset, "probes": items}


# -- the guard log ---------------------------------------------------------------------------------------------
def guard_log(path: str | os.PathLike[str], since: str | None = None, rule: str | None = None,
              decision: str | None = None, limit: int = 50, offset: int = 0, verify: bool = True) -> dict[str, Any]:
    """The Guard page: decisions, newest first (``guard.log.page``: paginated over the primary key), with the
    hash chain verified (``guard.log.verify``) when ``verify``: {"total", "items", "verify"}."""
    from opentrust.guard.log import page, verify as verify_chain

    limit, offset = _paging(limit, offset)
    path = Path(path)
    total, items = page(path, since=since, rule=rule, decision=decision, limit=limit, offset=offset)
    return {"path": str(path), "total": total, "limit": limit, "offset": offset, "items": items,
            "filters": {"since": since, "rule": rule, "decision": decision},
            "verify": verify_chain(path) if verify else None}


BUCKETS = {"minute": 16, "hour": 13, "day": 10}


def guard_blocks_over_time(path: str | os.PathLike[str], bucket: str = "hour",
                           since: str | None = None) -> dict[str, Any]:
    """Blocks per rule over time: {"bucket", "buckets": [time prefix...], "rules": {rule id: [count per
    bucket]}, "totals": {decision: count}}. A block counts once for each blocking rule that fired."""
    if bucket not in BUCKETS:
        raise UserError(f"unknown bucket {bucket!r}", f"use one of: {', '.join(BUCKETS)}")
    width = BUCKETS[bucket]
    from opentrust.guard.log import open_existing

    db = open_existing(Path(path))
    try:
        args: list[Any] = []
        clause = ""
        if since:
            clause = " AND d.ts >= ?"
            args.append(since)
        rows = db.execute(
            f"SELECT substr(d.ts, 1, {width}) AS b, json_extract(r.value, '$.id') AS rule, count(*) FROM decisions d, "
            "json_each(d.rules) r WHERE d.decision = 'block' AND json_extract(r.value, '$.action') = 'block'"
            f"{clause} GROUP BY b, rule ORDER BY b", args).fetchall()
        totals = dict(db.execute(f"SELECT decision, count(*) FROM decisions d WHERE 1=1{clause} GROUP BY decision",
                                 args).fetchall())
    finally:
        db.close()
    buckets = sorted({b for b, _, _ in rows})
    index = {b: i for i, b in enumerate(buckets)}
    rules: dict[str, list[int]] = {}
    for b, rule, n in rows:
        rules.setdefault(str(rule), [0] * len(buckets))[index[b]] = n
    return {"bucket": bucket, "buckets": buckets, "rules": dict(sorted(rules.items())), "totals": totals}


# -- report files (--reports DIR) ------------------------------------------------------------------------------
def _mtime(path: Path) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


def index_reports(dirs: list[str | os.PathLike[str]], max_bytes: int = MAX_REPORT_BYTES,
                  max_files: int = 5000) -> list[dict[str, Any]]:
    """Report JSON files under ``dirs`` that ``opentrust.read_result`` reads: {path, kind, target, fingerprint,
    created (the result's own time, else the file's modification time), run_id}, newest first. Files over
    ``max_bytes``, links, and files that are not opentrust results are skipped (nothing in them is ever executed:
    they are parsed as JSON data)."""
    from opentrust.results import read_result

    out: list[dict[str, Any]] = []
    seen = 0
    for d in dirs:
        root = Path(d)
        if not root.is_dir():
            raise UserError(f"--reports {root}: not a folder", "pass a folder holding report JSON files")
        for path in sorted(root.rglob("*.json")):
            if seen >= max_files:
                break
            if path.is_symlink() or not path.is_file():
                continue
            try:
                if path.stat().st_size > max_bytes:
                    continue
                seen += 1
                result = read_result(path)
            except (UserError, OSError):
                continue
            doc_model = getattr(result, "model", None) or getattr(result, "target", None)
            model = doc_model.model_dump(mode="json") if hasattr(doc_model, "model_dump") else (doc_model or {})
            out.append({"path": str(path), "kind": result.kind,
                        "target": model.get("spec") or model.get("name") or model.get("path"),
                        "fingerprint": model.get("fingerprint") or model.get("sha256"),
                        "created": str(getattr(result, "created_at", None) or getattr(result, "generated_at", None)
                                       or _mtime(path)),
                        "run_id": getattr(result, "run_id", None)})
    out.sort(key=lambda r: r["created"] or "", reverse=True)
    return out
