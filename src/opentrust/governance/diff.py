"""`opentrust diff OLD NEW`: what changed between two audits of a model, and whether it got significantly worse.

* **Findings** are matched by check, rule and location (paths relative to the model, so two versions of a model in
  different folders match): new, fixed, and changed (same finding, other severity or title).
* **Metrics**: every measurement both reports carry, plus the red-team summary rates. A rate's change has an
  interval: **paired** where the samples are paired (the behaviour suites ask the same cases: per-case differences,
  clustered by case, hull with a case bootstrap — the machinery of `opentrust compare`), otherwise **independent**
  (MOVER, Zou and Donner 2008: each end from the matching ends of the two intervals; Newcombe's interval for two
  Wilson intervals). A change is significant when its interval excludes 0 at a family-wise 95% (Bonferroni over the
  m metrics that have a direction: the 95% interval widened to 1 - 0.05/m, exactly for paired figures, by the ratio
  of normal quantiles for the intervals read from the reports).
* **Verdicts**: the report's pass/fail, section statuses, MOF class, OSAID, licence, scan verdict, fairness and case
  verdicts, gate verdicts.

A **regression** — exit 1 — is a significant change in the worse direction of a rate (attack success, over-refusal,
pass rates, fairness gaps; timings only with ``timings=True``: they measure the machine as much as the model), a new
finding of high or critical severity from a check that reads files (those are deterministic, so a new one is not
noise), a lower MOF class, losing the OSAID verdict, a licence that stops being open, or a gate that stops passing.
A point change inside the noise is never a regression.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from statistics import NormalDist
from typing import Any

from opentrust.errors import UserError
from opentrust.results.diff import DiffResult, FindingChange, MetricChange, Side, VerdictChange

CONFIDENCE = 0.95
DETERMINISTIC_CHECKS = ("model_facts", "scan", "openness")
TIMINGS = ("smoke.latency_s", "smoke.tokens_per_second", "smoke.tokens_per_second_per_answer", "scan.seconds")
#: (pattern of a metric name, direction)
DIRECTIONS: list[tuple[str, str]] = [
    (r"^redteam\..*attack_success(_rate)?$", "lower_is_better"),
    (r"^redteam\.over_refusal$", "lower_is_better"),
    (r"^behaviour(\..+)?\.pass_rate$", "higher_is_better"),
    (r"^smoke\.expected_answer_rate$", "higher_is_better"),
    (r"^fairness\..+\.max_gap$", "lower_is_better"),
    (r"^fairness\.bbq\.accuracy_(ambiguous|disambiguated)$", "higher_is_better"),
    (r"^smoke\.latency_s$", "lower_is_better"),
    (r"^smoke\.tokens_per_second(_per_answer)?$", "higher_is_better"),
]
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def load_side(spec: str, db: Any = None, api_key_env: str | None = None) -> tuple[str, Any]:
    """An audit report: a report.json file, or a target's latest finished audit in the store."""
    from opentrust.results import read_result

    path = Path(spec)
    if path.is_file():
        result = read_result(path)
        if result.kind != "audit":
            raise UserError(f"{spec} is a {result.kind} result", "diff compares audit reports (report.json)")
        return spec, result
    from opentrust.store import Store
    from opentrust.target import resolve_target

    target = resolve_target(spec, api_key_env=api_key_env)
    with Store(db) as store:
        fingerprint = target.fingerprint(store)
        runs = [r for r in store.runs(fingerprint=fingerprint, command="audit", status="done", limit=20)
                if r["has_result"]]
        if not runs:
            raise UserError(f"no finished audit of {spec} in {store.path}",
                            f"run `opentrust audit {spec}` first, or pass report.json files")
        return f"{spec}, latest audit", store.run_result(runs[0]["id"])


