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
