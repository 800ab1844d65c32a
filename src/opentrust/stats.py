"""Small, exact statistics used across checks (the sequential tests of `opentrust test` build on these)."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, Callable


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (good coverage even for small n and p near 0/1)."""
    if n <= 0:
        return (0.0, 1.0)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: list[float], confidence: float = 0.95) -> tuple[float, tuple[float, float] | None]:
    """Mean with a Student-t interval (None when fewer than two values)."""
    n = len(values)
    if n == 0:
        return (float("nan"), None)
    mean = sum(values) / n
    if n < 2:
        return (mean, None)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    t = _t_quantile(0.5 + confidence / 2, n - 1)
    half = t * sd / math.sqrt(n)
    return (mean, (mean - half, mean + half))


def ratio_interval(numerators: list[float], denominators: list[float],
                   confidence: float = 0.95) -> tuple[float, tuple[float, float] | None]:
    """Ratio of totals sum(y)/sum(x) (e.g. tokens per second of generation time) with a Student-t interval.

    The standard linearised (delta-method) variance of a ratio estimator: residuals y_i - R x_i scaled by the
    mean x, treated as independent units. None for the interval with fewer than two units.
    """
    n = len(numerators)
    total_x = sum(denominators)
    if n == 0 or n != len(denominators) or total_x <= 0:
        return (float("nan"), None)
    ratio = sum(numerators) / total_x
    if n < 2:
        return (ratio, None)
    mean_x = total_x / n
    _, ci = mean_interval([(y - ratio * x) / mean_x for y, x in zip(numerators, denominators)], confidence)
    assert ci is not None
    return ratio, (ratio + ci[0], ratio + ci[1])


def _t_quantile(p: float, df: int) -> float:
    from scipy.stats import t as student_t  # imported here: scipy is slow to import

    return float(student_t.ppf(p, df))


