"""Paired statistics of `opentrust compare`: two models, the same cases, the same seeds.

Every model answers case ``c`` with samples ``i = 0, 1, ...`` drawn with the same per-index seeds, so the unit
of comparison is the *paired sample* ``(c, i)``: ``d = pass_a − pass_b`` ∈ {−1, 0, +1}. The estimate is the mean
of ``d``; what varies is which cases were asked (samples of one case are correlated: an easy case is easy for
both models), so the standard error is **clustered by case** (Miller 2024, "Adding Error Bars to Evals", eq. 5;
the CR1 sandwich with the cases as clusters, a Student-t with cases − 1 degrees of freedom).

Small-sample repair: with few or no discordant pairs the sandwich variance is 0 and a Wald interval collapses to
a point. We add Agresti and Min's (2005) pseudo-observations for paired proportions — half a pair for each
discordant direction and one concordant pair — each as its own cluster, and centre the interval on the adjusted
mean. Agresti–Min's interval has close-to-nominal coverage for paired proportions down to n = 10.

The reported interval ``ci`` is the hull of that clustered interval and a **paired bootstrap** interval over
cases (percentile, resampling whole cases, so both models' answers to a case move together): each is an
approximation, the hull is at least as wide as either, and every verdict below is read off ``ci`` so a verdict
never contradicts the interval printed next to it.

``p_value``: the **exact McNemar** test (a two-sided binomial test of the discordant pairs' signs) when every case
has one paired sample — then the pairs are independent and the outcome per item is binary — otherwise the
clustered t test on the adjusted mean. Across pairs of models, p-values are adjusted by **Holm**'s step-down
method (family-wise error ≤ alpha).

Verdicts of ``a`` against ``b`` at margin ``delta`` (``diff = a − b``):

* ``better`` / ``worse`` — Holm-adjusted p < alpha and ``ci`` excludes 0 on that side;
* ``tied`` — ``ci`` lies inside (−delta, +delta): two one-sided tests, equivalence at ``delta``;
* ``non_inferior`` — ``ci``'s lower end is above −delta: ``a`` is at most ``delta`` worse than ``b``;
* ``inconclusive`` — none of these: the data cannot separate the models at ``delta``.

Power check: ``power`` is the probability that a true difference of ``delta`` would have come out significant
with this standard error (normal approximation); for an undecided pair ``samples_needed`` is how many paired
samples per model would give ``--power`` at ``delta``, or would narrow the interval enough to decide if the
estimate held, whichever is more (standard errors shrink as 1/√n). A verdict is only
``tied``/``non_inferior`` on an interval that shows it, never because a test with no power found nothing.

Sequential looks (``opentrust.compare.run``): the comparison may look after every round of samples and stop
drawing for a pair once it is settled. Each look is made at ``alpha / looks`` (Bonferroni over the planned looks),
so the error rates hold whenever it stops — the anytime-valid guarantee of `opentrust test`, bought with a union
bound instead of a likelihood ratio because the statistic here is a clustered mean, not a binomial count.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any, Sequence

VERDICTS = ("better", "worse", "non_inferior", "tied", "inconclusive")
BOOTSTRAP_RESAMPLES = 2000
#: Agresti–Min pseudo-observations: (weight, difference), each its own cluster
PSEUDO = ((0.5, 1.0), (0.5, -1.0), (1.0, 0.0))
METHOD = ("paired samples (same cases, same seeds); mean difference with a case-clustered standard error "
          "(CR1, Student-t with cases-1 df) after Agresti-Min pseudo-pairs, hull with a paired case bootstrap; "
          "p: exact McNemar with one sample per case, else the clustered t test; Holm across pairs")


@dataclass
class PairStats:
    """The comparison of two models' paired outcomes (see the module docstring)."""

    diff: float | None  # mean of pass_a - pass_b over paired samples
    ci: tuple[float, float] | None  # hull of ci_clustered and ci_bootstrap
    ci_clustered: tuple[float, float] | None
    ci_bootstrap: tuple[float, float] | None
    confidence: float
    se: float | None  # clustered standard error (after the pseudo-pairs)
    p_value: float | None
    test: str  # "mcnemar-exact" | "clustered-t" | "none"
    cases: int  # cases with at least one paired sample
    pairs: int  # paired samples
    a_only: int  # discordant pairs where only a passed
    b_only: int  # discordant pairs where only b passed
    power: float | None  # power to detect a difference of delta at this standard error
    p_adjusted: float | None = None
    verdict: str = "inconclusive"
    samples_needed: int | None = None  # paired samples per model that would decide (None: decided)
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("extra")
        for key in ("diff", "se", "p_value", "p_adjusted", "power"):
            if out[key] is not None:
                out[key] = round(out[key], 6)
        for key in ("ci", "ci_clustered", "ci_bootstrap"):
            if out[key] is not None:
                out[key] = [round(out[key][0], 6), round(out[key][1], 6)]
        return out


Outcomes = Sequence[Sequence["bool | None"]]  # per case, per sample index: passed, failed or not evaluable


