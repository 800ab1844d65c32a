"""How a case's verdict and its interval are put into words — one wording for the terminal, JUnit, pytest, HTML
and JSON, so that the verdict and the interval always read together.

The test does not decide "is the pass rate at least ``pass_rate``?". With ``pass_rate`` p0 and
``indifference`` δ it decides between two claims, each at its own error rate (opentrust.evals.sequential):

* **pass**: the pass rate is above the *fail bound* p0 - δ (a rate at or below it passes with probability ≤ α);
* **fail**: the pass rate is below the *pass bound* p0 + δ (a rate at or above it fails with probability ≤ β);
* between the two bounds (the indifference zone) either verdict may happen.

The interval printed next to a verdict is exact for the sequential test, with its lower end at confidence 1 - α
and its upper end at 1 - β, so it always agrees with the claim: a pass has its lower end at or above p0 - δ, a
fail its upper end at or below p0 + δ. A fixed-n "95% CI" computed after stopping early did not: "FAIL, 15/21,
95% CI [0.48, 0.89], required 0.8" read as a contradiction, and under-covered besides.
"""

from __future__ import annotations

from typing import Any, Mapping


def pct(x: float) -> str:
    """0.85 -> '85%', 0.975 -> '97.5%' (no float noise)."""
    return f"{round(x * 100, 6):g}%"


def num(x: float) -> str:
    """A rate or bound as given by the user (0.7, 0.85), without float noise (0.7000000000000001)."""
    return f"{round(x, 6):g}"


def bounds(require: Mapping[str, Any]) -> tuple[float, float]:
    """(fail bound p0 - δ, pass bound p0 + δ)."""
    return require["pass_rate"] - require["indifference"], require["pass_rate"] + require["indifference"]


def decision(verdict: str, require: Mapping[str, Any], samples: int = 0, errors: int = 0) -> str:
    """What the test decided, as a claim about the pass rate with its error rate."""
    fail_bound, pass_bound = bounds(require)
    if verdict == "pass":
        return f"pass rate above the fail bound {num(fail_bound)} (false-pass risk ≤ {pct(require['alpha'])})"
    if verdict == "fail":
        return f"pass rate below the pass bound {num(pass_bound)} (false-fail risk ≤ {pct(require['beta'])})"
    if verdict == "inconclusive":
        return f"no decision within {require['max_samples']} samples"
    return f"no decision: {errors} of {samples + errors} samples could not be evaluated"


def claim(verdict: str, require: Mapping[str, Any]) -> str:
    """The decision in a few characters, for tables: 'rate > 0.7', 'rate < 0.9', '—'."""
    fail_bound, pass_bound = bounds(require)
    return {"pass": f"rate > {num(fail_bound)}", "fail": f"rate < {num(pass_bound)}"}.get(verdict, "—")


def interval_text(ci: tuple[float, float] | list[float], confidence: float, digits: int = 2) -> str:
    return f"{pct(confidence)} interval [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def zone(require: Mapping[str, Any]) -> str:
    fail_bound, pass_bound = bounds(require)
    return (f"required {num(require['pass_rate'])} ± {num(require['indifference'])}: between {num(fail_bound)} and "
            f"{num(pass_bound)} either verdict may happen")


def interval_note(alpha: float, beta: float) -> str:
    """What the interval is, in one sentence (table captions, JUnit details)."""
    return (f"interval: exact for the sequential test, lower end at {pct(1 - alpha)} and upper end at "
            f"{pct(1 - beta)} confidence ({pct(max(0.0, 1 - alpha - beta))} for both), so it agrees with the "
            f"verdict")


def sentence(r: Any, digits: int = 2) -> str:
    """The whole verdict of a CaseResult in one line: decision; observation and interval; the indifference zone."""
    rate = "n/a" if r.pass_rate is None else f"{r.pass_rate:.{digits}f}"
    return (f"{r.verdict.upper()} — {decision(r.verdict, r.require, r.samples, r.errors)}; observed {rate} "
            f"({r.successes}/{r.samples}), {interval_text(r.ci, r.confidence, digits)}; {zone(r.require)}")