def diff_reports(old: tuple[str, Any], new: tuple[str, Any], *, timings: bool = False,
                 confidence: float = CONFIDENCE) -> DiffResult:
    (old_label, a), (new_label, b) = old, new
    findings = _findings(a, b)
    metrics = _metrics(a, b, confidence, timings)
    verdicts = _verdicts(a, b)
    regressions = [f"{m.name}: {_num(m.old)} → {_num(m.new)} (change {_signed(m.diff)}, family-wise interval "
                   f"[{_signed(m.ci_familywise[0])}, {_signed(m.ci_familywise[1])}], {m.method})"
                   for m in metrics if m.regression and m.ci_familywise]
    regressions += [f"new {f.severity} finding {f.rule_id} ({f.check}) at {f.location}: {f.title}" for f in findings
                    if f.change == "new" and f.deterministic and SEVERITY_RANK.get(f.severity, 0) >= 3]
    regressions += [f"{v.what}: {v.old} → {v.new}" for v in verdicts if v.regression]
    return DiffResult(old=_side(old_label, a), new=_side(new_label, b), findings=findings, metrics=metrics,
                      verdicts=verdicts, regressions=regressions, confidence=confidence,
                      exit_code=1 if regressions else 0)


def _side(label: str, r: Any) -> Side:
    return Side(label=label, target=r.target.name, fingerprint=r.target.fingerprint, run_id=r.run_id,
                created_at=r.created_at, profile=r.parameters.get("profile"), seed=r.parameters.get("seed"))


# -- findings ---------------------------------------------------------------------------------------------------------
def _where(f: Any, target: Any) -> str:
    path = f.location.path or ""
    root = str(target.location or "")
    if root and path == root:
        path = "<model>"
    elif root and path.startswith(root.rstrip("/") + "/"):
        path = path[len(root.rstrip("/")) + 1:]
    parts = [path] if path else []
    if f.location.key:
        parts.append(f"#{f.location.key}")
    if f.location.line is not None:
        parts.append(f":{f.location.line}")
    for key in ("case", "probe", "attribute", "category"):  # what a sampled check's finding is about
        if isinstance(f.properties.get(key), str):
            parts.append(f" {key} {f.properties[key]}")
            break
    return "".join(parts).strip() or "—"


def _findings(a: Any, b: Any) -> list[FindingChange]:
    def index(report: Any) -> dict[tuple[str, str, str], list[Any]]:
        out: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
        for s in report.sections:
            if s.check == "gate":
                continue
            for f in s.findings:
                out[(s.check, f.rule_id, _where(f, report.target))].append(f)
        return out

    old, new = index(a), index(b)
    changes: list[FindingChange] = []
    for key in sorted(set(old) | set(new)):
        check, rule, where = key
        xs, ys = old.get(key, []), new.get(key, [])
        det = check in DETERMINISTIC_CHECKS
        for x, y in zip(xs, ys):
            if x.severity != y.severity:  # titles carry the figures of the run: only a new severity is a change
                changes.append(FindingChange(change="changed", check=check, rule_id=rule, location=where,
                                             severity=y.severity.value, old_severity=x.severity.value, title=y.title,
                                             deterministic=det))
        for y in ys[len(xs):]:
            changes.append(FindingChange(change="new", check=check, rule_id=rule, location=where,
                                         severity=y.severity.value, title=y.title, deterministic=det))
        for x in xs[len(ys):]:
            changes.append(FindingChange(change="fixed", check=check, rule_id=rule, location=where,
                                         severity=x.severity.value, title=x.title, deterministic=det))
    return changes


# -- metrics ----------------------------------------------------------------------------------------------------------
def direction(name: str) -> str | None:
    return next((d for pattern, d in DIRECTIONS if re.match(pattern, name)), None)


def _figures(report: Any) -> dict[str, dict[str, Any]]:
    """name -> {value, ci, n, unit} of every measurement, plus the red-team summary rates."""
    out: dict[str, dict[str, Any]] = {}
    for s in report.sections:
        if s.status not in ("ok", "findings") or s.check == "gate":
            continue
        for m in s.measurements:
            out[m.name] = {"value": m.value, "ci": tuple(m.interval) if m.interval else None, "n": m.n,
                           "unit": m.unit, "confidence": m.confidence}
        if s.check == "redteam" and hasattr(s.data, "summary"):
            for key in ("attack_success", "over_refusal"):
                g = getattr(s.data.summary, key, None)
                if f"redteam.{key}.attack_success_rate" in out:  # over-refusal is also a category measurement
                    continue
                if g is not None and g.asr is not None and None not in g.ci:
                    out[f"redteam.{key}"] = {"value": g.asr, "ci": tuple(g.ci), "n": g.units or g.samples,
                                             "unit": "ratio", "confidence": 0.95}
    return out