def paired_differences(a: Outcomes, b: Outcomes) -> list[list[int]]:
    """Per case, the differences of the samples both models have a valid outcome for (same index)."""
    if len(a) != len(b):
        raise ValueError("both models need the same cases")
    out = []
    for xa, xb in zip(a, b):
        out.append([int(bool(u)) - int(bool(v)) for u, v in zip(xa, xb) if u is not None and v is not None])
    return out


def _t(p: float, df: int) -> float:
    from scipy.stats import t as student_t

    return float(student_t.ppf(p, df))


def clustered(diffs: list[list[int]], confidence: float) -> tuple[float, float, tuple[float, float], int]:
    """Adjusted mean, clustered standard error, interval and degrees of freedom (cases with data - 1)."""
    clusters: list[list[tuple[float, float]]] = [[(1.0, float(d)) for d in case] for case in diffs if case]
    real = len(clusters)
    clusters += [[p] for p in PSEUDO]
    total_w = sum(w for c in clusters for w, _ in c)
    mean = sum(w * d for c in clusters for w, d in c) / total_w
    g = len(clusters)
    score = sum(sum(w * (d - mean) for w, d in c) ** 2 for c in clusters)
    se = math.sqrt(g / (g - 1) * score) / total_w
    df = max(1, real - 1)
    half = _t(0.5 + confidence / 2, df) * se
    return mean, se, (max(-1.0, mean - half), min(1.0, mean + half)), df