def clopper_pearson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) binomial interval: coverage is at least ``confidence`` for every p."""
    if n <= 0:
        return (0.0, 1.0)
    from scipy.stats import beta  # imported here: scipy is slow to import

    a = 1 - confidence
    lo = 0.0 if successes == 0 else float(beta.ppf(a / 2, successes, n - successes + 1))
    hi = 1.0 if successes == n else float(beta.ppf(1 - a / 2, successes + 1, n - successes))
    return (lo, hi)


def pass_at_k(n: int, c: int, k: int) -> float | None:
    """Unbiased estimate of P(at least one of k samples passes) from c passes in n samples (Chen et al. 2021).

    1 - C(n-c, k) / C(n, k); None when k > n (not estimable without bias).
    """
    if k > n or k <= 0:
        return None
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float | None:
    """Unbiased estimate of P(all k samples pass) — "pass^k" (Yao et al. 2024, tau-bench): C(c, k) / C(n, k)."""
    if k > n or k <= 0:
        return None
    return math.comb(c, k) / math.comb(n, k)


def mean_rate_interval(rates: list[float], confidence: float = 0.95) -> tuple[float, tuple[float, float] | None]:
    """Mean of per-unit rates in [0, 1] (e.g. per-case pass rates) with a binomial interval that counts units as trials.

    Cases are the sampling unit: the interval describes how a suite's pass rate would vary over cases like
    these, which is what a suite-level number claims (samples within a case are correlated — more cases narrow
    it, more samples per case hardly do). The interval is Clopper–Pearson's with the sum of the rates as the
    number of successes out of len(rates) trials (beta quantiles take a fractional count):

    * when every case passes all or none of its samples — usual for small models — it *is* the exact
      Clopper–Pearson interval for the share of cases that pass;
    * otherwise each rate is less dispersed than a Bernoulli variable with the same mean (its sum is dominated
      by the binomial in convex order), and the interval stays conservative: exact coverage over every
      two-point population on a grid, and simulated coverage, are never below the Bernoulli case
      (tests/evals/test_suite_interval.py);
    * unlike a Student-t interval over cases, it does not collapse to [0, 0] when every case scores 0 (the
      t interval's coverage falls to ~30% at a true mean of 0.02 with 16 cases).
    """
    n = len(rates)
    if n == 0:
        return (float("nan"), None)
    if any(not 0.0 <= r <= 1.0 for r in rates):
        raise ValueError("rates must lie in [0, 1]")
    from scipy.stats import beta  # imported here: scipy is slow to import

    total = float(sum(rates))
    a = 1 - confidence
    lo = 0.0 if total <= 0 else float(beta.ppf(a / 2, total, n - total + 1))
    hi = 1.0 if total >= n else float(beta.ppf(1 - a / 2, total + 1, n - total))
    return total / n, (lo, hi)


# A figure whose interval is this wide decides nothing: reports say "insufficient evidence" instead of showing it
# as a result (the numbers stay in the JSON). For a rate (unit "ratio") the limit is ±0.25, a quarter of the
# whole range. For a positive quantity with a unit (seconds, tokens/s) it is ±50% of the value: beyond that the
# interval's ends differ by more than a factor of three and not even the order of magnitude is settled (timings
# on a shared machine vary by ±30% from answer to answer, so a tighter limit would flag honest measurements).
EVIDENCE_MAX_HALF_WIDTH = 0.25
EVIDENCE_MAX_RELATIVE_HALF_WIDTH = 0.5
EVIDENCE_MIN_UNITS = 2


def evidence(value: float | None, interval: tuple[float, float] | list[float] | None, units: int | None,
             unit: str = "ratio") -> str:
    """'sufficient' or 'insufficient' for a figure with its 95% interval and number of independent units.

    Insufficient: fewer than EVIDENCE_MIN_UNITS units (cases, prompts, answers), no interval, or an interval
    half-width above EVIDENCE_MAX_HALF_WIDTH for a ratio, above EVIDENCE_MAX_RELATIVE_HALF_WIDTH × |value|
    for any other unit.
    """
    if value is None or interval is None or units is None or units < EVIDENCE_MIN_UNITS:
        return "insufficient"
    half = (interval[1] - interval[0]) / 2
    limit = EVIDENCE_MAX_HALF_WIDTH if unit == "ratio" else EVIDENCE_MAX_RELATIVE_HALF_WIDTH * abs(value)
    return "insufficient" if half > limit + 1e-12 else "sufficient"


# -- paired comparisons (the same units measured under two or more conditions) --------------------------------
# A unit ("block") is e.g. one template, filler and seed asked about every group: differences within a block
# are free of whatever the block itself contributes, which is why a paired test needs far fewer blocks than
# a comparison of independent group rates (benchmarks/fairness_stats.py).

def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (b: first 1 / second 0, c: the reverse):
    under no difference each discordant pair goes either way with probability 1/2. 1.0 without discordance."""
    n = b + c
    if n == 0:
        return 1.0
    from scipy.stats import binom  # imported here: scipy is slow to import

    return float(min(1.0, 2 * binom.cdf(min(b, c), n, 0.5)))


def cochran_q(rows: "list[list[bool]] | list[list[int]]", permutations: int = 4000, seed: int = 0,
              exact_below: int = 30) -> tuple[float, float]:
    """Cochran's Q for k >= 2 paired binary outcomes (rows = blocks, columns = conditions): (Q, p-value).

    Rows where every condition agrees carry no information and are dropped. The chi-square approximation
    (k - 1 degrees of freedom) is poor with few informative rows, so below ``exact_below`` of them the p-value is
    a Monte Carlo permutation p-value instead (each row's outcomes shuffled among the conditions, seeded,
    ``(1 + hits) / (1 + permutations)``). With two conditions Q is McNemar's chi-square statistic.
    """
    import numpy as np

    x = np.asarray(rows, dtype=np.int64)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError("cochran_q needs rows of at least two conditions")
    totals = x.sum(axis=1)
    x = x[(totals > 0) & (totals < x.shape[1])]
    if len(x) == 0:
        return 0.0, 1.0
    k = x.shape[1]

    def q_of(m: "np.ndarray") -> "np.ndarray | float":
        cols = m.sum(axis=-2)
        r = m.sum(axis=-1)
        n = r.sum(axis=-1)
        return (k - 1) * (k * (cols ** 2).sum(axis=-1) - n ** 2) / (k * n - (r ** 2).sum(axis=-1))

    q = float(q_of(x))
    if len(x) >= exact_below:
        from scipy.stats import chi2

        return q, float(chi2.sf(q, k - 1))
    rng = np.random.default_rng(seed)
    keys = rng.random((permutations, *x.shape))
    shuffled = np.take_along_axis(np.broadcast_to(x, keys.shape), np.argsort(keys, axis=-1), axis=-1)
    hits = int((q_of(shuffled) >= q - 1e-9).sum())
    return q, (1 + hits) / (1 + permutations)


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error rate across the list), in the input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def paired_difference_interval(both: int, first_only: int, second_only: int, neither: int,
                               confidence: float = 0.95) -> tuple[float, float]:
    """Interval for p1 - p2 of two paired proportions (Newcombe 1998, method 10: Wilson score limits of each
    proportion combined with the continuity-corrected correlation of the pairs). Good coverage with empty
    cells, where the Wald interval collapses to a point; p1 = (both + first_only) / n, p2 = (both + second_only)
    / n."""
    n = both + first_only + second_only + neither
    if n <= 0:
        return (-1.0, 1.0)
    p1, p2 = (both + first_only) / n, (both + second_only) / n
    l1, u1 = wilson_interval(both + first_only, n, confidence)
    l2, u2 = wilson_interval(both + second_only, n, confidence)
    margins = (both + first_only) * (second_only + neither) * (both + second_only) * (first_only + neither)
    # the correlation with Newcombe's continuity correction: without it every-pair-concordant data (phi = 1)
    # collapse the interval to a point
    psi = both * neither - first_only * second_only
    psi = psi - n / 2 if psi > n / 2 else 0.0 if psi >= 0 else psi
    phi = 0.0 if margins == 0 else psi / math.sqrt(margins)
    d = p1 - p2
    lower = d - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    upper = d + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return (max(-1.0, lower), min(1.0, upper))