def _cases(report: Any) -> dict[str, Any] | None:
    s = next((s for s in report.sections if s.check == "behaviour" and s.status in ("ok", "findings")), None)
    if s is None or not hasattr(s.data, "cases"):
        return None
    return {c.id: c for c in s.data.cases if c.samples > 0}


def _metrics(a: Any, b: Any, confidence: float, timings: bool) -> list[MetricChange]:
    fa, fb = _figures(a), _figures(b)
    ca, cb = _cases(a), _cases(b)
    paired: dict[str, list[tuple[float, float, int]]] = {}
    if ca is not None and cb is not None:
        for cid in sorted(set(ca) & set(cb)):
            x, y = ca[cid], cb[cid]
            unit = (x.successes / x.samples, y.successes / y.samples, min(x.samples, y.samples))
            paired.setdefault("behaviour.pass_rate", []).append(unit)
            paired.setdefault(f"behaviour.{x.suite}.pass_rate", []).append(unit)
    names = sorted((set(fa) & set(fb)) | set(paired))
    directional = [n for n in names if direction(n) and (timings or n not in TIMINGS)]
    m = max(1, len(directional))
    family = 1 - (1 - confidence) / m
    out = []
    for name in names:
        d = direction(name)
        gated = d is not None and (timings or name not in TIMINGS)
        if name in paired:
            out.append(_paired(name, paired[name], confidence, family, d, gated, fa.get(name), fb.get(name)))
        else:
            out.append(_independent(name, fa[name], fb[name], confidence, family, d, gated))
    return out


def _paired(name: str, units: list[tuple[float, float, int]], confidence: float, family: float, d: str | None,
            gated: bool, fa: dict[str, Any] | None, fb: dict[str, Any] | None) -> MetricChange:
    from opentrust.compare.stats import bootstrap, clustered

    diffs = [[rb - ra] * n for ra, rb, n in units]
    old = sum(ra for ra, _, _ in units) / len(units)
    new = sum(rb for _, rb, _ in units) / len(units)

    def interval(level: float) -> tuple[float, float]:
        _, _, ci_c, _ = clustered(diffs, level)
        ci_b = bootstrap(diffs, level)
        return (min(ci_c[0], ci_b[0]), max(ci_c[1], ci_b[1])) if ci_b else ci_c

    ci, fw = interval(confidence), interval(family)
    diff = new - old
    significant = fw[0] > 0 or fw[1] < 0
    return MetricChange(
        name=name, unit="ratio", old=round(old, 6), new=round(new, 6), diff=round(diff, 6), ci=_round(ci),
        ci_familywise=_round(fw), n_old=len(units), n_new=len(units), direction=d, significant=significant,
        regression=gated and significant and _worse(d, fw),
        method=f"paired over {len(units)} cases (same case ids; case-clustered interval, hull with a case "
               "bootstrap)", note="" if gated else _why_not(name, d))


