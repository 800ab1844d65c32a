"""Rules against evidence: one outcome per rule, and the gate's verdict.

Outcomes: **pass** (the requirement holds), **fail** (a deny rule does not hold), **warn** (a warn rule does not
hold), **unknown** (the evidence is missing, is not the kind of value the operator needs, or rests on fewer than
``min_samples`` samples), **excepted** (not pass, but an active exception covers the rule; counted apart, as
Conftest does). The verdict is ``fail`` when any rule failed or an unknown rule counts as failing (every deny rule;
every rule with ``unknown_evidence: fail``). An expired exception does not apply: the rule's own outcome stands and
the exception is reported as expired.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from opentrust.clock import utc_now
from opentrust.governance.evidence import Evidence, Missing, figure_of, resolve
from opentrust.governance.policy import ORDER_OPS, LoadedPolicy, Require, Rule
from opentrust.results.gate import (
    AppliedException,
    Expected,
    GateCounts,
    GateInput,
    GateResult,
    RuleOutcome,
)
from opentrust.results.gate import Evidence as EvidenceRecord

_SYMBOL = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "in": "in", "not_in": "not in",
           "exists": "exists", "matches": "matches"}


class _Check:
    """The result of one requirement on one value: met (True/False) or None (unknown), and why."""

    def __init__(self, met: bool | None, compared: Any, detail: str, point: Any = None,
                 interval: tuple[float, float] | None = None, n: Any = None):
        self.met, self.compared, self.detail = met, compared, detail
        self.point, self.interval, self.n = point, interval, n


def evaluate(loaded: LoadedPolicy, ev: Evidence, today: dt.date | None = None) -> GateResult:
    """Evaluate every rule of the policy against the evidence."""
    now = utc_now()
    today = today or dt.date.fromisoformat(now[:10])
    policy = loaded.policy
    exceptions = {e.rule: e for e in policy.exceptions}
    outcomes: list[RuleOutcome] = []
    failing = False
    for rule in policy.rules:
        outcome = _rule_outcome(rule, ev)
        exc = exceptions.get(rule.id)
        if exc is not None:
            active = exc.expires >= today
            if not active:
                status = "expired"
                outcome.detail += f" (exception expired on {exc.expires.isoformat()}: it no longer applies)"
            elif outcome.outcome == "pass":
                status = "unused"
            else:
                status = "active"
                outcome.detail = (f"{outcome.outcome} without the exception: {outcome.detail}; excepted until "
                                  f"{exc.expires.isoformat()}: {exc.reason}")
                outcome.outcome = "excepted"
            outcome.exception = AppliedException(reason=exc.reason, expires=exc.expires.isoformat(),
                                                 approved_by=exc.approved_by, status=status)
        outcome.fails_gate = outcome.outcome == "fail" or (outcome.outcome == "unknown" and (
            rule.severity == "deny" or policy.unknown_evidence == "fail"))
        outcome.policy_line = loaded.lines.get(rule.id)
        failing = failing or outcome.fails_gate
        outcomes.append(outcome)
    counts = {k: sum(1 for o in outcomes if o.outcome == k) for k in ("pass", "fail", "warn", "unknown", "excepted")}
    expired = sum(1 for o in outcomes if o.exception is not None and o.exception.status == "expired")
    verdict = "fail" if failing else "pass"
    return GateResult(
        policy=policy.policy, policy_file=loaded.source, policy_sha256=loaded.sha256, use_case=policy.use_case,
        tier=policy.tier, unknown_evidence=policy.unknown_evidence, verdict=verdict, rules=outcomes,
        counts=GateCounts.model_validate({**counts, "expired_exceptions": expired}),
        target={k: v for k, v in ev.target.items() if v is not None},
        inputs=[GateInput.model_validate(i) for i in ev.inputs], evaluated_at=now,
        exit_code=1 if failing else 0)


def _rule_outcome(rule: Rule, ev: Evidence) -> RuleOutcome:
    req = rule.require
    expected = Expected(op=req.op, value=req.value, bound=req.bound, min_samples=req.min_samples)
    base = dict(id=rule.id, severity=rule.severity, expected=expected, refs=list(rule.refs), message=rule.message,
                rationale=rule.rationale, fails_gate=False)
    root = req.path.split(".")[0].split("[")[0]
    source = ev.sources.get(root)
    try:
        found = resolve(ev, req.path)
    except Missing as exc:
        if req.op == "exists" and root in ev.tree:  # the root was looked at: absence is evidence
            met = req.value is False
            return RuleOutcome(**base, outcome="pass" if met else _not_met(rule),
                               evidence=EvidenceRecord(path=req.path, value=None, source=source),
                               detail=f"absent: {exc}")
        return RuleOutcome(**base, outcome="unknown", evidence=EvidenceRecord(path=req.path, value=None, source=source),
                           detail=f"missing evidence: {exc}")
    if not found:
        return RuleOutcome(**base, outcome="unknown", evidence=EvidenceRecord(path=req.path, value=None, source=source),
                           detail=f"missing evidence: {req.path} has no items")
    checks = [(where, _check(req, value)) for where, value in found]
    unknown = [(w, c) for w, c in checks if c.met is None]
    failed = [(w, c) for w, c in checks if c.met is False]
    if len(checks) == 1:
        c = checks[0][1]
        record = EvidenceRecord(path=req.path, value=c.compared, point=c.point,
                                interval=list(c.interval) if c.interval else None, n=c.n, source=source)
    else:
        record = EvidenceRecord(path=req.path, value=[c.compared for _, c in checks], source=source)
    if failed:
        detail = "; ".join(f"{w}: {c.detail}" if len(checks) > 1 else c.detail for w, c in failed[:8])
        if len(failed) > 8:
            detail += f"; and {len(failed) - 8} more"
        return RuleOutcome(**base, outcome=_not_met(rule), evidence=record, detail=detail)
    if unknown:
        detail = "; ".join(f"{w}: {c.detail}" if len(checks) > 1 else c.detail for w, c in unknown[:8])
        return RuleOutcome(**base, outcome="unknown", evidence=record, detail=detail)
    detail = checks[0][1].detail if len(checks) == 1 else f"all {len(checks)} items meet it"
    return RuleOutcome(**base, outcome="pass", evidence=record, detail=detail)


def _not_met(rule: Rule) -> str:
    return "fail" if rule.severity == "deny" else "warn"


def _check(req: Require, value: Any) -> _Check:
    op = req.op
    if op == "exists":
        want = req.value is not False
        present = value is not None
        return _Check(present == want, present, ("present" if present else "null") +
                      ("" if present == want else f"; required {'present' if want else 'absent'}"))
    fig = figure_of(value, req.count)
    point, interval, n = (fig.point, fig.interval, fig.n) if fig else (None, None, None)
    if req.min_samples is not None:
        if fig is None:
            return _Check(None, None, f"min_samples needs a figure with a sample count; {req.path} is {_show(value)}")
        if n is None:
            return _Check(None, None, "the figure has no sample count", point, interval)
        if n < req.min_samples:
            return _Check(None, None, f"insufficient evidence: {n:g} samples < min_samples {req.min_samples}",
                          point, interval, n)
    if req.bound != "point":
        if interval is None:
            return _Check(None, None, f"no interval at {req.path} to take the {req.bound} bound of", point, None, n)
        compared: Any = interval[1] if req.bound == "upper" else interval[0]
        label = f"{req.bound} bound {_num(compared)} of [{_num(interval[0])}, {_num(interval[1])}]"
    elif fig is not None:  # a figure is compared by its point estimate
        compared = point
        label = f"point {_num(point)}" + (f" [{_num(interval[0])}, {_num(interval[1])}]" if interval else "")
    else:
        compared = value
        label = _show(value)
    if n is not None:
        label += f", n={n:g}"
    if compared is None:
        return _Check(None, None, f"{req.path} is null", point, interval, n)
    met = _compare(op, compared, req.value)
    if met is None:
        return _Check(None, compared, f"{label}: cannot apply {op} to {_show(compared)}", point, interval, n)
    return _Check(met, compared, f"{label}; required {_SYMBOL[op]} {_show(req.value)}", point, interval, n)


def _compare(op: str, a: Any, b: Any) -> bool | None:
    if op in ORDER_OPS:
        if isinstance(a, bool) or not isinstance(a, (int, float)) or (isinstance(a, float) and math.isnan(a)):
            return None
        return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
    if op in ("eq", "ne"):
        same = _equal(a, b)
        return same if op == "eq" else not same
    if op in ("in", "not_in"):
        items = a if isinstance(a, list) else [a]
        if any(isinstance(x, (dict, list)) for x in items):
            return None
        inside = all(any(_equal(x, y) for y in b) for x in items)
        outside = not any(any(_equal(x, y) for y in b) for x in items)
        return inside if op == "in" else outside
    if op == "matches":
        if isinstance(a, (dict, list)) or isinstance(a, bool):
            return None
        return re.search(b, str(a)) is not None
    return None  # pragma: no cover - validated ops only


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return bool(a == b)


def _num(x: Any) -> str:
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, float):
        return _num(value)
    return str(value).replace("True", "true").replace("False", "false").replace("None", "null")
