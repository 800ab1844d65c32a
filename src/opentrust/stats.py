"""Small, exact statistics used across checks (the sequential tests of `opentrust test` build on these)."""

from __future__ import annotations

import math
from statistics import NormalDist


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
    """Mean of per-unit rates (e.g. per-case pass rates) with a Student-t interval across units, clipped to [0, 1].

    Cases are the sampling unit here: the interval describes how the suite's pass rate would vary over
    cases like these, which is what a suite-level number claims (samples within a case are correlated).
    """
    mean, ci = mean_interval(rates, confidence)
    if ci is None:
        return mean, None
    return mean, (max(0.0, ci[0]), min(1.0, ci[1]))