def _independent(name: str, x: dict[str, Any], y: dict[str, Any], confidence: float, family: float,
                 d: str | None, gated: bool) -> MetricChange:
    from opentrust.stats import difference_interval, wilson_interval

    base = dict(name=name, unit=y.get("unit") or x.get("unit") or "", old=x["value"], new=y["value"],
                n_old=x.get("n"), n_new=y.get("n"), direction=d)
    if x["value"] is None or y["value"] is None:
        return MetricChange(**base, diff=None, ci=None, ci_familywise=None, method="none", significant=False,
                            regression=False, note="a side has no value")
    diff = y["value"] - x["value"]
    ix, iy = _interval_of(x, wilson_interval), _interval_of(y, wilson_interval)
    if ix is None or iy is None:
        return MetricChange(**base, diff=round(diff, 6), ci=None, ci_familywise=None, method="none",
                            significant=False, regression=False, note="no interval on a side: not judged")
    ci = difference_interval(x["value"], ix, y["value"], iy)
    scale = NormalDist().inv_cdf(0.5 + family / 2) / NormalDist().inv_cdf(0.5 + confidence / 2)
    fw = (diff - (diff - ci[0]) * scale, diff + (ci[1] - diff) * scale)
    if base["unit"] == "ratio":  # a difference of two rates lies in [-1, 1]
        ci, fw = _clamp(ci), _clamp(fw)
    significant = fw[0] > 0 or fw[1] < 0
    return MetricChange(**base, diff=round(diff, 6), ci=_round(ci), ci_familywise=_round(fw),
                        method="independent (MOVER from each side's 95% interval)", significant=significant,
                        regression=gated and significant and _worse(d, fw), note="" if gated else _why_not(name, d))


def _interval_of(f: dict[str, Any], wilson: Any) -> tuple[float, float] | None:
    if f.get("ci") is not None and (f.get("confidence") in (None, 0.95)):
        return (float(f["ci"][0]), float(f["ci"][1]))
    if f.get("unit") == "ratio" and f.get("n") and 0 <= f["value"] <= 1:
        n = int(f["n"])
        return wilson(round(f["value"] * n), n, 0.95)
    return None


def _worse(d: str | None, ci: tuple[float, float]) -> bool:
    return (d == "higher_is_better" and ci[1] < 0) or (d == "lower_is_better" and ci[0] > 0)


def _why_not(name: str, d: str | None) -> str:
    if d is None:
        return "no better direction: reported, never a regression"
    return "a timing: it measures the machine as much as the model (gated with --timings)"


def _clamp(ci: tuple[float, float]) -> tuple[float, float]:
    return (max(-1.0, ci[0]), min(1.0, ci[1]))


def _round(ci: tuple[float, float]) -> tuple[float, float]:
    return (round(ci[0], 6), round(ci[1], 6))


# -- verdicts ---------------------------------------------------------------------------------------------------------
def _verdicts(a: Any, b: Any) -> list[VerdictChange]:
    out: list[VerdictChange] = []

    def add(what: str, old: Any, new: Any, regression: bool = False) -> None:
        if old != new:
            out.append(VerdictChange(what=what, old=old, new=new, regression=regression))

    add("audit verdict", _failed(a), _failed(b))
    sa, sb = {s.check: s for s in a.sections}, {s.check: s for s in b.sections}
    for check in sorted(set(sa) & set(sb)):
        add(f"{check} section", sa[check].status, sb[check].status)
    oa, ob = _data(sa.get("openness")), _data(sb.get("openness"))
    if oa is not None and ob is not None:
        ka, kb = oa.mof.class_, ob.mof.class_
        # MOF classes: 3 Open Model < 2 Open Tooling < 1 Open Science; 0 Unclassified is below them all
        add("MOF class", oa.mof.label, ob.mof.label, regression=_mof_rank(kb) < _mof_rank(ka))
        add("OSAID", oa.osaid.get("verdict"), ob.osaid.get("verdict"),
            regression=oa.osaid.get("verdict") == "open-source-ai" and ob.osaid.get("verdict") != "open-source-ai")
        la, lb = _licence(oa), _licence(ob)
        add("licence", la, lb, regression=la.endswith("(open)") and not lb.endswith("(open)"))
    ba, bb = _data(sa.get("behaviour")), _data(sb.get("behaviour"))
    if ba is not None and bb is not None:
        va, vb = {c.id: c.verdict for c in ba.cases}, {c.id: c.verdict for c in bb.cases}
        for cid in sorted(set(va) & set(vb)):
            add(f"case {cid}", va[cid], vb[cid])  # one case's verdict is noisy: the suite's paired rate gates
    fa, fb = _data(sa.get("fairness")), _data(sb.get("fairness"))
    if fa is not None and fb is not None:
        ra = {f"{r.attribute}.{r.metric}": r.verdict for r in fa.counterfactual}
        rb = {f"{r.attribute}.{r.metric}": r.verdict for r in fb.counterfactual}
        for key in sorted(set(ra) & set(rb)):  # unfair needs a significant gap: a new one is a regression
            add(f"fairness {key}", ra[key], rb[key], regression=rb[key] == "unfair" and ra[key] != "unfair")
    ga, gb = _data(sa.get("gate")), _data(sb.get("gate"))
    if isinstance(ga, dict) and isinstance(gb, dict) and ga.get("policy") == gb.get("policy"):
        add(f"gate {gb.get('policy')}", ga.get("verdict"), gb.get("verdict"),
            regression=ga.get("verdict") == "pass" and gb.get("verdict") == "fail")
    return out