def difference_interval(p1: float, ci1: tuple[float, float], p2: float, ci2: tuple[float, float]
                        ) -> tuple[float, float]:
    """Interval for p2 - p1 of two independent estimates from their own intervals (MOVER: Zou and Donner 2008;
    with Wilson intervals of two proportions it is Newcombe's hybrid score interval, method 10 of Newcombe 1998).
    Each end recovers the variance near that end from the matching ends of the two intervals, so skewed intervals
    (rates near 0 or 1, detector-corrected red-team rates) keep their shape, where a Wald difference would not."""
    d = p2 - p1
    lower = d - math.sqrt((p2 - ci2[0]) ** 2 + (ci1[1] - p1) ** 2)
    upper = d + math.sqrt((ci2[1] - p2) ** 2 + (p1 - ci1[0]) ** 2)
    return lower, upper


def bootstrap_interval(units: int, statistic: "Callable[[Any], float | None]", confidence: float = 0.95,
                       resamples: int = 2000, seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic(indices)`` over ``units`` resampled with replacement
    (pass the indices of clusters to resample clusters). Resamples where the statistic is undefined (None)
    are skipped; None when fewer than half of them are defined or there are fewer than two units."""
    if units < 2:
        return None
    import numpy as np

    rng = np.random.default_rng(seed)
    draws = [v for _ in range(resamples) if (v := statistic(rng.integers(0, units, units))) is not None]
    if len(draws) < resamples / 2:
        return None
    a = (1 - confidence) / 2
    return float(np.quantile(draws, a)), float(np.quantile(draws, 1 - a))