def bootstrap(diffs: list[list[int]], confidence: float, resamples: int = BOOTSTRAP_RESAMPLES,
              seed: int = 0) -> tuple[float, float] | None:
    """Percentile interval of the mean paired difference, resampling whole cases."""
    import numpy as np

    cases = [c for c in diffs if c]
    if len(cases) < 2:
        return None
    sums = np.array([sum(c) for c in cases], dtype=float)
    sizes = np.array([len(c) for c in cases], dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(cases), size=(resamples, len(cases)))
    means = sums[idx].sum(axis=1) / sizes[idx].sum(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value: the discordant pairs' signs as a fair coin under the null
    (opentrust.stats.mcnemar_exact, shared with fairness)."""
    from opentrust.stats import mcnemar_exact as shared

    return shared(a_only, b_only)


def compare_outcomes(a: Outcomes, b: Outcomes, confidence: float = 0.95, delta: float = 0.05,
                     seed: int = 0) -> PairStats:
    """Paired statistics of ``a`` against ``b`` (no verdict yet: see ``decide``)."""
    diffs = paired_differences(a, b)
    flat = [d for case in diffs for d in case]
    cases = sum(1 for c in diffs if c)
    a_only, b_only = flat.count(1), flat.count(-1)
    if not flat:
        return PairStats(None, None, None, None, confidence, None, None, "none", 0, 0, 0, 0, None,
                         reason="no case has a valid answer from both models")
    diff = sum(flat) / len(flat)
    mean, se, ci_c, df = clustered(diffs, confidence)
    ci_b = bootstrap(diffs, confidence, seed=seed)
    ci = (min(ci_c[0], ci_b[0]), max(ci_c[1], ci_b[1])) if ci_b else ci_c
    if all(len(c) <= 1 for c in diffs):
        test, p = "mcnemar-exact", mcnemar_exact(a_only, b_only)
    else:
        from scipy.stats import t as student_t

        test, p = "clustered-t", float(2 * student_t.sf(abs(mean) / se, df)) if se > 0 else 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    power = NormalDist().cdf(delta / se - z) if se > 0 else 1.0
    return PairStats(diff, ci, ci_c, ci_b, confidence, se, p, test, cases, len(flat), a_only, b_only, power,
                     extra={"df": df, "adjusted_mean": mean})


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values over the pairs that have one (opentrust.stats.holm); None stays None."""
    from opentrust.stats import holm as shared

    known = [i for i, p in enumerate(p_values) if p is not None]
    out: list[float | None] = [None] * len(p_values)
    for i, p in zip(known, shared([p_values[i] for i in known])):  # type: ignore[misc]
        out[i] = p
    return out


def verdict(diff: float | None, ci: tuple[float, float] | None, p_adjusted: float | None, alpha: float,
            delta: float) -> str:
    """The verdict of a against b (see the module docstring); ``alpha`` is the level this look tests at."""
    if diff is None or ci is None or p_adjusted is None:
        return "inconclusive"
    lo, hi = ci
    if p_adjusted < alpha and lo > 0:
        return "better"
    if p_adjusted < alpha and hi < 0:
        return "worse"
    if -delta < lo and hi < delta:
        return "tied"
    if lo > -delta:
        return "non_inferior"
    return "inconclusive"


def flip(stats: PairStats) -> PairStats:
    """The same comparison seen from b's side (b − a)."""
    neg = (lambda ci: None if ci is None else (-ci[1], -ci[0]))
    return PairStats(None if stats.diff is None else -stats.diff, neg(stats.ci), neg(stats.ci_clustered),
                     neg(stats.ci_bootstrap), stats.confidence, stats.se, stats.p_value, stats.test, stats.cases,
                     stats.pairs, stats.b_only, stats.a_only, stats.power, stats.p_adjusted, stats.verdict,
                     stats.samples_needed, stats.reason, dict(stats.extra))


def samples_needed(stats: PairStats, delta: float, power: float = 0.8) -> int | None:
    """Paired samples per model that would decide an undecided pair, the larger of two sizes (standard errors
    shrink as 1/sqrt(n)):

    * power: the size at which a true difference of ``delta`` would be significant with probability ``power``,
      n · ((z_{1-a/2} + z_power) · se / delta)² (Miller 2024, section 4);
    * the estimate: the size at which the interval would be narrower than the distance from the estimate to the
      nearest way of deciding (|diff| for a significant difference, delta - |diff| for a tie, diff + delta for
      non-inferiority), if the estimate held.
    """
    if stats.ci is None or stats.diff is None or not stats.pairs or stats.se is None:
        return None
    centre = (stats.ci[0] + stats.ci[1]) / 2
    half = (stats.ci[1] - stats.ci[0]) / 2
    margin = max(abs(centre), delta - abs(centre), centre + delta)
    by_estimate = stats.pairs * (half / margin) ** 2 if margin > 0 else 0.0
    z = NormalDist().inv_cdf(0.5 + stats.confidence / 2) + NormalDist().inv_cdf(power)
    by_power = stats.pairs * (z * stats.se / delta) ** 2
    return max(stats.pairs + 1, math.ceil(max(by_estimate, by_power) * 1.05))


def decide(all_stats: list[PairStats], alpha: float, delta: float, power: float = 0.8) -> None:
    """Holm across the pairs, then each pair's verdict, samples_needed and a one-line reason (in place)."""
    for s, p in zip(all_stats, holm([s.p_value for s in all_stats])):
        s.p_adjusted = p
        s.verdict = verdict(s.diff, s.ci, p, alpha, delta)
        s.samples_needed = samples_needed(s, delta, power) if s.verdict == "inconclusive" else None
        s.reason = reason(s, delta)


def reason(s: PairStats, delta: float) -> str:
    if s.diff is None or s.ci is None:
        return s.reason or "no paired answers"
    ci = f"[{s.ci[0]:+.3f}, {s.ci[1]:+.3f}]"
    level = f"{s.confidence:.1%}".replace(".0%", "%")
    if s.verdict in ("better", "worse"):
        return f"difference {s.diff:+.3f}, {level} interval {ci}, Holm-adjusted p = {s.p_adjusted:.2g}"
    if s.verdict == "tied":
        return f"{level} interval {ci} lies within ±{delta:g}"
    if s.verdict == "non_inferior":
        return f"{level} interval {ci}: at most {delta:g} worse"
    power = "" if s.power is None else f"; power at δ={delta:g}: {s.power:.0%}"
    need = f"; about {s.samples_needed} paired samples per model would decide" if s.samples_needed else ""
    return f"{level} interval {ci} spans the margin ±{delta:g}{power}{need}"


# -- latency: paired log-ratios ------------------------------------------------------------------------------
def log_ratio(a: Sequence[float | None], b: Sequence[float | None],
              confidence: float = 0.95) -> dict[str, Any] | None:
    """Geometric-mean ratio a/b of paired positive timings (same prompt, same block) with a Student-t interval
    on the log scale; None with fewer than two pairs."""
    from opentrust.stats import mean_interval

    logs = [math.log(x / y) for x, y in zip(a, b) if x and y and x > 0 and y > 0]
    if len(logs) < 2:
        return None
    mean, ci = mean_interval(logs, confidence)
    assert ci is not None
    return {"ratio": round(math.exp(mean), 4), "ci": [round(math.exp(ci[0]), 4), round(math.exp(ci[1]), 4)],
            "pairs": len(logs)}


# -- lm-eval's unpaired comparison, for the benchmark ------------------------------------------------------
def unpaired_z(a: Outcomes, b: Outcomes) -> tuple[float, float]:
    """lm-eval's ``scripts/model_comparator.py``: z = (acc_a − acc_b) / sqrt(se_a² + se_b²) with each se the
    standard error of a mean of independent items; two-sided normal p-value. Returns (difference, p)."""
    xa = [float(bool(v)) for case in a for v in case if v is not None]
    xb = [float(bool(v)) for case in b for v in case if v is not None]
    ma, mb = sum(xa) / len(xa), sum(xb) / len(xb)

    def se2(x: list[float], m: float) -> float:
        return sum((v - m) ** 2 for v in x) / (len(x) - 1) / len(x) if len(x) > 1 else 0.0

    s = math.sqrt(se2(xa, ma) + se2(xb, mb))
    if s == 0:
        return ma - mb, 1.0
    return ma - mb, 2 * (1 - NormalDist().cdf(abs(ma - mb) / s))