def _failed(r: Any) -> str:
    return "FAIL" if r.summary and r.summary.failed else "PASS"


def _data(section: Any) -> Any:
    return None if section is None or section.status not in ("ok", "findings") else section.data


def _mof_rank(cls: int) -> int:
    return {0: 0, 3: 1, 2: 2, 1: 3}.get(cls, 0)


def _licence(o: Any) -> str:
    lic = o.mof.distribution_license
    cat = next((e.get("category") for e in o.licenses if e.get("id") == lic), None)
    return f"{lic or 'none'} ({cat or 'unknown'})"


# -- rendering --------------------------------------------------------------------------------------------------------
def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"


def _signed(x: float | None) -> str:
    return "—" if x is None else f"{x:+.3g}"


def print_diff(result: DiffResult, console: Any, all_metrics: bool = False) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    o, n = result.old, result.new
    console.print(f"[bold]diff[/] {escape(o.label)} ({o.target}, run {o.run_id}) → {escape(n.label)} ({n.target}, "
                  f"run {n.run_id})")
    if result.findings:
        t = Table(title="Findings (matched by check, rule and location)", title_justify="left", box=box.SIMPLE_HEAD)
        for col in ("change", "severity", "check", "rule", "location", "title"):
            t.add_column(col, overflow="fold")
        for f in result.findings:
            sev = f.severity if f.change != "changed" else f"{f.old_severity} → {f.severity}"
            t.add_row(f.change, sev, f.check, f.rule_id, escape(f.location), escape(f.title[:100]))
        console.print(t)
    else:
        console.print("findings: none new, none fixed, none changed")
    shown = [m for m in result.metrics if all_metrics or m.significant or m.direction]
    t = Table(title=f"Metrics (new − old; significant = family-wise {result.confidence:.0%} interval excludes 0)",
              title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("metric", "old", "new", "change", "95% interval", "family-wise", "", "method"):
        t.add_column(col, overflow="fold")
    for m in shown:
        flag = "[bold red]REGRESSION[/]" if m.regression else ("significant" if m.significant else "")
        t.add_row(escape(m.name), _num(m.old), _num(m.new), _signed(m.diff),
                  f"[{_signed(m.ci[0])}, {_signed(m.ci[1])}]" if m.ci else "—",
                  f"[{_signed(m.ci_familywise[0])}, {_signed(m.ci_familywise[1])}]" if m.ci_familywise else "—",
                  flag, escape(m.method if not m.note else f"{m.method}; {m.note}"))
    console.print(t)
    if result.verdicts:
        t = Table(title="Changed verdicts", title_justify="left", box=box.SIMPLE_HEAD)
        for col in ("what", "old", "new", ""):
            t.add_column(col, overflow="fold")
        for v in result.verdicts:
            t.add_row(escape(v.what), escape(str(v.old)), escape(str(v.new)), "[bold red]REGRESSION[/]" if v.regression
                      else "")
        console.print(t)
    if result.regressions:
        console.print(f"[bold red]{len(result.regressions)} regression(s)[/]:")
        for line in result.regressions:
            console.print(f"  - {escape(line)}")
    else:
        console.print("[green]no regression[/]: no significant worsening (changes inside the noise are not "
                      "regressions)")
